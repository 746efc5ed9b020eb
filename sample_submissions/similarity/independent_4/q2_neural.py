import random

import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid, sigmoid_grad
from q2_gradcheck import gradcheck_naive


DEBUG = False


def _forward(X, W1, b1, W2, b2):
    """Forward pass: returns (hidden activations, output probabilities)."""
    hidden = sigmoid(X @ W1 + b1)
    out = softmax(hidden @ W2 + b2)
    return hidden, out


def _cross_entropy(out, labels):
    """Total cross entropy over all rows (labels are one-hot)."""
    p_true = np.sum(out * labels, axis=1)   # prob. given to the right class
    return -np.sum(np.log(p_true))


def forward_backward_prop(X, labels, params, dimensions):
    """Forward and backward propagation for a two-layer network.

    The network has one sigmoid hidden layer and a softmax output layer,
    and is trained with the cross-entropy cost:
        h    = sigmoid(X W1 + b1)
        yhat = softmax(h W2 + b2)
        cost = sum over the N examples of CE(labels, yhat)

    Compute the cost based on the SUM over the batch, not the mean.

    Arguments:
    X -- N x Dx matrix; each row is one input example.
    labels -- N x Dy matrix; each row is a one-hot vector.
    params -- flat vector holding W1, b1, W2, b2 in that order.
    dimensions -- a tuple (Dx, H, Dy).

    Return:
    cost -- the scalar cross-entropy cost of the batch.
    grad -- the gradient of cost with respect to params, flattened and
            ordered exactly like params.
    """

    ### Unpack network parameters (do not modify)
    ofs = 0
    Dx, H, Dy = (dimensions[0], dimensions[1], dimensions[2])

    W1 = np.reshape(params[ofs:ofs + Dx * H], (Dx, H))
    ofs += Dx * H
    b1 = np.reshape(params[ofs:ofs + H], (1, H))
    ofs += H
    W2 = np.reshape(params[ofs:ofs + H * Dy], (H, Dy))
    ofs += H * Dy
    b2 = np.reshape(params[ofs:ofs + Dy], (1, Dy))

    # Note: compute cost based on `sum` not `mean`.
    ### YOUR CODE HERE: forward propagation
    hidden, out = _forward(X, W1, b1, W2, b2)
    cost = _cross_entropy(out, labels)
    if DEBUG:
        print("X", X.shape, "hidden", hidden.shape, "out", out.shape,
              "cost", cost)
    ### END YOUR CODE

    ### YOUR CODE HERE: backward propagation
    # go from the output back to the input
    delta_out = out - labels                                  # dCE/dz2
    delta_hid = (delta_out @ W2.T) * sigmoid_grad(hidden)     # dCE/dz1

    gradW1 = X.T @ delta_hid
    gradb1 = delta_hid.sum(axis=0, keepdims=True)
    gradW2 = hidden.T @ delta_out
    gradb2 = delta_out.sum(axis=0, keepdims=True)
    ### END YOUR CODE

    ### Stack gradients (do not modify)
    grad = np.concatenate((gradW1.flatten(), gradb1.flatten(),
                           gradW2.flatten(), gradb2.flatten()))

    return cost, grad


def sanity_check():
    """Gradient-check forward_backward_prop on a small random problem."""
    print("Running sanity check...")

    N = 20
    dimensions = [10, 5, 10]
    data = np.random.randn(N, dimensions[0])   # each row is an example
    labels = np.zeros((N, dimensions[2]))
    for i in range(N):
        labels[i, random.randint(0, dimensions[2] - 1)] = 1

    params = np.random.randn((dimensions[0] + 1) * dimensions[1] + (
        dimensions[1] + 1) * dimensions[2], )

    gradcheck_naive(lambda params:
                    forward_backward_prop(data, labels, params, dimensions),
                    params)


def your_sanity_checks():
    """Your own tests go here (optional, not graded)."""
    print("Running your sanity checks...")
    ### YOUR CODE HERE
    # one single example, H bigger than Dx
    dims = (2, 4, 3)
    x1 = np.random.randn(1, 2)
    y1 = np.array([[0.0, 0.0, 1.0]])
    p = np.random.randn((2 + 1) * 4 + (4 + 1) * 3)
    c, g = forward_backward_prop(x1, y1, p, dims)
    print("cost for one example:", c, "grad size:", g.shape)
    gradcheck_naive(lambda q: forward_backward_prop(x1, y1, q, dims), p)
    ### END YOUR CODE


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
