#!/usr/bin/env python
"""CS224n assignment 1, question 2: sigmoid, gradient checking and a
one-hidden-layer network, all in one file."""
import random

import numpy as np

from q1_softmax import softmax


# ---------------------------------------------------------------- 2(e)

def sigmoid(x):
    # 1 / (1 + e^-x) = exp(-log(1 + e^-x)); logaddexp(0, -x) = log(1 + e^-x)
    # is computed without overflow for any x.
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))


def sigmoid_grad(s):
    # s is already sigmoid(x); d sigma / dx = sigma (1 - sigma)
    return s - s * s


# ---------------------------------------------------------------- 2(b)

def cross_entropy_grad(theta, labels):
    """d CE(labels, softmax(theta)) / d theta for a batch of rows."""
    return softmax(theta) - labels


# ---------------------------------------------------------------- 2(f)

def gradcheck_naive(f, x):
    """Compare f's analytic gradient at x with centered differences."""
    saved_state = random.getstate()
    random.setstate(saved_state)
    fx, grad = f(x)
    h = 1e-4

    def cost_at(point):
        random.setstate(saved_state)
        return f(point)[0]

    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        keep = x[idx]

        x[idx] = keep + h
        up = cost_at(x)
        x[idx] = keep - h
        down = cost_at(x)
        x[idx] = keep

        approx = (up - down) / (2.0 * h)
        scale = max(1.0, abs(approx), abs(grad[idx]))
        if abs(approx - grad[idx]) / scale > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index %s" % (idx,))
            print("Your gradient: %f \t Numerical gradient: %f" % (grad[idx], approx))
            return
        it.iternext()

    print("Gradient check passed!")


# ---------------------------------------------------------------- 2(g)

def _unpack(params, dimensions):
    Dx, H, Dy = dimensions[0], dimensions[1], dimensions[2]
    shapes = [(Dx, H), (1, H), (H, Dy), (1, Dy)]
    blocks = []
    start = 0
    for rows, cols in shapes:
        stop = start + rows * cols
        blocks.append(np.reshape(params[start:stop], (rows, cols)))
        start = stop
    return blocks


def forward_backward_prop(data, labels, params, dimensions):
    """Summed cross-entropy cost of a sigmoid-hidden-layer network and the
    gradient wrt params (packed W1, b1, W2, b2 like params)."""
    W1, b1, W2, b2 = _unpack(params, dimensions)

    hidden = sigmoid(np.dot(data, W1) + b1)
    scores = np.dot(hidden, W2) + b2
    probs = softmax(scores)
    cost = -np.sum(np.log(probs[labels == 1]))

    dscores = probs - labels
    dW2 = np.dot(hidden.T, dscores)
    db2 = dscores.sum(axis=0)
    dhidden = np.dot(dscores, W2.T) * sigmoid_grad(hidden)
    dW1 = np.dot(data.T, dhidden)
    db1 = dhidden.sum(axis=0)

    return cost, np.hstack([g.ravel() for g in (dW1, db1, dW2, db2)])


# ---------------------------------------------------------------- tests

def _run_tests():
    x = np.array([[1, 2], [-1, -2]])
    s = sigmoid(x)
    print(s)
    print(sigmoid_grad(s))
    assert np.allclose(s, [[0.73105858, 0.88079708], [0.26894142, 0.11920292]])
    assert np.allclose(sigmoid_grad(s), [[0.19661193, 0.10499359], [0.19661193, 0.10499359]])

    print("gradcheck on quadratics (should pass):")
    quad = lambda v: (np.sum(v ** 2), 2 * v)
    gradcheck_naive(quad, np.array(123.456))
    gradcheck_naive(quad, np.random.randn(3))
    gradcheck_naive(quad, np.random.randn(4, 5))

    th = np.random.randn(4, 3)
    y = np.eye(3)[[0, 2, 1, 1]]
    print("cross_entropy_grad rows sum to zero:",
          np.allclose(cross_entropy_grad(th, y).sum(axis=1), 0))

    print("network gradcheck (should pass):")
    N, dims = 20, [10, 5, 10]
    data = np.random.randn(N, dims[0])
    labels = np.zeros((N, dims[2]))
    labels[np.arange(N), np.random.randint(0, dims[2], size=N)] = 1
    params = np.random.randn((dims[0] + 1) * dims[1] + (dims[1] + 1) * dims[2])
    gradcheck_naive(lambda p: forward_backward_prop(data, labels, p, dims), params)


if __name__ == "__main__":
    _run_tests()
