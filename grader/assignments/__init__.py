"""Assignments bundled with the grader, one plug-in package each (grader.plugins); the engine imports none."""
