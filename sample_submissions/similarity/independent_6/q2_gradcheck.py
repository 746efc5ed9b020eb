import random

import numpy as np


def gradcheck_naive(f, x):
    """Check the analytic gradient of f against a numerical estimate.

    Arguments:
    f -- a function that takes a single numpy array and returns a tuple
         (cost, grad): the scalar value of f and its gradient at that
         point.
    x -- the point (a numpy array) at which to check the gradient.

    Estimate each partial derivative with the centered difference
        (f(x + h) - f(x - h)) / (2h)
    one coordinate at a time. Some cost functions use the random module
    (e.g. for sampling), so restore the saved random state before EVERY
    call to f so that the calls are comparable. Put x[ix] back to its
    original value after you perturb it.

    If a coordinate fails, print a message and return right away;
    otherwise print "Gradient check passed!" at the end.
    """

    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)  # value and gradient at the original point
    h = 1e-4         # do not change this step size

    # Visit every index of x, whatever its shape.
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index

        # Compute numgrad, the numerical estimate of the gradient at ix.
        # Call random.setstate(rndstate) right before each call to f.
        ### YOUR CODE HERE
        xi = x[ix].copy()

        def cost_with_offset(delta):
            x[ix] = xi + delta
            random.setstate(rndstate)
            return f(x)[0]

        numgrad = (cost_with_offset(h) - cost_with_offset(-h)) / (2 * h)
        x[ix] = xi   # restore the original entry
        ### END YOUR CODE

        # Compare the two gradients.
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index %s" % str(ix))
            print("Your gradient: %f \t Numerical gradient: %f" % (
                grad[ix], numgrad))
            return

        it.iternext()  # go to the next index

    print("Gradient check passed!")


def sanity_check():
    """Run gradcheck_naive on a few easy functions."""
    quad = lambda x: (np.sum(x ** 2), x * 2)

    print("Running sanity checks...")
    gradcheck_naive(quad, np.array(123.456))       # scalar
    gradcheck_naive(quad, np.random.randn(3,))     # 1-D
    gradcheck_naive(quad, np.random.randn(4, 5))   # 2-D
    print("")


def your_sanity_checks():
    """Your own tests go here (optional, not graded)."""
    print("Running your sanity checks...")
    ### YOUR CODE HERE
    raise NotImplementedError
    ### END YOUR CODE


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
