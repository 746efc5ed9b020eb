"""Reference solution for question 2e: sigmoid and its derivative."""
import numpy as np


def sigmoid(x):
    """Logistic function, finite for any float input (no overflow for |x| ~ 1000)."""
    x = np.asarray(x, dtype=np.float64)
    # exp(-|x|) never overflows; choose the algebraically equal form per sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(s):
    """Derivative of the sigmoid, given s = sigmoid(x) (question 2a: s(1 - s))."""
    s = np.asarray(s, dtype=np.float64)
    return s * (1.0 - s)
