"""Adapters: grade a function through another one the student did write.

``network_b2_block``: with no standalone ``cross_entropy_grad(theta, labels)``,
the cross-entropy gradient (written part 2b) is read off the b2 block of
``forward_backward_prop``: with W2 = 0 and b2 = theta, the logits are theta and
d cost / d b2 = softmax(theta) - y for a batch of one example.

An adapter reads the student's return through grader.checks.returns like any
check: when the network's return holds no usable gradient, the adapter's result
is an :class:`~grader.checks.returns.Unreadable` saying why, which the checks
report in the network's terms instead of failing on it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...checks.returns import CostGrad, Unreadable, check_return
from ...plugins import adapter
from ...sandbox.workers import CallRecord
from ...sandbox.student import StudentError
from .inputs import block_slices

# H == Dx, so a bias folded in at index H (right only when H == Dx) does not leak in here.
_DX, _H = 3, 3


@adapter("network_b2_block")
class NetworkB2Block:
    """Looks like ``cross_entropy_grad(theta, labels)``; calls the student's network once per row."""

    stands_for = "the standalone cross_entropy_grad(theta, labels)"
    how = "with W2 = 0 and b2 = theta, one example at a time"

    def __init__(self, network):
        self.network = network
        self.name = "forward_backward_prop's b2 gradient"
        self.label = network.label

    def run(self, theta: Any, labels: Any, keep_args: bool = False) -> CallRecord:
        theta = np.asarray(theta, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.float64)
        rows_t, rows_y = np.atleast_2d(theta), np.atleast_2d(labels)
        dy = rows_t.shape[1]
        out = []
        for t, y in zip(rows_t, rows_y):
            dims = [_DX, _H, dy]
            params = np.zeros((_DX + 1) * _H + (_H + 1) * dy)
            params[: _DX * _H + _H] = np.linspace(-0.5, 0.5, _DX * _H + _H)
            params[block_slices(dims)["b2"]] = t
            record = self.network.run(np.ones((1, _DX)), y.reshape(1, dy), params, dims)
            if not record.ok:
                return record
            # Only grad is read here: a wrong cost costs points in the network's own part, once.
            pair, failure = check_return(record.value, CostGrad(params.size, cost=False), self.network.name)
            if failure:
                return CallRecord(value=Unreadable("cannot be read: " + failure.message))
            out.append(pair[1][block_slices(dims)["b2"]])
        result = np.array(out).reshape(theta.shape)
        return CallRecord(value=result, args_after=[theta, labels] if keep_args else None)

    @staticmethod
    def not_standalone(candidate) -> Any:
        """Why ``candidate`` (a student function named cross_entropy_grad) is not the standalone
        ``cross_entropy_grad(theta, labels)``, or None when it behaves as one.

        The probe: the gradient of logits does not change when a constant is added to a row
        of theta; a private helper of the network taking probabilities (yhat - labels) does.
        """
        theta = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
        labels = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
        values = []
        for args in ((theta, labels), (theta + np.array([[3.0], [-2.0]]), labels)):
            record = candidate.run(*args)
            try:
                value = np.asarray(record.value, dtype=np.float64) if record.ok else None
            except (TypeError, ValueError):
                value = None
            if value is None or value.shape != theta.shape or not np.all(np.isfinite(value)):
                return "on logits and labels of shape %s it does not return their gradient" % (theta.shape,)
            values.append(value)
        if not np.allclose(values[0], values[1], rtol=1e-6, atol=1e-9):
            return "its value changes when a constant is added to a row of theta: it does not take logits"
        return None

    def __call__(self, *args: Any) -> Any:
        record = self.run(*args)
        if not record.ok:
            raise StudentError(record)
        return record.value

