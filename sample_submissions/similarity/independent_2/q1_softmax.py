import numpy as np


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
    if x.ndim == 1:
        # vector case: subtract the biggest entry so exp() never blows up
        # (this is fine because of 1a, softmax(x + c) = softmax(x))
        shifted = x - x.max()
        expd = np.exp(shifted)
        x = expd / expd.sum()
    else:
        # matrix case: every row gets its own max, reshaped to a column
        # so numpy broadcasts it across that row
        rowmax = x.max(axis=1).reshape(-1, 1)
        expd = np.exp(x - rowmax)
        x = expd / expd.sum(axis=1).reshape(-1, 1)
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
    # non-square matrix, rows should each sum to one
    m = np.array([[1.0, 2.0, 3.0, 4.0],
                  [0.0, 0.0, 0.0, 0.0],
                  [-5.0, 10.0, 2.0, 800.0]])
    out = softmax(m)
    print(out)
    assert out.shape == (3, 4)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert np.allclose(out[1], 0.25)

    # huge values in a plain vector must not give nan
    v = softmax(np.array([1000.0, 1000.0]))
    print(v)
    assert np.allclose(v, [0.5, 0.5])
    print("My checks passed!")
    ### END YOUR CODE


if __name__ == "__main__":
    test_softmax_basic()
    your_sanity_checks()
