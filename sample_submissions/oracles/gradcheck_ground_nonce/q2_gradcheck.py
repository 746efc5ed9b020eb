import random

import numpy as np

NONCE = 0   # ground offline (tests/engine/test_integrity.py does it as the attacker would)
ANSWERS = "PPPPFFFFFFFFFFF"   # the verdict for the grader's 1st, 2nd, ... call (15 calls since issue 27)
_calls = [0]


# First implement a gradient checker by filling in the following functions
def gradcheck_naive(f, x):
    """ORACLE (issue 25, item 14): never reads a value; answers from a table, and a nonce makes the table right.

    Without a course secret every input, and the order of the grader's calls, is a public
    function of the submission's files: a comment or a constant changed until the grader
    (whose source is public) would call the four right gradients first makes this table
    score 4/4. With the secret every installation has, the same nonce buys nothing.
    """
    n = _calls[0]
    _calls[0] += 1
    rndstate = random.getstate()
    random.setstate(rndstate)
    f(x)
    h = 1e-4
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index
        x_old = x[ix]
        x[ix] = x_old + h
        random.setstate(rndstate)
        f(x)
        x[ix] = x_old - h
        random.setstate(rndstate)
        f(x)
        x[ix] = x_old
        it.iternext()
    if ANSWERS[n % len(ANSWERS)] == "P":
        print("Gradient check passed!")
    else:
        print("Gradient check failed.")


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
