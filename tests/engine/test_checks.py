"""The general check kinds themselves: a correct function is never flagged, a wrong one always is.

Each kind runs on many seeded trials against a reference function (right) and against the
same with one element wrong by 1e-3 relative (wrong). The functions are the bundled
assignment's reference (softmax, sigmoid, a gradient checker): data here, any would do.
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.reference import RefFunction

from checking import TRIALS, one_wrong, run
from conftest import LocalStudent


@pytest.fixture(scope="module")
def ref(reference):
    return {name: RefFunction(reference.find(name), reference)
            for name in ("softmax", "sigmoid", "sigmoid_grad")}


@pytest.mark.parametrize("name,spec", [
    ("softmax", {"shape": [4, 6], "scale": 5}),
    ("softmax", {"shape": [9], "scale": 3}),
    ("sigmoid", {"shape": [3, 5], "scale": 4}),
    ("sigmoid_grad", {"shape": [7], "low": 0.05, "high": 0.95}),
])
def test_values_never_flags_the_reference_and_always_flags_one_wrong_element(ref, name, spec):
    for trial in range(TRIALS):
        good = run("values", LocalStudent(ref[name].fn, name), ref[name], np.random.default_rng(trial), random=[spec])
        assert good.passed, good.message
        bad = run("values", LocalStudent(one_wrong(ref[name].fn), name), ref[name],
                  np.random.default_rng(trial), random=[spec])
        assert not bad.passed and bad.fraction == 0.0
        assert "expected" in bad.message and "rtol" in bad.message


def test_values_gives_partial_credit_per_case(ref):
    calls = []

    def wrong_on_second(x):
        calls.append(1)
        out = ref["softmax"].fn(x)
        return out * 2 if len(calls) == 2 else out

    result = run("values", LocalStudent(wrong_on_second, "softmax"), ref["softmax"], np.random.default_rng(0),
                 cases=[[[1, 2]], [[3, 4]], [[5, 6]], [[7, 8]]])
    assert result.fraction == pytest.approx(0.75)
    assert "softmax([3, 4])" in result.message


def test_derivative_flags_a_one_element_error(ref):
    spec = [{"shape": [9], "scale": 3}]
    for trial in range(TRIALS):
        good = run("derivative", LocalStudent(ref["sigmoid_grad"].fn), ref["sigmoid_grad"],
                   np.random.default_rng(trial), random=spec, of="sigmoid")
        assert good.passed, good.message
        bad = run("derivative", LocalStudent(one_wrong(ref["sigmoid_grad"].fn)), ref["sigmoid_grad"],
                  np.random.default_rng(trial), random=spec, of="sigmoid")
        assert not bad.passed


def test_properties_of_softmax(ref):
    rng = np.random.default_rng(1)
    spec = [{"shape": [3, 7]}, {"shape": [5]}]
    assert run("probabilities", LocalStudent(ref["softmax"].fn), ref["softmax"], rng, random=spec).passed
    assert not run("probabilities", LocalStudent(one_wrong(ref["softmax"].fn)), ref["softmax"], rng,
                   random=spec).passed
    assert run("shift_invariance", LocalStudent(ref["softmax"].fn), ref["softmax"], rng, random=spec).passed

    def unshifted(x):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)

    result = run("shift_invariance", LocalStudent(unshifted), ref["softmax"], rng, random=spec)
    assert not result.passed and "c = 1000" in result.message or "c = -1000" in result.message


def test_input_unchanged(ref):
    def mutating(x):
        x -= np.max(x, axis=-1, keepdims=True)
        return ref["softmax"].fn(x)

    rng = np.random.default_rng(0)
    spec = [{"shape": [4, 5], "scale": 3}]
    assert run("input_unchanged", LocalStudent(ref["softmax"].fn), ref["softmax"], rng, random=spec).passed
    # The starter allows it: a note by default ...
    result = run("input_unchanged", LocalStudent(mutating), ref["softmax"], rng, random=spec)
    assert result.passed and result.message.startswith("note: ") and "in place" in result.message
    # ... and a deduction, citing the rubric, where a course asks for it.
    result = run("input_unchanged", LocalStudent(mutating), ref["softmax"], rng, random=spec, deduct=True)
    assert not result.passed and "in place" in result.message and "rubric" in result.message
    # Values must be right either way: zeros leave x alone and earn nothing.
    zeros = run("input_unchanged", LocalStudent(lambda x: np.zeros_like(x)), ref["softmax"], rng, random=spec)
    assert not zeros.passed and "counts only for right values" in zeros.message


def _reference_checker(reference):
    return reference.find("gradcheck_naive")


def test_gradcheck_behaviour_of_the_reference_checker(reference):
    checker = LocalStudent(_reference_checker(reference), "gradcheck_naive")
    rng = np.random.default_rng
    for fn in ("quadratic", "cubic", "random_cost"):
        assert run("gradcheck_behaviour", checker, None, rng(0), fn=fn).passed
        assert run("gradcheck_behaviour", checker, None, rng(0), fn=fn, wrong_at=5, expect="fail").passed
    assert run("gradcheck_behaviour", checker, None, rng(0), fn="cubic", scale=-1e6).passed
    assert run("gradcheck_restores_x", checker, None, rng(0), fn="cubic", low=-10, high=10).passed


def test_gradcheck_silent_checker_earns_nothing():
    silent = LocalStudent(lambda f, x: None, "gradcheck_naive")
    rng = np.random.default_rng
    result = run("gradcheck_behaviour", silent, None, rng(0), fn="quadratic")
    assert not result.passed and "says nothing" in result.message
    assert not run("gradcheck_behaviour", silent, None, rng(0), wrong_at=3, expect="fail").passed
    assert not run("gradcheck_restores_x", silent, None, rng(0)).passed


def test_gradcheck_verdicts():
    from grader.checks.gradcheck import verdict
    from grader.sandbox.workers import CallRecord
    assert verdict(CallRecord(stdout="Gradient check passed!")) == "pass"
    assert verdict(CallRecord(stdout="Gradient check failed.\nFirst error at (1,)")) == "fail"
    assert verdict(CallRecord(stdout="Gradient check failed.\nGradient check passed!")) == "both"
    assert verdict(CallRecord(value=False)) == "fail"
    assert verdict(CallRecord(failure="exception", error="AssertionError: x",
                              error_info={"type": "AssertionError"})) == "fail"
    assert verdict(CallRecord(failure="exception", error="TypeError: x", error_info={"type": "TypeError"})) == "error"


def test_vectorized_flags_python_loops(ref):
    def loops(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            m = max(x[i])
            s = sum(np.exp(v - m) for v in x[i])
            for j in range(x.shape[1]):
                out[i, j] = np.exp(x[i, j] - m) / s
        return out

    rng = np.random.default_rng
    # In this process there is no round trip in either timing (the sandbox's defaults count on
    # one): the ratio of the bare computations, with a bound to match.
    bare = {"shape": [2000, 10], "max_ratio": 60.0}
    assert run("vectorized", LocalStudent(ref["softmax"].fn), ref["softmax"], rng(0), **bare).passed
    result = run("vectorized", LocalStudent(loops), ref["softmax"], rng(0), **dict(bare, shape=[300, 10]))
    assert not result.passed and "row by row" in result.message


def test_messages_show_numbers_not_numpy_reprs():
    from grader.checks.numeric import short
    assert short(np.int64(0)) == "0" and short(np.float64(1.5)) == "1.5"
    assert short([np.float64(1.5), np.int64(2)]) == "[1.5, 2]" and short((np.int64(3),)) == "(3,)"
