"""How many processes a submission costs, and that sharing them changes no grade.

A submission's parts share one worker while they run on the student's own
functions (workers.Sandbox.open); a part runs again on the reference's stand-ins
only when it lost points and a function it uses did too (runner.grade_parts).
tests/a1/test_samples.py pins every sample's score, so the sharing is checked there
for fairness; here, for what it saves and what it must not share.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.runner import Grader
from grader.sandbox import zygote_handle as zygote_module
from grader.sandbox.zygote_handle import Zygote, launch_early

from conftest import sample_dir


@pytest.fixture
def counted(rubric):
    """A warm grader (its timing yardstick measured) that counts the workers it forks."""
    with Grader(rubric) as grader:
        grader.grade(sample_dir("correct"))
        forks = []
        fork = grader.zygote.fork
        grader.zygote.fork = lambda: forks.append(1) or fork()
        yield grader, forks


def test_one_worker_grades_a_submission_whose_functions_are_right(counted):
    grader, forks = counted
    result = grader.grade(sample_dir("correct"))
    assert result.score == 40
    assert len(forks) == 1   # formerly a worker per part, a preparing one, and a second run for four parts
    assert not any("standing in" in note for part in result.parts() for note in part.notes)


def test_a_mistake_in_softmax_adds_one_worker_for_the_parts_that_use_it(counted):
    grader, forks = counted
    result = grader.grade(sample_dir("softmax_no_shift"))
    parts = {part.id: part for part in result.parts()}
    assert parts["softmax"].score < parts["softmax"].max_score
    assert len(forks) == 2   # the student's own functions, then one worker for every stand-in run
    assert parts["sigmoid"].notes == [] and parts["gradcheck_naive"].notes == []


@pytest.mark.alone   # a timeout: not beside other tests
def test_a_part_that_hangs_its_worker_leaves_the_next_part_a_fresh_one(rubric, tmp_path):
    folder = tmp_path / "sub"
    shutil.copytree(sample_dir("correct"), folder)
    path = folder / "q1_softmax.py"
    path.write_text(path.read_text().replace(
        "def softmax(x):", "def softmax(x):\n    if getattr(x, 'ndim', 0) == 2 and x.shape == (2, 2):\n"
        "        while True:\n            pass"))
    with Grader(rubric, timeout=1.0) as grader:
        parts = {part.id: part for part in grader.grade(folder).parts()}
    assert parts["softmax"].status == "timeout"
    # The timeout, its reloads and its time budget were softmax's alone.
    for other in ("sigmoid", "sigmoid_grad", "gradcheck_naive", "ce_grad", "forward_backward_prop"):
        assert parts[other].status == "graded" and parts[other].score == parts[other].max_score, other


def test_a_zygote_launched_early_is_adopted_and_configured_later(rubric):
    launch_early(None)
    early = zygote_module._EARLY[(None, False)]
    pid = early.proc.pid
    with Grader(rubric) as grader:
        assert grader.zygote is early and not early.configured
        assert grader.grade(sample_dir("correct")).score == 40
        assert grader.zygote.proc.pid == pid
    assert (None, False) not in zygote_module._EARLY


def test_a_zygote_never_adopted_is_closed_at_exit():
    launch_early("plain", unsafe=True)
    early = zygote_module._EARLY[("plain", True)]
    zygote_module._close_early()
    assert early.proc is None and not zygote_module._EARLY


def test_a_zygote_obeys_nothing_before_it_is_configured():
    zygote = Zygote(None)
    try:
        zygote._launch()
        zygote._send({"op": "open", "token": "0" * 32, "quota": 1 << 20, "files": []})
        assert zygote.proc.wait(timeout=30) is not None   # it left, having opened nothing
    finally:
        zygote.close()


@pytest.mark.alone   # measures time
def test_a_loop_is_called_a_loop_only_against_a_fresh_yardstick(counted):
    """A cached yardstick from a quieter minute cannot cost a vectorized softmax its point."""
    grader, forks = counted
    for key in list(grader.zygote.baselines):
        grader.zygote.baselines[key] = (grader.zygote.baselines[key][0], 1e-6)   # np.exp "took" 1 us
    parts = {part.id: part for part in grader.grade(sample_dir("correct")).parts()}
    vectorized = next(c for c in parts["softmax"].checks if c.id == "vectorized")
    assert vectorized.score == vectorized.max_score, vectorized.message
    assert len(forks) == 3   # the student's worker, the yardstick's, the student's again
    assert min(v for _, v in grader.zygote.baselines.values()) > 1e-5   # the fresh one is kept
    loops = {part.id: part for part in grader.grade(sample_dir("softmax_loops")).parts()}
    assert next(c for c in loops["softmax"].checks if c.id == "vectorized").score == 0
