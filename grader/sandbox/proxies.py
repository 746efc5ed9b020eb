"""Argument proxies: what the grader hands to student code, evaluated in the grading process.

One kind today, the cost: a student's gradient checker ``checker(f, x)`` receives ``f`` as an
opaque callable (wire.FunctionSpec -> a handle in the worker) that calls back here with x. The
cost families are a registry (``COSTS``, extended with :func:`register_cost`: an assignment's
plug-in adds its own), each with its way of drawing hidden coefficients (``DRAWS``).

A check names one of these (with parameters); the student's checker receives
an opaque proxy that calls back to the grader with x and a number drawn from
the child's ``random`` module (the state the checker saves and restores), so
nothing in the child tells which cost it is or where its gradient is wrong.
Each entry returns ``f(x, r) -> (cost, grad)`` with ``grad`` of x's shape and
the cost a numpy scalar, as every cost of the course is (checkers read ``cost.shape``).
``wrong_at`` (a flat index), ``wrong_by`` (relative) and ``wrong_as`` (too_large,
too_small or flipped) put a deliberate error into one gradient element.

Each family has hidden coefficients, drawn per case by :func:`draw` in the
grading process: a centre and a curvature or weight per element, and
an offset. One value of the cost then says nothing about its gradient
(``sum(x**2)`` did: the gradient was ``2 * f(x) / sum(x**2) * x``); only
differences of its values do, which is what a checker is for. The forms stay
separable (the gradient's element i depends on x[i] only), as the plain ones
were: a checker that leaves x[j] moved by h is judged on x, not on a coupling.
What each check aims at stays in every draw: a quadratic has no third derivative
(a centered difference is exact, a one-sided one is off by ``curvature * h / 2``,
which fails at 1e-5 on every element), a cubic's third derivative is
``6 * scale * weight`` (the centered difference's error ``scale * weight * h**2``
relative to its gradient does not depend on the weight), and one element of a
cubic's x lies near its centre, where the gradient is near 0 and a step other
than 1e-4 shows (unless the cubic is scaled up: there the handout's own step is not
accurate enough near 0). Without hidden coefficients (``draw`` not used) each family is
its plain form: ``sum(x**2) / 2``, ``scale * sum(x**3)``, ``(0.5 + r) * sum(x**2)``.
"""
import random

import numpy as np


def perturb(grad, params):
    """``grad`` as an array of x's shape, wrong at ``wrong_at`` if asked: by ``wrong_by`` (relative)
    too large or too small (``wrong_as``), or with its sign flipped (the grader puts a flip where the
    gradient is far from 0, so that a correct checker sees it)."""
    grad = np.array(grad, dtype=np.float64)   # a 0-d x gives a numpy scalar: make it an array to change
    wrong_at = params.get("wrong_at")
    if wrong_at is not None and grad.size:
        flat = grad.reshape(-1)
        k = int(wrong_at) % flat.size     # a checker may call f on another shape than the case's x
        how = params.get("wrong_as", "too_large")
        if how == "flipped":
            flat[k] = -flat[k]
        else:
            flat[k] += (-1.0 if how == "too_small" else 1.0) * params.get("wrong_by", 1e-2) * max(1.0, abs(flat[k]))
    return grad


