"""Issue 24, item 11: the smaller things a TA met, each through the real command."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, SAMPLES
from test_cli import grader


def test_no_late_policy_is_said_as_such_not_as_zero_percent_a_day(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"created_at": "2026-12-03T10:00:00Z",
                                "assignment": {"due_date": "2026-12-01T23:59:00Z"}}))
    run = grader("check", str(SAMPLES / "correct"), "--gradescope-metadata", str(meta), "--format", "markdown")
    assert run.returncode == 0, run.stderr
    assert "0% a day" not in run.stdout and "0 h of grace" not in run.stdout
    assert "the rubric has no late penalty" in run.stdout, run.stdout[:600]
