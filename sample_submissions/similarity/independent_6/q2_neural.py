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
    pre_hidden = np.einsum('nd,dh->nh', X, W1) + b1
    act = sigmoid(pre_hidden)
    logits = np.einsum('nh,hk->nk', act, W2) + b2
    probs = softmax(logits)
    true_class = labels.astype(bool)
    cost = -np.log(probs[true_class]).sum()
    ### END YOUR CODE

    ### YOUR CODE HERE: backward propagation
    g_logits = probs - labels                        # softmax + CE
    gradb2 = g_logits.sum(0)
    gradW2 = np.einsum('nh,nk->hk', act, g_logits)
    g_act = np.einsum('nk,hk->nh', g_logits, W2)      # back through W2
    g_pre = g_act * sigmoid_grad(act)               # back through sigmoid
    gradb1 = g_pre.sum(0)
    gradW1 = np.einsum('nd,nh->dh', X, g_pre)
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
    print("gradient check with H != Dx and N = 3")
    dims = [4, 2, 5]
    data = np.random.randn(3, 4)
    labels = np.eye(5)[[0, 4, 2]]
    w = np.random.randn(5 * 2 + 3 * 5)
    gradcheck_naive(lambda w: forward_backward_prop(data, labels, w, dims), w)
    ### END YOUR CODE


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
