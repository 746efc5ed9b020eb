#!/usr/bin/env python
"""CS224n assignment 1, question 1(b)."""
import numpy as np


def softmax(x):
    """Row-wise softmax.

    A vector is handled as a matrix with a single row. Each row is shifted by
    its own maximum first (softmax is invariant to adding a constant), so the
    largest exponent is exp(0) = 1 and nothing overflows.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return softmax(x[np.newaxis, :])[0]

    z = x - x.max(axis=1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=1, keepdims=True)


def _check(got, expected):
    ok = np.allclose(got, expected, rtol=1e-5, atol=1e-6)
    print("%s -> %s" % (np.array2string(np.asarray(got), precision=6), "ok" if ok else "WRONG"))
    return ok


if __name__ == "__main__":
    _check(softmax(np.array([1, 2])), [0.26894142, 0.73105858])
    _check(softmax(np.array([[1001, 1002], [3, 4]])),
           [[0.26894142, 0.73105858], [0.26894142, 0.73105858]])
    _check(softmax(np.array([[-1001, -1002]])), [[0.73105858, 0.26894142]])
    _check(softmax(np.array([[0., 800., 0.], [5., 5., 5.]])),
           [[0., 1., 0.], [1 / 3., 1 / 3., 1 / 3.]])
