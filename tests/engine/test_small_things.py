"""Issue 24, item 11: the smaller things a TA met, each through the real command."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, sample_dir
from test_cli import grader


def test_no_late_policy_is_said_as_such_not_as_zero_percent_a_day(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"created_at": "2026-12-03T10:00:00Z",
                                "assignment": {"due_date": "2026-12-01T23:59:00Z"}}))
    run = grader("check", str(sample_dir("correct")), "--gradescope-metadata", str(meta), "--format", "markdown")
    assert run.returncode == 0, run.stderr
    assert "0% a day" not in run.stdout and "0 h of grace" not in run.stdout
    assert "the rubric has no late penalty" in run.stdout, run.stdout[:600]


def _in_a_terminal(args, cwd=ROOT, timeout=120):
    """Run the command in a pseudo-terminal (rich draws its live progress only there); everything it drew."""
    import pty
    import select
    main, child = pty.openpty()
    env = dict(os.environ, COLUMNS="160", TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=env, stdin=child,
                            stdout=child, stderr=child, close_fds=True)
    os.close(child)
    out, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(main)
    return proc.returncode, out.decode("utf-8", "replace")


def test_a_resume_shows_no_absurd_rate(tmp_path):
    import re
    import shutil
    root = tmp_path / "class"
    for name in ("a", "b"):
        shutil.copytree(sample_dir("correct"), root / name)
    db = str(tmp_path / "g.db")
    assert grader("batch", str(root), "--db", db, "--quiet").returncode == 0
    shutil.copytree(sample_dir("correct"), root / "c")          # the resume: one new student, one unreadable zip
    (root / "d.zip").write_bytes(b"not a zip")
    code, shown = _in_a_terminal(["batch", str(root), "--db", db])
    assert code == 0, shown[-2000:]
    rates = [float(r) for r in re.findall(r"(\d+(?:\.\d+)?)/s", shown)]
    assert "graded 1, unchanged 2" in shown and all(r < 50 for r in rates), rates


def test_an_import_time_infinite_loop_is_reported_with_its_file_and_line():
    run = grader("check", str(sample_dir("import_hangs")), "--format", "json", "--timeout", "3")   # 6 s to load: a "where" note comes every 2 s
    assert run.returncode == 0, run.stderr
    parts = {p["id"]: p for q in json.loads(run.stdout)["questions"] for p in q["parts"]}
    message = parts["sigmoid"]["checks"][0]["message"]
    assert parts["sigmoid"]["status"] == "timeout" and "q2_sigmoid.py" in message, message
    assert "still running line 1: while True:" in message, message
