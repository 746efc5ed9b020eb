"""Adapters: grade a function through another one the student did write.

``network_b2_block``: with no standalone ``cross_entropy_grad(theta, labels)``,
the cross-entropy gradient (written part 2b) is read off the b2 block of
``forward_backward_prop``: with W2 = 0 and b2 = theta, the logits are theta and
d cost / d b2 = softmax(theta) - y for a batch of one example.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .checks.inputs import block_slices
from .sandbox.process import CallRecord
from .sandbox.student import StudentError

# H == Dx, so a bias folded in at index H (right only when H == Dx) does not leak in here.
_DX, _H = 3, 3


class NetworkB2Block:
    """Looks like ``cross_entropy_grad(theta, labels)``; calls the student's network once per row."""

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
            value = record.value
            try:
                grad = np.asarray(value[1], dtype=np.float64).reshape(-1)
                out.append(grad[block_slices(dims)["b2"]])
            except (TypeError, ValueError, IndexError):
                return CallRecord(value=value)   # the checks will say what came back
        result = np.array(out).reshape(theta.shape)
        return CallRecord(value=result, args_after=[theta, labels] if keep_args else None)

    def __call__(self, *args: Any) -> Any:
        record = self.run(*args)
        if not record.ok:
            raise StudentError(record)
        return record.value


ADAPTERS = {"network_b2_block": NetworkB2Block}
