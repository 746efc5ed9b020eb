import random

import numpy as np


# First implement a gradient checker by filling in the following functions
def gradcheck_naive(f, x):
    """ Gradient check for a function f.

    Arguments:
    f -- a function that takes a single argument and outputs the
         cost and its gradients
    x -- the point (numpy array) to check the gradient at
    """

    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)  # Evaluate function value at original point
    h = 1e-4        # Do not change this!

    # Iterate over all indexes ix in x to check the gradient.
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index

        x_old = x[ix]

        x[ix] = x_old + h
        random.setstate(rndstate)
        f_plus = f(x)[0]

        x[ix] = x_old - h
        random.setstate(rndstate)
        f_minus = f(x)[0]

        x[ix] = x_old
        numgrad = (f_plus - f_minus) / (2 * h)

        # Compare gradients
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index " + str(ix))
            print("Your gradient: %f \t Numerical gradient: %f" % (
                grad[ix], numgrad))
            return

        it.iternext()  # Step to next dimension

    print("Gradient check passed!")


def sanity_check():
    """
    Some basic sanity checks.
    """
    quad = lambda x: (np.sum(x ** 2), x * 2)

    print("Running sanity checks...")
    gradcheck_naive(quad, np.array(123.456))      # scalar test
    gradcheck_naive(quad, np.random.randn(3,))    # 1-D test
    gradcheck_naive(quad, np.random.randn(4, 5))  # 2-D test
    print("")


def your_sanity_checks():
    """
    Use this space add any additional sanity checks by running:
        python q2_gradcheck.py
    """
    print("Running your sanity checks...")
    cube = lambda x: (np.sum(x ** 3), 3 * x ** 2)
    gradcheck_naive(cube, np.random.randn(3, 4))

    def noisy(x):
        # cost that uses the random module
        c = random.random()
        return c * np.sum(x ** 2), c * 2 * x
    gradcheck_naive(noisy, np.random.randn(5))

    print("This one should fail:")
    gradcheck_naive(lambda x: (np.sum(x ** 2), x), np.random.randn(3))


if __name__ == "__main__":
    sanity_check()
    your_sanity_checks()
