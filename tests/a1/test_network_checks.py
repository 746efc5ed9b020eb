"""Assignment 1's own check kinds and inputs (grader/assignments/a1): the network's gradient and
cost checks and the cross-entropy batches never flag the reference and always flag one wrong element."""
from __future__ import annotations

import numpy as np
import pytest

import grader.assignments.a1  # noqa: F401  (registers the kinds and generators tested here)

from checking import TRIALS, one_wrong, run
from conftest import LocalStudent


@pytest.fixture(scope="module")
def ref(reference):
    from grader.reference import RefFunction
    return {name: RefFunction(reference.find(name), reference) for name in ("forward_backward_prop", "cross_entropy_grad")}


def test_ce_batch_values(ref):
    spec = {"gen": "ce_batch", "n": 4, "d": 5}
    for trial in range(TRIALS):
        good = run("values", LocalStudent(ref["cross_entropy_grad"].fn), ref["cross_entropy_grad"],
                   np.random.default_rng(trial), random=[spec])
        assert good.passed, good.message
        bad = run("values", LocalStudent(one_wrong(ref["cross_entropy_grad"].fn)), ref["cross_entropy_grad"],
                  np.random.default_rng(trial), random=[spec])
        assert not bad.passed


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
