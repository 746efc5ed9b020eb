"""One gate for every value a student's function returns.

A student's function can return anything: None, text, an object the sandbox
only names (:class:`~grader.sandbox.wire.Opaque`), a 0-d, empty, huge or 2-D
array where a vector is expected, complex or non-finite numbers, a tuple of the
wrong length. Checks, adapters and diagnosis read returned values through this
module only, so none of them raises on one: a value that does not fit becomes a
failing :class:`CheckResult` whose one-line message says, in the student's
terms, what came back instead of what was expected, e.g.
"layer_loss returned grad of shape () instead of (115,)".

Contract: :func:`problem`, :func:`numbers`, :func:`describe`,
:func:`check_return` and :func:`mismatch` never raise, whatever ``value`` is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import numpy as np

from ..sandbox.wire import Opaque
from .base import CheckResult
from .numeric import index_list, short


@dataclass(frozen=True)
class Array:
    """Expect real numbers (lists and numpy scalars count), of ``shape`` unless it is None,
    all finite if ``finite``."""

    shape: Optional[Tuple[int, ...]] = None
    finite: bool = False


@dataclass(frozen=True)
class CostGrad:
    """Expect a pair (cost, grad): cost one real number (nan and inf included: judging the
    cost's value is the checks' business), grad real numbers of shape (n_params,).
    With ``cost=False`` the cost is not looked at (an adapter that reads only grad)."""

    n_params: int
    cost: bool = True


Expected = Union[Array, CostGrad]


class Unreadable:
    """Stands for a result an adapter could not read out of what the student's function
    returned; ``why`` is the phrase saying so, shown after the adapter's name."""

    def __init__(self, why: str):
        self.why = why

    def __repr__(self) -> str:
        return "<unreadable: %s>" % self.why


def numbers(value: Any) -> Optional[np.ndarray]:
    """``value`` as a new float64 array, or None when it is not real numbers
    (None, text, objects, complex numbers, ragged lists, integers beyond float)."""
    if value is None or isinstance(value, (str, bytes, Opaque, Unreadable)):
        return None
    try:
        arr = np.asarray(value)
        # 'b' included: numpy's booleans have always been accepted as 0/1.
        return arr.astype(np.float64) if arr.dtype.kind in "biuf" else None
    except Exception:  # noqa: BLE001 - a ragged list, a hostile __array__: not numbers
        return None


def describe(value: Any) -> str:
    """What came back, briefly and in the student's terms: 'None', "the text 'abc'",
    'a tuple of 3 items', 'complex numbers [1.+2.j]', 'an array of shape (2, 3)'."""
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        return "a %s (%s)" % (value.type_name, " ".join(value.text.split())[:60])
    if isinstance(value, (str, bytes)):
        return "the text %s" % short(value, 40)
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (complex, np.complexfloating)) or (
            isinstance(value, np.ndarray) and value.dtype.kind == "c"):
        return "complex numbers %s" % short(np.asarray(value), 50)
    if isinstance(value, np.ndarray):
        return "an array of shape %s and dtype %s" % (value.shape, value.dtype)
    if isinstance(value, (tuple, list)):
        return "a %s of %d item%s" % (type(value).__name__, len(value), "" if len(value) == 1 else "s")
    if isinstance(value, np.number):
        return short(value.item(), 40)
    if isinstance(value, (int, float)):
        return short(value, 40)
    try:
        return "a %s (%s)" % (type(value).__name__, short(value, 60))
    except Exception:  # noqa: BLE001 - an object whose repr fails (in-process stand-ins only)
        return "a %s" % type(value).__name__


def _array_problem(value: Any, want: Array) -> Optional[str]:
    arr = numbers(value)
    shape = None if want.shape is None else tuple(want.shape)
    if arr is None:
        return "returned %s instead of %s" % (describe(value), "an array of numbers" if shape is None
                                               else "an array of shape %s" % (shape,))
    if shape is not None and arr.shape != shape:
        if arr.ndim == 0:
            return "returned one number, %s, instead of an array of shape %s" % (short(float(arr)), shape)
        return "returned an array of shape %s instead of shape %s" % (arr.shape, shape)
    if want.finite and not np.all(np.isfinite(arr)):
        return "returned %s, which contains nan or inf" % short(arr)
    return None


def _pair_problem(value: Any, want: CostGrad) -> Optional[str]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return "returned %s instead of a pair (cost, grad)" % describe(value)
    cost, grad = value
    if want.cost:
        c = numbers(cost)
        if c is None:
            return "returned %s as cost instead of one number" % describe(cost)
        if c.size != 1:   # a (1,) or (1, 1) cost (np.matrix arithmetic) is still one number
            return "returned cost of shape %s instead of one number" % (c.shape,)
    g = numbers(grad)
    if g is None:
        return "returned %s as grad instead of an array of shape (%d,)" % (describe(grad), want.n_params)
    if g.size != want.n_params or (g.ndim > 1 and sorted(g.shape)[:-1] != [1] * (g.ndim - 1)):
        # A (1, n) or (n, 1) grad (np.matrix arithmetic, as real solutions write it) holds the
        # same numbers in the same order; anything else does not.
        return "returned grad of shape %s instead of (%d,)" % (g.shape, want.n_params)
    return None


def problem(value: Any, expected: Expected) -> Optional[str]:
    """None when ``value`` fits ``expected``, else a phrase to follow the function's name
    ("returned None instead of an array of shape (3,)")."""
    if isinstance(value, Unreadable):
        return value.why
    if isinstance(expected, CostGrad):
        return _pair_problem(value, expected)
    return _array_problem(value, expected)


def check_return(value: Any, expected: Expected, who: str) -> Tuple[Any, Optional[CheckResult]]:
    """``(usable, None)`` when ``value`` fits ``expected``, else ``(None, failing CheckResult)``
    whose message is ``who`` (the function, maybe with its arguments) and what was wrong.

    ``usable`` is a float64 array for :class:`Array`, and ``(float cost or None, float64
    grad)`` for :class:`CostGrad`.
    """
    why = problem(value, expected)
    if why is not None:
        return None, CheckResult.fail("%s %s" % (who, why))
    if isinstance(expected, CostGrad):
        cost = float(numbers(value[0]).reshape(-1)[0]) if expected.cost else None
        return (cost, numbers(value[1]).reshape(-1)), None
    return numbers(value), None


def mismatch(got: Any, expected: Any, rtol: float, atol: float) -> Optional[str]:
    """None when ``got`` matches ``expected`` (shape and values), else why not, in one phrase."""
    expected = np.asarray(expected, dtype=np.float64)
    why = problem(got, Array(expected.shape))
    if why is not None:
        return why
    arr = numbers(got)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(expected)):
        return "returned %s: it contains nan or inf, expected %s" % (short(arr), short(expected))
    close = np.isclose(arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    diff = np.where(close, 0.0, np.abs(arr - expected))
    worst = np.unravel_index(int(np.argmax(diff)), arr.shape) if arr.ndim else ()
    return "returned %s, expected %s (worst at %s: %.6g vs %.6g; rtol %g, atol %g)" % (
        short(arr), short(expected), index_list(worst), arr[worst], expected[worst], rtol, atol)
