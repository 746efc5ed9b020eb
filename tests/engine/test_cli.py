"""The `grader check` command: output formats, determinism and exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import DEFAULT_RUBRIC, ROOT, sample_dir


def grader(*args, cwd=ROOT):
    """Run the installed command as a user would, in a child process."""
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def strip_timings(value):
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in ("timing", "seconds")}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def test_text_report_of_the_correct_sample():
    run = grader("check", "sample_submissions/correct")
    assert run.returncode == 0, run.stderr
    assert "Total: 40/40" in run.stdout
    assert "gradient_consistency" in run.stdout


def test_json_follows_the_design_and_is_deterministic():
    folder = str(sample_dir("softmax_no_shift"))
    first = grader("check", folder, "--format", "json")
    second = grader("check", folder, "--format", "json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["submission"] == folder
    assert {"score", "max_score", "grader_version", "rubric", "questions"} <= set(data)
    assert set(data["rubric"]) == {"path", "sha256"}
    assert [q["id"] for q in data["questions"]] == ["q1", "q2"]
    assert [q["max_score"] for q in data["questions"]] == [10.0, 30.0]
    part_ids = [p["id"] for q in data["questions"] for p in q["parts"]]
    assert part_ids == ["softmax", "sigmoid", "sigmoid_grad", "ce_grad", "gradcheck_naive", "forward_backward_prop"]
    softmax = data["questions"][0]["parts"][0]
    assert softmax["status"] == "graded" and softmax["score"] < 10
    assert softmax["hints"], "lost points come with hints"
    for check in softmax["checks"]:
        assert {"id", "passed", "score", "max_score", "message"} <= set(check)
    assert strip_timings(data) == strip_timings(json.loads(second.stdout))


def test_min_score_sets_exit_code_one():
    assert grader("check", "sample_submissions/correct", "--min-score", "40").returncode == 0
    below = grader("check", str(sample_dir("network_constant")), "--min-score", "39")
    assert below.returncode == 1


@pytest.mark.parametrize("args,needle", [
    (["check", "no/such/folder"], "submission not found: no/such/folder"),
    (["check", "README.md"], "submission is not a folder or a zip: README.md"),
    (["check", "sample_submissions/correct", "--rubric", "missing.yaml"], "missing.yaml"),
])
def test_bad_paths_give_one_line_and_exit_two(args, needle):
    run = grader(*args)
    assert run.returncode == 2
    assert needle in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


@pytest.mark.parametrize("edit,line,key", [
    (("kind: values\n            points: 2\n            cases:", "kind: valuez\n            points: 2\n            cases:"),
     None, "kind"),
    (("points: 10\n", "points: 11\n"), 22, "questions[0].points"),
    (("seed: 224", "seed: 224\nseeds: 1"), 7, "seeds"),
    (("            kind: vectorized\n", "            kind: vectorized\n            speed: 3\n"), None, "speed"),
    (("seed: 224", "seed: [224"), None, None),
])
def test_malformed_rubric_names_file_line_and_key(tmp_path, edit, line, key):
    text = DEFAULT_RUBRIC.read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    run = grader("check", "sample_submissions/correct", "--rubric", str(bad))
    assert run.returncode == 2, run.stdout
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert str(bad) in message
    assert ":%d:" % line in message if line else message.count(":") >= 3
    if key:
        assert key in message


def test_help_documents_exit_codes():
    run = grader("check", "--help")
    assert "Exit codes: 0 graded; 1" in " ".join(run.stdout.split())


def test_a_bug_of_the_graders_is_exit_three_in_one_line():
    """An unexpected exception (a platform the grader does not know, a bug) is never exit 1, 'below --min-score'."""
    code = "import grader.cli as c\ndef broken():\n    raise RuntimeError('no such call here')\nc.main = broken\nc.entry()"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 3
    assert run.stderr.splitlines() == ["grader: error: the grader itself failed: RuntimeError: no such call here "
                                       "(A1GRADER_DEBUG=1 shows where)"]
