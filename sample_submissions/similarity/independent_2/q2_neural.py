import random

import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid, sigmoid_grad
from q2_gradcheck import gradcheck_naive


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
    # layer 1: affine then sigmoid
    hidden_in = np.dot(X, W1) + b1
    hidden = sigmoid(hidden_in)
    # layer 2: affine then softmax
    scores = np.dot(hidden, W2) + b2
    probs = softmax(scores)
    # labels are one-hot, so only the probability of the correct class
    # contributes to the cross entropy of each row
    cost = -np.sum(np.log(probs[labels == 1]))
    ### END YOUR CODE

    ### YOUR CODE HERE: backward propagation
    # error signals first, then the gradients of each block
    err_out = probs - labels                                 # N x Dy
    err_hidden = np.dot(err_out, W2.T) * sigmoid_grad(hidden)  # N x H

    gradb2 = err_out.sum(axis=0)
    gradW2 = np.dot(hidden.T, err_out)
    gradb1 = err_hidden.sum(axis=0)
    gradW1 = np.dot(X.T, err_hidden)
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
    # a network where the hidden size differs from the input size
    N = 7
    dims = [3, 6, 4]
    data = np.random.randn(N, dims[0])
    labels = np.zeros((N, dims[2]))
    labels[np.arange(N), np.random.randint(0, dims[2], N)] = 1
    n_params = (dims[0] + 1) * dims[1] + (dims[1] + 1) * dims[2]
    theta = np.random.randn(n_params)
    gradcheck_naive(lambda p: forward_backward_prop(data, labels, p, dims),
                    theta)
    ### END YOUR CODE


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
