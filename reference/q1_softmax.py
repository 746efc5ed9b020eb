"""Reference solution for question 1b: a numerically stable, vectorized softmax."""
import numpy as np


def softmax(x):
    """Softmax of a vector, or of each row of a matrix.

    Subtracting the row maximum (question 1a: softmax(x + c) = softmax(x)) keeps
    exp() finite for inputs near 1000. The input is never modified.
    """
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


if __name__ == "__main__":
    print(softmax(np.array([1, 2])))
