"""Issue 24, items 5-6: the kit a student can trust, and bundles built from a rubric's name."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import yaml

from conftest import ROOT, sample_dir


def cli(*args, cwd=ROOT):
    env = dict(os.environ, COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def selfcheck(kit, sample, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "100"
    return subprocess.run([sys.executable, str(kit / "selfcheck.py"), str(sample_dir(sample)), *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=kit.parent)


def test_a_perfect_submission_sees_no_failure_and_a_full_total(kit):
    run = selfcheck(kit, "correct")
    assert run.returncode == 0, run.stderr
    assert "✗" not in run.stdout, run.stdout
    assert "Total: 36/36" in run.stdout and "4 more points are graded after you submit" in run.stdout
    assert "targeted_cases  graded after submission" in run.stdout
    junit = kit.parent / "kit.xml"
    assert selfcheck(kit, "correct", "--format", "junit", "--out", str(junit)).returncode == 0
    text = junit.read_text()
    assert "<skipped" in text and "<failure" not in text


def test_the_kit_names_a_mistake_without_giving_the_formula(kit):
    run = selfcheck(kit, "network_transposed_weight_grad")
    assert run.returncode == 0, run.stderr
    assert "block(s) W1" in run.stdout                       # the mistake, named
    assert "delta2" not in run.stdout and "dW1 = X.T" not in run.stdout
    assert "delta2" not in (kit / "rubric.yaml").read_text()   # nor readable in the kit's own files


def test_bundles_accept_the_rubric_names_their_help_offers(tmp_path):
    for name in ("a1", "a1-full"):
        run = cli("gradescope", "build", "--rubric", name, "--out", str(tmp_path / ("%s.zip" % name)))
        assert run.returncode == 0, run.stderr
        with zipfile.ZipFile(tmp_path / ("%s.zip" % name)) as archive:
            questions = yaml.safe_load(archive.read("rubric.yaml"))["questions"]
        assert any("written" in p for q in questions for p in q["parts"]) == (name == "a1-full")
    run = cli("kit", "build", "--rubric", "a1-full", "--out", str(tmp_path / "kit"))
    assert run.returncode == 0, run.stderr
    run = selfcheck(tmp_path / "kit", "correct")
    assert run.returncode == 0 and "✗" not in run.stdout, run.stdout + run.stderr
    assert "graded after you submit" in run.stdout
