"""The check kinds themselves: a correct function is never flagged, a wrong one always is.

Each kind runs on many seeded trials against the reference (right) and against
the reference with one element wrong by 1e-3 relative (wrong).
"""
from __future__ import annotations

import numpy as np
import pytest

import grader.assignments.a1  # noqa: F401  (the network's kinds and inputs: Assignment 1's plug-in)
from grader.checks import REGISTRY
from grader.reference import RefFunction

from conftest import LocalStudent

TRIALS = 25


def run(kind, student, ref, rng, **options):
    opts = REGISTRY[kind].options()
    opts.update(options)
    return REGISTRY[kind].fn(student, ref, opts, rng)


def one_wrong(fn, rel=1e-3, pick=None):
    """fn with one output element off by ``rel`` relative (the largest one, or ``pick``)."""

    def wrong(*args):
        out = np.array(fn(*args), dtype=np.float64)
        flat = out.reshape(-1)
        k = int(np.argmax(np.abs(flat))) if pick is None else pick
        flat[k] *= 1 + rel
        return out

    return wrong


@pytest.fixture(scope="module")
def ref(reference):
    return {name: RefFunction(reference.find(name), reference)
            for name in ("softmax", "sigmoid", "sigmoid_grad", "forward_backward_prop", "cross_entropy_grad")}


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


def test_ce_batch_values(ref):
    spec = {"gen": "ce_batch", "n": 4, "d": 5}
    for trial in range(TRIALS):
        good = run("values", LocalStudent(ref["cross_entropy_grad"].fn), ref["cross_entropy_grad"],
                   np.random.default_rng(trial), random=[spec])
        assert good.passed, good.message
        bad = run("values", LocalStudent(one_wrong(ref["cross_entropy_grad"].fn)), ref["cross_entropy_grad"],
                  np.random.default_rng(trial), random=[spec])
        assert not bad.passed


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


def _network_wrong_at(fn, block_index):
    def wrong(X, labels, params, dims):
        cost, grad = fn(X, labels, params, dims)
        grad = np.array(grad, dtype=np.float64)
        k = block_index(dims)
        grad[k] *= 1 + 1e-3
        return cost, grad

    return wrong


@pytest.mark.parametrize("kind", ["network_consistency", "network_gradient"])
def test_network_gradient_checks(ref, kind):
    fbp = ref["forward_backward_prop"]
    cases = [{"dims": [3, 4, 5, 3]}, {"dims": [20, 10, 5, 10]}]
    for trial in range(8):
        good = run(kind, LocalStudent(fbp.fn, "forward_backward_prop"), fbp, np.random.default_rng(trial),
                   cases=cases)
        assert good.passed, good.message
    # One element of W2 (the largest gradient element of the small case is not guaranteed to be
    # anywhere in particular, so pick W2[0, 0], whose gradient is far from 0 for these inputs).
    for trial in range(8):
        wrong = _network_wrong_at(fbp.fn, lambda dims: dims[0] * dims[1] + dims[1])
        bad = run(kind, LocalStudent(wrong, "forward_backward_prop"), fbp, np.random.default_rng(trial),
                  cases=cases[:1])
        assert not bad.passed, bad.message
        assert "W2" in bad.message and "W1" not in bad.message.split(";")[0]
        assert bad.fraction == pytest.approx(0.75)


def test_network_cost_convention(ref):
    fbp = ref["forward_backward_prop"]

    def mean(X, labels, params, dims):
        cost, grad = fbp.fn(X, labels, params, dims)
        return cost / X.shape[0], grad / X.shape[0]

    cases = [{"dims": [6, 4, 3, 5]}]
    rng = np.random.default_rng
    assert run("network_cost", LocalStudent(fbp.fn), fbp, rng(0), cases=cases).passed
    result = run("network_cost", LocalStudent(mean), fbp, rng(0), cases=cases)
    assert not result.passed and "rubric asks for the sum" in result.message
    assert run("network_cost", LocalStudent(mean), fbp, rng(0), cases=cases, cost="either").passed
    # A consistent mean is a right gradient under its own convention.
    assert run("network_gradient", LocalStudent(mean), fbp, rng(0), cases=cases).passed
    assert run("network_consistency", LocalStudent(mean), fbp, rng(0), cases=cases).passed


def test_network_bad_return_is_explained(ref):
    fbp = ref["forward_backward_prop"]
    result = run("network_gradient", LocalStudent(lambda *a: 0.0), fbp, np.random.default_rng(0))
    assert not result.passed and "(cost, grad)" in result.message


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
