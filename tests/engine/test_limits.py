"""Sandbox limits: defaults in one place, set by the rubric, overridden on the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader.errors import RubricError
from grader.rubric import load_rubric
from grader.sandbox import isolation
from grader.sandbox.limits import DEFAULT_LIMITS, Limits

from conftest import DEFAULT_RUBRIC, ROOT

# Timing, limits and every sandbox uid's processes: run alone, not beside other tests (.ci/run).
pytestmark = pytest.mark.alone


def rubric_with(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(DEFAULT_RUBRIC.read_text().replace("seed: 224\n", "seed: 224\n" + text, 1))
    return path


def test_rubric_limits_override_the_defaults(tmp_path):
    rubric = load_rubric(rubric_with(tmp_path, "limits: {timeout: 3, memory_mb: 512}\n"))
    assert rubric.limits.timeout == 3.0 and rubric.limits.memory_mb == 512
    assert rubric.limits.budget == DEFAULT_LIMITS.budget
    assert load_rubric(DEFAULT_RUBRIC).limits == DEFAULT_LIMITS


@pytest.mark.parametrize("text,key", [("limits: {timeoutt: 3}\n", "limits.timeoutt"),
                                      ("limits: {memory_mb: -1}\n", "limits.memory_mb")])
def test_bad_limits_are_located(tmp_path, text, key):
    with pytest.raises(RubricError) as info:
        load_rubric(rubric_with(tmp_path, text))
    seed_line = DEFAULT_RUBRIC.read_text().splitlines().index("seed: 224") + 1
    assert info.value.line == seed_line + 1 and info.value.key == key   # the line given right after the seed


def test_limits_reach_the_child():
    limits = Limits(memory_mb=300, budget=9.5, processes=7)
    child = limits.to_child()
    assert child == {"memory_bytes": 300 << 20, "file_bytes": 16 << 20, "cpu_seconds": 10, "processes": 7,
                     "open_files": 256}
    assert limits.override(timeout=None, memory_mb=10).memory_mb == 10


def test_explain_sandbox_names_the_mode():
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "--explain-sandbox"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0
    assert run.stdout.split(":")[0] == isolation.mode_label(isolation.detect())


def test_command_line_timeout_overrides(tmp_path):
    import shutil
    folder = tmp_path / "s"
    shutil.copytree(ROOT / "sample_submissions" / "correct", folder)
    path = folder / "q2_sigmoid.py"
    path.write_text(path.read_text().replace("def sigmoid(x):", "def sigmoid(x):\n    while True:\n        pass"))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(folder), "--format", "json",
                          "--timeout", "0.5", "--budget", "30"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    import json
    data = json.loads(run.stdout)
    sigmoid = data["questions"][1]["parts"][0]
    assert sigmoid["status"] == "timeout" and "0.5 s" in sigmoid["checks"][0]["message"]
    assert data["sandbox"] == isolation.mode_label(isolation.detect())


def test_plain_mode_is_refused_as_root_unless_asked_for():
    """As root, plain mode would run the student's code as root: refused, with a way out for containers."""
    def check(*extra):
        return subprocess.run([sys.executable, "-m", "grader.cli", "check", "sample_submissions/correct",
                               "--format", "json", "--isolation", "plain", *extra],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
    run = check()
    if os.geteuid() == 0:
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.startswith("grader: error: refusing to run student code as root in plain mode")
        assert "Traceback" not in run.stderr
        run = check("--i-know-it-is-unsafe")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["sandbox"] == "plain" and data["score"] == 40


def test_explain_sandbox_says_root_in_plain_mode():
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "--explain-sandbox", "--isolation", "plain",
                          "--i-know-it-is-unsafe"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and run.stdout.startswith("plain:")
    assert ("RUNNING AS ROOT" in run.stdout) == (os.geteuid() == 0)
