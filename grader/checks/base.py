"""What every check kind shares: the result type, the registry and option defaults.

A check kind is one function registered with :func:`register`:

    @register("values", defaults={"rtol": ..., "cases": []})
    def values(student, reference, opts, rng) -> CheckResult: ...

``student`` calls the student's function in the sandbox (a
:class:`grader.sandbox.student.StudentCallable`), ``reference`` is the reference function,
run in the grading process, ``opts`` the check's options (the kind's defaults
overridden by the rubric) and ``rng`` a ``numpy.random.Generator`` seeded from the
rubric seed, the part id and the check id.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

# Options every check accepts, whatever its kind. The values here are the one
# place these defaults live; a rubric's top-level `options:` overrides them.
COMMON_DEFAULTS: Dict[str, Any] = {
    "rtol": 1e-6,        # relative tolerance for value comparisons
    "atol": 1e-8,        # absolute tolerance for value comparisons
    "grad_tol": 1e-6,    # |a - n| / max(1, |a|, |n|) bound for gradient checks
}


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: the fraction of its points earned and why.

    ``message`` is one line in the student's terms: what was expected, what came
    back (shortened), on which input, with which tolerance. ``details`` holds
    machine-readable facts (worst element, block, ...); it must be JSON-able.
    """

    fraction: float
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0

    @classmethod
    def ok(cls, message: str, **details: Any) -> "CheckResult":
        return cls(1.0, message, details)

    @classmethod
    def fail(cls, message: str, fraction: float = 0.0, **details: Any) -> "CheckResult":
        return cls(max(0.0, min(1.0, fraction)), message, details)


CheckFn = Callable[..., CheckResult]


@dataclass(frozen=True)
class CheckKind:
    name: str
    fn: CheckFn
    defaults: Mapping[str, Any]
    # For a kind that times the student against a numpy baseline: (the baseline's name, the shapes of
    # the inputs it will time), from its options, so that the yardstick is measured before any
    # student code is loaded (workers.Sandbox.premeasure).
    yardstick: Optional[Callable[[Mapping[str, Any]], Tuple[str, List[Tuple[int, ...]]]]] = None
    # For a kind written as a plan (register_plan): plan(opts, rng) -> (calls, judge). The runner
    # runs the calls of all of a part's plans interleaved in a seeded order (runner.run_checks).
    plan: Optional[Callable[..., Any]] = None

    def options(self) -> Dict[str, Any]:
        """Every option this kind accepts, with its default."""
        merged = dict(COMMON_DEFAULTS)
        merged.update(self.defaults)
        return merged


REGISTRY: Dict[str, CheckKind] = {}


def quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with numpy's floating-point warnings off.

    A student's nan or inf (inf - inf in a finite difference, nan @ d) is judged
    by value and named in the check's message; printed as a RuntimeWarning it
    would be the grader talking on stderr about the student's values.
    """

    @functools.wraps(fn)
    def quieted(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return quieted


def register(name: str, defaults: Mapping[str, Any] | None = None,
             yardstick: Optional[Callable[[Mapping[str, Any]], Tuple[str, List[Tuple[int, ...]]]]] = None,
             plan: Optional[Callable[..., Any]] = None) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check kind ``name`` with its own option defaults.

    The registry holds ``fn`` made :func:`quiet`; the module keeps ``fn`` itself.
    ``yardstick`` (kinds that time the student): see :attr:`CheckKind.yardstick`;
    ``plan``: see :func:`register_plan`.
    """

    def deco(fn: CheckFn) -> CheckFn:
        same = name in REGISTRY and (getattr(REGISTRY[name].fn, "__wrapped__", None) is fn or plan is not None
                                     and getattr(REGISTRY[name].plan, "__wrapped__", None) is plan)
        if name in REGISTRY and not same:
            raise ValueError(f"check kind {name!r} registered twice")
        REGISTRY[name] = CheckKind(name, quiet(fn), dict(defaults or {}), yardstick,
                                   quiet(plan) if plan is not None else None)
        return fn

    return deco


@dataclass(frozen=True)
class Call:
    """One call of the student's function that a plan asks for: its arguments (arrays are
    passed as copies) and whether the arguments are wanted back as the call left them."""

    args: Tuple[Any, ...]
    keep_args: bool = False

    def run(self, student: Any) -> Any:
        """The call's record (process.CallRecord): a failure is a record, never an exception."""
        return student.run(*[a.copy() if isinstance(a, np.ndarray) else a for a in self.args],
                           keep_args=self.keep_args)


def register_plan(name: str, defaults: Mapping[str, Any] | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Register a check kind written as a plan: ``plan(opts, rng) -> (calls, judge)``.

    ``calls`` lists the :class:`Call` s the check needs, drawn from ``rng`` before any
    is made; ``judge(records, name)`` gets their records in the same order (and the
    student function's name) and returns the :class:`CheckResult`. The check's
    verdict can then follow only from what the calls returned, never from when they
    were made: the runner interleaves the calls of a part's plans in a seeded order
    (runner.run_checks). Run on its own (``REGISTRY[name].fn``), a plan's calls are made
    in its own order.
    """

    def deco(plan: Callable[..., Any]) -> Callable[..., Any]:
        def fn(student: Any, reference: Any, opts: Mapping[str, Any], rng: Any) -> CheckResult:
            calls, judge = plan(opts, rng)
            return judge([call.run(student) for call in calls], student.name)

        fn.__name__, fn.__doc__ = plan.__name__, plan.__doc__
        register(name, defaults, plan=plan)(fn)
        return plan

    return deco
