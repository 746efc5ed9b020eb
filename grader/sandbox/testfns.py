"""Costs for checking a student's ``gradcheck_naive(f, x)``, evaluated in the grading process.

A check names one of these (with parameters); the student's checker receives
an opaque proxy that calls back to the grader with x and a number drawn from
the child's ``random`` module (the state the checker saves and restores), so
nothing in the child tells which cost it is or where its gradient is wrong.
Each entry returns ``f(x, r) -> (cost, grad)`` with ``grad`` of x's shape and
the cost a numpy scalar, as every cost of the course is (checkers read ``cost.shape``).
``wrong_at`` (a flat index) and ``wrong_by`` (relative) put a deliberate error
into one gradient element.
"""
import random

import numpy as np


def _perturb(grad, params):
    """``grad`` as an array of x's shape, wrong at ``wrong_at`` by ``wrong_by`` (relative) if asked."""
    grad = np.array(grad, dtype=np.float64)   # a 0-d x gives a numpy scalar: make it an array to change
    wrong_at = params.get("wrong_at")
    if wrong_at is not None:
        flat = grad.reshape(-1)
        flat[int(wrong_at)] += params.get("wrong_by", 1e-2) * max(1.0, abs(flat[int(wrong_at)]))
    return grad


def quadratic(params):
    """cost = sum(x^2) / 2: the gradient is x (no curvature beyond the second order)."""

    def f(x, r=None):
        return np.sum(x * x) / 2.0, _perturb(np.array(x, dtype=np.float64), params)

    return f


def cubic(params):
    """cost = scale * sum(x^3): a one-sided difference is off by about 3 * scale * x * h."""
    scale = float(params.get("scale", 1.0))

    def f(x, r=None):
        x = np.asarray(x, dtype=np.float64)
        return scale * np.sum(x ** 3), _perturb(3.0 * scale * x * x, params)

    return f


def random_cost(params):
    """cost = (0.5 + r) * sum(x^2), r drawn from the student's ``random`` at each call.

    Comparable only when the checker resets the random state before every call.
    """

    def f(x, r=None):
        r = 0.5 + (random.random() if r is None else float(r))
        x = np.asarray(x, dtype=np.float64)
        return r * np.sum(x * x), _perturb(2.0 * r * x, params)

    return f


CATALOGUE = {"quadratic": quadratic, "cubic": cubic, "random_cost": random_cost}


def build(name, params, log=None, max_log=400):
    """Build the named cost ``f(x, r=None)``; when ``log`` is a list, append a copy of x at each call."""
    inner = CATALOGUE[name](params)

    def f(x, r=None):
        x = np.array(x, dtype=np.float64, copy=True)   # ours: the catalogue's costs never change x
        if log is not None and len(log) < max_log:
            log.append(x)
        return inner(x, r)

    return f
