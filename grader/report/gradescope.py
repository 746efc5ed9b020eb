"""Gradescope's results.json (gradescope-autograders.readthedocs.io, "Autograder Specifications").

Top level: ``score``, ``execution_time`` (seconds), ``output``, ``stdout_visibility``,
``tests``; each test: ``name``, ``score``, ``max_score``, ``status`` (passed/failed),
``output``, ``visibility`` (visible, hidden, after_due_date, after_published).
"""
from __future__ import annotations

import json

from ..scoring import SubmissionResult
from .common import check_name, check_text, clean, clean_tree, decided, feedback_lines, part_summary, pts


def results(result: SubmissionResult, stdout_visibility: str = "hidden") -> dict:
    """The results.json object; every string in it is cleaned (see :func:`common.clean`)."""
    tests = []
    for question in result.questions:
        for part in question.parts:
            extra = feedback_lines(part)
            if decided(part):
                # One test for the TA's decision, the points that count; the grader's checks fold into its output.
                grader = "\n".join("%s %s: %s (grader)" % ("✓" if c.passed else "✗", c.id, pts(c.score, c.max_score))
                                   for c in part.checks)
                tests.append({"name": "%s %s: decided by a TA" % (question.id, clean(part.id)),
                              "number": "%s.%d" % (question.id.lstrip("q"), len(tests) + 1),
                              "score": part.score, "max_score": part.max_score,
                              "status": "passed" if part.score >= part.max_score else "failed",
                              "output": "\n".join(extra) + "\n\n" + grader,
                              "visibility": part.checks[0].visibility if part.checks else "visible"})
                continue
            for i, check in enumerate(part.checks):
                output = check_text(part, check)
                if i == 0 and extra and part.score < part.max_score:
                    output += "\n\n" + "\n".join(extra)
                tests.append({"name": "%s %s" % (question.id, check_name(part, check)),
                              "number": "%s.%d" % (question.id.lstrip("q"), len(tests) + 1),
                              "score": check.score, "max_score": check.max_score,
                              "status": "passed" if check.passed else "failed",
                              "output": output, "visibility": check.visibility})
    summary = ["%s %s" % (q.id, part_summary(p)) for q in result.questions for p in q.parts]
    late = getattr(result, "lateness", None) or {}
    if late.get("late"):
        summary.append("Submitted late: %s%s" % (late.get("why") or late.get("source", ""), (
            "; the late policy takes %g%% of the total (%s before it)" % (
                late["penalty_percent"], pts(late.get("raw_score", result.score), result.max_score))
            if late.get("penalty_percent") else "")))
    return clean_tree({"score": result.score,
                       "execution_time": round(float(result.timing.get("seconds", 0.0)), 3),
                       "output": "Score %s\n%s%s" % (pts(result.score, result.max_score), "\n".join(summary),
                                                     "\nYour code ran in the grader's sandbox (isolation: %s)."
                                                     % result.sandbox if result.sandbox else ""),
                       "stdout_visibility": stdout_visibility, "tests": tests})


def render(result: SubmissionResult) -> str:
    """results.json as text: always encodable as UTF-8, whatever the student's code printed."""
    return json.dumps(results(result), indent=2, ensure_ascii=False) + "\n"
