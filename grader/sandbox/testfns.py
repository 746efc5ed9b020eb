"""Costs that the child builds for checking a student's ``gradcheck_naive(f, x)``.

The grader names one of these (with parameters) in a call; the child builds it
from this catalogue, so no code crosses the wire. Each ``make_*`` returns
``f(x) -> (cost, grad)`` with ``grad`` of x's shape. ``wrong_at`` (a flat index)
and ``wrong_by`` (relative) put a deliberate error into one gradient element.
Shared by the child (to build them) and by tests (to know what they compute).
"""
import random

import numpy as np


def _perturb(grad, params):
    wrong_at = params.get("wrong_at")
    if wrong_at is not None:
        flat = grad.reshape(-1)
        flat[int(wrong_at)] += params.get("wrong_by", 1e-2) * max(1.0, abs(flat[int(wrong_at)]))
    return grad


def quadratic(params):
    """cost = sum(x^2) / 2: the gradient is x (no curvature beyond the second order)."""

    def f(x):
        return float(np.sum(x * x) / 2.0), _perturb(np.array(x, dtype=np.float64), params)

    return f


def cubic(params):
    """cost = scale * sum(x^3): a one-sided difference is off by about 3 * scale * x * h."""
    scale = float(params.get("scale", 1.0))

    def f(x):
        x = np.asarray(x, dtype=np.float64)
        return float(scale * np.sum(x ** 3)), _perturb(3.0 * scale * x * x, params)

    return f


def random_cost(params):
    """cost = r * sum(x^2) with r drawn from ``random`` at each call.

    Comparable only when the checker resets the random state before every call.
    """

    def f(x):
        r = 0.5 + random.random()
        x = np.asarray(x, dtype=np.float64)
        return float(r * np.sum(x * x)), _perturb(2.0 * r * x, params)

    return f


CATALOGUE = {"quadratic": quadratic, "cubic": cubic, "random_cost": random_cost}


def build(name, params, log=None, max_log=400):
    """Build the named cost; when ``log`` is a list, append a copy of x at each call."""
    inner = CATALOGUE[name](params)

    def f(x):
        if log is not None and len(log) < max_log:
            log.append(np.array(x, dtype=np.float64, copy=True))
        return inner(x)

    return f
