import random

import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid, sigmoid_grad
from q2_gradcheck import gradcheck_naive

print("q2_neural: using numpy " + np.__version__)


def forward_backward_prop(X, labels, params, dimensions):
    """
    Forward and backward propagation for a two-layer sigmoidal network

    Compute the forward propagation and for the cross entropy cost,
    the backward propagation for the gradients for all parameters.

    Notice the gradients computed here are different from the gradients in
    the assignment sheet: they are w.r.t. weights, not inputs.

    Arguments:
    X -- M x Dx matrix, where each row is a training example x.
    labels -- M x Dy matrix, where each row is a one-hot vector.
    params -- Model parameters, these are unpacked for you.
    dimensions -- A tuple of input dimension, number of hidden units
                  and output dimension
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
    M = X.shape[0]
    z1 = X.dot(W1) + b1            # M x H
    h = sigmoid(z1)                # M x H
    z2 = h.dot(W2) + b2            # M x Dy
    yhat = softmax(z2)             # M x Dy

    target = np.argmax(labels, axis=1)
    cost = -np.sum(np.log(yhat[np.arange(M), target]))
    ### END YOUR CODE

    ### YOUR CODE HERE: backward propagation
    delta2 = yhat - labels                          # M x Dy
    gradW2 = h.T.dot(delta2)                        # H x Dy
    gradb2 = np.sum(delta2, axis=0)                 # Dy
    delta1 = delta2.dot(W2.T) * sigmoid_grad(h)     # M x H
    gradW1 = X.T.dot(delta1)                        # Dx x H
    gradb1 = np.sum(delta1, axis=0)                 # H
    ### END YOUR CODE

    ### Stack gradients (do not modify)
    grad = np.concatenate((gradW1.flatten(), gradb1.flatten(),
        gradW2.flatten(), gradb2.flatten()))

    return cost, grad


def make_random_problem(N, dimensions):
    """Random data, one-hot labels and parameters for the checks below."""
    data = np.random.randn(N, dimensions[0])
    labels = np.zeros((N, dimensions[2]))
    for i in range(N):
        labels[i, random.randint(0, dimensions[2] - 1)] = 1
    n_params = (dimensions[0] + 1) * dimensions[1] + (dimensions[1] + 1) * dimensions[2]
    params = np.random.randn(n_params)
    return data, labels, params


def sanity_check():
    """
    Set up fake data and parameters for the neural network, and test using
    gradcheck.
    """
    print("Running sanity check...")

    N = 20
    dimensions = [10, 5, 10]
    data, labels, params = make_random_problem(N, dimensions)

    gradcheck_naive(lambda params:
        forward_backward_prop(data, labels, params, dimensions), params)


def your_sanity_checks():
    """
    Use this space add any additional sanity checks by running:
        python q2_neural.py
    """
    print("Running your sanity checks...")
    for dims in ([3, 7, 4], [6, 2, 5]):
        data, labels, params = make_random_problem(8, dims)
        gradcheck_naive(lambda p:
            forward_backward_prop(data, labels, p, dims), params)


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
