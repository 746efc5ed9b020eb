"""Fair to real code, round 3 (issue 27): checks read what checkers and softmaxes really do.

In-process (LocalStudent), through runner.run_check(s) exactly as grading runs them, over
many seeds: a verdict that held only for some draws would differ between students.
The samples themselves are held to their scores by tests/a1/test_samples.py.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import sys

import numpy as np
import pytest

from grader.checks.gradcheck import reports_failure, verdict
from grader.reference import RefFunction
from grader.runner import run_check, run_checks
from grader.sandbox.workers import CallRecord

from conftest import LocalStudent, sample_dir

SEEDS = [int(hashlib.sha256(b"issue 27 %d" % i).hexdigest()[:15], 16) for i in range(60)]


def _part(rubric, pid):
    return next(p for _, p in rubric.parts() if p.id == pid)


def _own(sample, module, name):
    """A sample's function, imported here (our own sample: trusted)."""
    spec = importlib.util.spec_from_file_location("r3_%s_%s" % (sample, module), sample_dir(sample) / (module + ".py"))
    loaded = importlib.util.module_from_spec(spec)
    siblings = ("q1_softmax", "q2_sigmoid", "q2_gradcheck")
    sys.path.insert(0, str(sample_dir(sample)))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(loaded)
    finally:
        sys.path.remove(str(sample_dir(sample)))
        for sibling in siblings:
            sys.modules.pop(sibling, None)   # the next sample imports its own
    return getattr(loaded, name)


def _checker_scores(rubric, reference, sample):
    """{check id: set of scores over SEEDS} of a sample's gradcheck_naive."""
    part = _part(rubric, "gradcheck_naive")
    student = LocalStudent(_own(sample, "q2_gradcheck", "gradcheck_naive"), "gradcheck_naive")
    ref = RefFunction(reference.find("gradcheck_naive"), reference)
    seen = {}
    for seed in SEEDS:
        for spec, outcome in zip(part.checks, run_checks(rubric, part, student, ref, seed)):
            seen.setdefault(spec.id, set()).add(outcome.score)
    return seen


def _lost(seen):
    return {cid for cid, scores in seen.items() if scores == {0.0}}


@pytest.mark.parametrize("sample,lost", [
    ("gradcheck_signed_error", {"reports_wrong", "reports_small_error"}),   # a gradient too small passes
    ("gradcheck_abs_values", {"reports_wrong"}),                             # a flipped sign passes
])
def test_wrong_gradients_come_too_small_and_with_flipped_signs(rubric, reference, sample, lost):
    seen = _checker_scores(rubric, reference, sample)
    assert _lost(seen) == lost
    assert all(len(scores) == 1 for scores in seen.values()), seen   # the same under every seed


def test_a_success_message_that_says_no_failures_is_a_pass():
    for line in ("Gradient check passed! No failures in 12 entries.", "passed (0 failures)",
                 "Gradient check passed!", "checked 12 entries without failure"):
        assert not reports_failure(line), line
    for line in ("Gradient check failed.", "First gradient error found at index (0, 1)", "FAIL at (1,)",
                 "Gradient check failed: 3 failures"):
        assert reports_failure(line), line
    said = CallRecord(value=None, stdout="Gradient check passed! No failures in 12 entries.\n")
    assert verdict(said) == "pass"
    assert verdict(CallRecord(value=None, stdout="Gradient check failed.\nNo failures before index (3,)\n")) == "fail"


def test_a_checker_that_stops_at_a_false_failure_is_charged_once(rubric, reference):
    seen = _checker_scores(rubric, reference, "gradcheck_tight_threshold")
    assert _lost(seen) == {"passes_curved", "passes_large_negative"}
    assert seen["restores_x"] == {0.5}


def test_a_checker_that_reports_failure_without_looking_still_loses_restores_x(rubric, reference):
    part = _part(rubric, "gradcheck_naive")
    spec = next(c for c in part.checks if c.id == "restores_x")
    blind = LocalStudent(lambda f, x: print("Gradient check failed."), "gradcheck_naive")
    outcome = run_check(rubric, part, spec, blind, RefFunction(reference.find("gradcheck_naive"), reference), 1)
    assert not outcome.passed and "called f 0 time(s)" in outcome.message


def test_a_row_mean_shift_overflows_on_a_long_row(rubric, reference):
    part = _part(rubric, "softmax")
    spec = next(c for c in part.checks if c.id == "stable_large_inputs")
    mean_shift = LocalStudent(_own("softmax_mean_shift", "q1_softmax", "softmax"), "softmax")
    ref = RefFunction(reference.find("softmax"), reference)
    for seed in SEEDS[:10]:
        outcome = run_check(rubric, part, spec, mean_shift, ref, seed)
        assert outcome.score == pytest.approx(1.6), outcome.message
        assert "nan or inf" in outcome.message
    x = np.array([[0.0] * 9 + [800.0]])
    assert not np.all(np.isfinite(mean_shift(x)))


def test_a_private_helper_of_the_same_name_is_not_the_standalone_function(reference):
    from grader.assignments.a1.adapters import NetworkB2Block
    helper = LocalStudent(_own("fair_private_ce_helper", "q2_neural", "cross_entropy_grad"), "cross_entropy_grad")
    assert "does not take logits" in NetworkB2Block.not_standalone(helper)
    for sample in ("correct_two_file", "ce_grad_diagonal_two_file"):   # right or wrong, both take logits
        standalone = LocalStudent(_own(sample, "q2_neural", "cross_entropy_grad"), "cross_entropy_grad")
        assert NetworkB2Block.not_standalone(standalone) is None, sample
    crashing = LocalStudent(lambda theta, labels: theta.T.dot(labels) + None, "cross_entropy_grad")
    assert NetworkB2Block.not_standalone(crashing)


def test_the_helper_sample_is_graded_through_its_network(shared_grader):
    ce_grad = next(p for p in shared_grader.grade(sample_dir("fair_private_ce_helper")).parts() if p.id == "ce_grad")
    assert (ce_grad.score, ce_grad.function) == (3.0, "forward_backward_prop in q2_neural.py")
    assert "is not the standalone cross_entropy_grad(theta, labels)" in ce_grad.notes[0]
