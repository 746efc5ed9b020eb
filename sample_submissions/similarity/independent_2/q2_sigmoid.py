import numpy as np


def sigmoid(x):
    """Compute the logistic sigmoid 1 / (1 + exp(-x)) elementwise.

    Arguments:
    x -- A scalar or a numpy array of any shape.

    Return:
    s -- sigmoid(x), with the same shape as x.
    """

    ### YOUR CODE HERE
    # sigmoid(x) = (1 + tanh(x/2)) / 2, and tanh never overflows
    s = 0.5 * (1.0 + np.tanh(0.5 * x))
    ### END YOUR CODE

    return s


def sigmoid_grad(s):
    """Compute the derivative of the sigmoid, given its OUTPUT.

    Part 2(a) shows that the derivative can be written using only the
    value of the sigmoid itself. This function receives s = sigmoid(x),
    not x, and must return d sigmoid / dx evaluated at that x.

    Arguments:
    s -- A scalar or numpy array holding sigmoid(x) for some x.

    Return:
    ds -- The gradient of the sigmoid at x, same shape as s.
    """

    ### YOUR CODE HERE
    # from 2a: sigma' = sigma * (1 - sigma) = sigma - sigma^2
    ds = s - s ** 2
    ### END YOUR CODE

    return ds


def test_sigmoid_basic():
    """Quick checks against values computed by hand."""
    print("Running basic sigmoid tests...")
    x = np.array([[1, 2], [-1, -2]])
    f = sigmoid(x)
    g = sigmoid_grad(f)
    print(f)
    want_f = np.array([
        [0.73105858, 0.88079708],
        [0.26894142, 0.11920292]])
    assert np.allclose(f, want_f, rtol=1e-05, atol=1e-06)
    print(g)
    want_g = np.array([
        [0.19661193, 0.10499359],
        [0.19661193, 0.10499359]])
    assert np.allclose(g, want_g, rtol=1e-05, atol=1e-06)
    print("Basic sigmoid tests passed.\n")


def your_sanity_checks():
    """Add your own tests here (optional, not graded)."""
    print("Running your sanity checks...")
    ### YOUR CODE HERE
    big = sigmoid(np.array([-800.0, 0.0, 800.0]))
    print(big)
    assert np.allclose(big, [0.0, 0.5, 1.0])
    # derivative is largest in the middle
    assert np.isclose(sigmoid_grad(sigmoid(0.0)), 0.25)
    print("My checks passed!")
    ### END YOUR CODE


if __name__ == "__main__":
    test_sigmoid_basic()
    your_sanity_checks()