def _fit(value, x):
    """A hidden coefficient (a scalar, or one per element of the case's x) for the elements of ``x``.

    A checker may call f on another shape than the x it was given: the coefficients
    repeat along its elements, so every input has a cost and nothing raises here.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return arr
    return np.resize(arr.reshape(-1), x.size).reshape(x.shape)


def _coefficients(params, defaults):
    """``at(x)``: the hidden coefficients named in ``defaults`` fitted to x's shape (once per shape:
    a checker calls its cost twice per element, and the grader answers every call)."""
    fitted = {}

    def at(x):
        found = fitted.get(x.shape)
        if found is None:
            found = [_fit(params.get(name, default), x) for name, default in defaults]
            if len(fitted) < 16:
                fitted[x.shape] = found
        return found

    return at


def quadratic(params):
    """``0.5 * sum(a * (x - c)^2) + offset``, gradient ``a * (x - c)`` (plain: sum(x^2) / 2): no third derivative."""
    coefficients = _coefficients(params, (("center", 0.0), ("curvature", 1.0)))
    offset = float(params.get("offset", 0.0))

    def f(x, r=None):
        x = np.asarray(x, dtype=np.float64)
        center, curvature = coefficients(x)
        d = x - center
        grad = curvature * d
        return np.float64(0.5 * np.dot(grad.ravel(), d.ravel()) + offset), perturb(grad, params)

    return f


def cubic(params):
    """``scale * (sum(w * (x - c)^3 + a * (x - c)^2 / 2) + offset)`` (plain: scale * sum(x^3)).

    A one-sided difference is off by about ``3 * scale * w * (x - c) * h``; a centered one
    by ``scale * w * h^2``.
    """
    coefficients = _coefficients(params, (("center", 0.0), ("weight", 1.0), ("curvature", 0.0)))
    scale, offset = float(params.get("scale", 1.0)), float(params.get("offset", 0.0))

    def f(x, r=None):
        x = np.asarray(x, dtype=np.float64)
        center, weight, curvature = coefficients(x)
        d = x - center
        cube, square = weight * d * d, curvature * d   # (the cube's gradient over 3, the square's)
        cost = np.dot(cube.ravel(), d.ravel()) + 0.5 * np.dot(square.ravel(), d.ravel()) + offset
        return np.float64(scale * cost), perturb(scale * (3.0 * cube + square), params)

    return f


def random_cost(params):
    """cost = (0.5 + r) * a quadratic form (plain: sum(x^2)), r drawn from the student's ``random`` at each call.

    Comparable only when the checker resets the random state before every call.
    """
    coefficients = _coefficients(params, (("center", 0.0), ("curvature", 2.0)))
    offset = float(params.get("offset", 0.0))

    def f(x, r=None):
        r = 0.5 + (random.random() if r is None else float(r))
        x = np.asarray(x, dtype=np.float64)
        center, curvature = coefficients(x)
        d = x - center
        grad = curvature * d
        return np.float64(r * (0.5 * np.dot(grad.ravel(), d.ravel()) + offset)), perturb(r * grad, params)

    return f


# family name -> fn(params) -> f(x, r) -> (cost, grad); name -> draw(rng, x, scale) -> params
COSTS = {"quadratic": quadratic, "cubic": cubic, "random_cost": random_cost}
DRAWS = {}


def register_cost(name, draw=None):
    """Register ``family(params) -> f(x, r)`` as the cost family ``name`` (``fn: NAME`` in a gradient
    checker's check); ``draw(rng, x, scale) -> params`` draws one case's hidden coefficients. A family
    returns its gradient through :func:`perturb`, which puts in the error a check asks for."""

    def deco(family):
        if COSTS.get(name, family) is not family:
            raise ValueError("cost family %r registered twice" % name)
        COSTS[name] = family
        if draw is not None:
            DRAWS[name] = draw
        return family

    return deco


def draw(name, rng, x, scale=1.0):
    """Hidden coefficients of one case of the family ``name`` at the point ``x``, from ``rng``.

    The ranges keep what each check aims at in every draw (see the module's text): a
    quadratic's curvature of at least 0.5 makes a one-sided difference fail on every
    element; a cubic's centre is at most 0.2 (x - c stays away from 0 on [1, 2]) except at
    one element drawn at random (not the last), whose centre is within 0.05 of x there (for a
    ``scale`` of at most 1 in size: the centered difference's error ``scale * h**2``
    must stay below 1e-5 where the gradient is near 0); a positive
    offset keeps a random cost's value away from 0 (so a random state that is not
    restored shows). The rng is the check's own, seeded per submission and course.
    """
    if name in DRAWS:
        return DRAWS[name](rng, x, scale)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = max(1, x.size)
    if name == "cubic":
        center = rng.uniform(0.0, 0.2, n)
        if x.size and abs(scale) <= 1.0:
            k = int(rng.integers(max(1, x.size - 1)))   # not the last: a checker that stops there made every call
            center[k] = x[k] + rng.uniform(-0.05, 0.05)
        return {"center": center, "weight": rng.uniform(0.5, 2.0, n), "curvature": rng.uniform(0.0, 0.2, n),
                "offset": float(rng.uniform(-2.0, 2.0) * n)}
    low = 1.0 if name == "random_cost" else 0.5
    return {"center": rng.uniform(-0.5, 0.5, n), "curvature": rng.uniform(low, 4 * low, n),
            "offset": float(rng.uniform(0.5, 2.0) * n)}


def build(name, params, log=None, max_log=400):
    """Build the named cost ``f(x, r=None)``; when ``log`` is a list, append a copy of x at each call."""
    inner = COSTS[name](params)

    def f(x, r=None):
        x = np.array(x, dtype=np.float64, copy=True)   # ours: the catalogue's costs never change x
        if log is not None and len(log) < max_log:
            log.append(x)
        return inner(x, r)

    return f
