import numpy as np


def _row_max(a):
    """Max over the last axis, kept as a column so it broadcasts back."""
    return np.amax(a, axis=a.ndim - 1, keepdims=True)


def softmax(x):
    """Compute the softmax function for each row of the input x.

    Your implementation should work for a single vector of shape (D,)
    and for a matrix of shape (N, D), where each of the N rows is treated
    as its own input vector. Use the identity softmax(x + c) = softmax(x)
    from part 1(a) to keep the computation from overflowing: subtracting
    the largest entry of each row before exponentiating is enough.

    Write vectorized numpy code; a version that loops over rows in Python
    will not receive full credit. You may modify x in place if you like.

    Arguments:
    x -- A D dimensional vector or an N x D dimensional numpy matrix.

    Return:
    x -- The softmax of x, with the same shape as the input.
    """
    orig_shape = x.shape

    ### YOUR CODE HERE
    e = np.exp(x - _row_max(x))           # stable: largest exponent is 0
    total = e.sum(axis=e.ndim - 1, keepdims=True)
    x = e / total
    ### END YOUR CODE

    assert x.shape == orig_shape
    return x


def test_softmax_basic():
    """A few quick tests of your softmax. Passing them does not prove
    your implementation is right, but failing them means it is wrong.
    """
    print("Running basic softmax tests...")

    out1 = softmax(np.array([1, 2]))
    print(out1)
    want1 = np.array([0.26894142, 0.73105858])
    assert np.allclose(out1, want1, rtol=1e-05, atol=1e-06)

    out2 = softmax(np.array([[1001, 1002], [3, 4]]))
    print(out2)
    want2 = np.array([[0.26894142, 0.73105858],
                      [0.26894142, 0.73105858]])
    assert np.allclose(out2, want2, rtol=1e-05, atol=1e-06)

    out3 = softmax(np.array([[-1001, -1002]]))
    print(out3)
    want3 = np.array([[0.73105858, 0.26894142]])
    assert np.allclose(out3, want3, rtol=1e-05, atol=1e-06)

    print("Basic softmax tests passed.\n")


def your_sanity_checks():
    """Put any extra tests of your own here. This function is not
    graded, but we may run it.
    """
    print("Running your sanity checks...")
    ### YOUR CODE HERE
    print("1-D, huge values:", softmax(np.array([3000.0, 3001.0])))
    r = softmax(np.random.randn(5, 3) * 100)
    print("5x3 random rows sum to", r.sum(axis=1))
    assert r.shape == (5, 3)
    assert np.allclose(r.sum(axis=1), 1)
    print("All my softmax checks are OK")
    ### END YOUR CODE


if __name__ == "__main__":
    test_softmax_basic()
    your_sanity_checks()
