"""Reference solution for question 2f: a naive centered-difference gradient checker."""
import random

import numpy as np


def gradcheck_naive(f, x):
    """Check f's analytic gradient at x against centered differences.

    f(x) returns (cost, grad). The random state is reset before every call of f so
    costs that draw from `random` are comparable. Prints "Gradient check failed."
    and returns at the first coordinate whose relative error exceeds 1e-5, else
    prints "Gradient check passed!". x is restored exactly.
    """
    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)
    h = 1e-4

    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        random.setstate(rndstate)
        fplus = f(x)[0]
        x[ix] = old - h
        random.setstate(rndstate)
        fminus = f(x)[0]
        x[ix] = old
        numgrad = (fplus - fminus) / (2 * h)

        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index %s" % str(ix))
            print("Your gradient: %f \t Numerical gradient: %f" % (grad[ix], numgrad))
            return
        it.iternext()

    print("Gradient check passed!")
