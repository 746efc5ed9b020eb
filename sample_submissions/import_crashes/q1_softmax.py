import ctypes
ctypes.string_at(0)   # reads address 0 at import: a segmentation fault

import numpy as np


def softmax(x):
    """Compute the softmax function for each row of the input x.

    Works for a single vector (shape (D,)) and for a matrix (shape (N, D)),
    where each row is treated as its own vector.

    Arguments:
    x -- A D dimensional vector or N x D dimensional numpy matrix.

    Return:
    x -- the softmax values, same shape as the input
    """
    x = np.array(x, dtype=np.float64)  # copy, so the caller's array is left alone
    orig_shape = x.shape

    if len(x.shape) > 1:
        # Matrix
        x = x - np.max(x, axis=1, keepdims=True)
        x = np.exp(x)
        x = x / np.sum(x, axis=1, keepdims=True)
    else:
        # Vector
        x = x - np.max(x)
        x = np.exp(x)
        x = x / np.sum(x)

    assert x.shape == orig_shape
    return x


def test_softmax_basic():
    """Some simple tests to get you started."""
    print("Running basic tests...")
    test1 = softmax(np.array([1, 2]))
    print(test1)
    ans1 = np.array([0.26894142, 0.73105858])
    assert np.allclose(test1, ans1, rtol=1e-05, atol=1e-06)

    test2 = softmax(np.array([[1001, 1002], [3, 4]]))
    print(test2)
    ans2 = np.array([
        [0.26894142, 0.73105858],
        [0.26894142, 0.73105858]])
    assert np.allclose(test2, ans2, rtol=1e-05, atol=1e-06)

    test3 = softmax(np.array([[-1001, -1002]]))
    print(test3)
    ans3 = np.array([0.73105858, 0.26894142])
    assert np.allclose(test3, ans3, rtol=1e-05, atol=1e-06)

    print("You should be able to verify these results by hand!\n")


def your_sanity_checks():
    """My own extra tests."""
    print("Running your sanity checks...")
    # rows that are far apart from each other
    out = softmax(np.array([[1000.0, 1000.0, 1000.0], [-5.0, 0.0, 5.0]]))
    print(out)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert np.allclose(out[0], [1.0 / 3, 1.0 / 3, 1.0 / 3])

    # large 1-D input
    v = np.array([3000.0, 3001.0])
    assert np.allclose(softmax(v), [0.26894142, 0.73105858])

    # make sure the input is not changed
    a = np.array([[1.0, 2.0, 3.0]])
    softmax(a)
    assert np.allclose(a, [[1.0, 2.0, 3.0]])
    print("all good")


if __name__ == "__main__":
    test_softmax_basic()
    your_sanity_checks()
