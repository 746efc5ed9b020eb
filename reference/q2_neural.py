"""Reference solution for question 2g: forward and backward pass of a two-layer network."""
import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid, sigmoid_grad
from q2_gradcheck import gradcheck_naive


def forward_backward_prop(X, labels, params, dimensions):
    """Cost (summed over the batch) and its gradient for one sigmoid hidden layer.

    Rows of X are examples; labels are one-hot rows. params packs W1 (Dx x H),
    b1 (1 x H), W2 (H x Dy), b2 (1 x Dy), each row-major; the gradient is packed
    the same way.
    """
    ofs = 0
    Dx, H, Dy = (dimensions[0], dimensions[1], dimensions[2])

    W1 = np.reshape(params[ofs:ofs + Dx * H], (Dx, H))
    ofs += Dx * H
    b1 = np.reshape(params[ofs:ofs + H], (1, H))
    ofs += H
    W2 = np.reshape(params[ofs:ofs + H * Dy], (H, Dy))
    ofs += H * Dy
    b2 = np.reshape(params[ofs:ofs + Dy], (1, Dy))

    h = sigmoid(X.dot(W1) + b1)
    yhat = softmax(h.dot(W2) + b2)
    # The softmax output underflows to 0 only where its label is 0, so the
    # picked probabilities stay positive; the clip guards the pathological case.
    picked = np.sum(yhat * labels, axis=1)
    cost = -np.sum(np.log(np.maximum(picked, np.finfo(np.float64).tiny)))

    delta2 = yhat - labels
    gradW2 = h.T.dot(delta2)
    gradb2 = np.sum(delta2, axis=0, keepdims=True)
    delta1 = delta2.dot(W2.T) * sigmoid_grad(h)
    gradW1 = X.T.dot(delta1)
    gradb1 = np.sum(delta1, axis=0, keepdims=True)

    grad = np.concatenate((gradW1.flatten(), gradb1.flatten(),
                           gradW2.flatten(), gradb2.flatten()))
    return cost, grad


def cross_entropy_grad(theta, labels):
    """Gradient of CE(labels, softmax(theta)) wrt theta, row-wise: yhat - labels (2b)."""
    return softmax(theta) - labels


def sanity_check():
    """The starter's network check: N = 20, dimensions [10, 5, 10]."""
    N = 20
    dimensions = [10, 5, 10]
    data = np.random.randn(N, dimensions[0])
    labels = np.zeros((N, dimensions[2]))
    for i in range(N):
        labels[i, np.random.randint(0, dimensions[2] - 1)] = 1
    params = np.random.randn((dimensions[0] + 1) * dimensions[1] + (dimensions[1] + 1) * dimensions[2])
    gradcheck_naive(lambda p: forward_backward_prop(data, labels, p, dimensions), params)


if __name__ == "__main__":
    sanity_check()
