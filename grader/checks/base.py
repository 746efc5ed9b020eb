"""What every check kind shares: the result type, the registry and option defaults.

A check kind is one function registered with :func:`register`:

    @register("values", defaults={"rtol": ..., "cases": []})
    def values(student, reference, opts, rng) -> CheckResult: ...

``student`` calls the student's function in the sandbox (see
:class:`grader.sandbox.StudentFunction`), ``reference`` is the reference function,
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
    # For a kind that times the student against np.exp: the shapes of the inputs it will time,
    # from its options, so that the yardstick is measured before any student code is loaded.
    yardstick: Optional[Callable[[Mapping[str, Any]], List[Tuple[int, ...]]]] = None

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
             yardstick: Optional[Callable[[Mapping[str, Any]], List[Tuple[int, ...]]]] = None
             ) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check kind ``name`` with its own option defaults.

    The registry holds ``fn`` made :func:`quiet`; the module keeps ``fn`` itself.
    ``yardstick`` (kinds that time the student): see :attr:`CheckKind.yardstick`.
    """

    def deco(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check kind {name!r} registered twice")
        REGISTRY[name] = CheckKind(name, quiet(fn), dict(defaults or {}), yardstick)
        return fn

    return deco
