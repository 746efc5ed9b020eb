"""Shared fixtures: paths, the default rubric, and an in-process stand-in for a student function.

LocalStudent (grader.sandbox.local) lets the checks, pure functions of a
callable, be tested without the sandbox.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox.local import LocalStudent  # noqa: F401  (tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_submissions"
REFERENCE = ROOT / "reference"
DEFAULT_RUBRIC = ROOT / "rubrics" / "a1.yaml"


@pytest.fixture(scope="session")
def rubric():
    from grader.rubric import load_rubric
    return load_rubric(DEFAULT_RUBRIC)


@pytest.fixture(scope="session")
def shared_grader(rubric):
    """One Grader (one sandbox zygote) for the whole session: as a batch would run."""
    from grader.runner import Grader
    with Grader(rubric) as grader:
        yield grader


@pytest.fixture(scope="session")
def reference():
    from grader.reference import Reference
    return Reference(REFERENCE)


@pytest.fixture(scope="session")
def kit(tmp_path_factory):
    """The student kit, built once by the real command (grader kit build)."""
    import subprocess
    import sys
    out = tmp_path_factory.mktemp("kitbuild") / "kit"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "kit", "build", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return out
