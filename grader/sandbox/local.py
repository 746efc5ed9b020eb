"""An in-process :class:`grader.sandbox.student.StudentCallable`, with no isolation.

Only for trusted code: the checks' own tests and the benchmark that measures
what isolation costs. Same interface (``run``, ``__call__``, ``map``, ``time``)
and the same records as the sandbox.
"""
from __future__ import annotations

import contextlib
import copy
import random
import io
import time as clock
from typing import Any, Callable, List

import numpy as np

from . import proxies
from .workers import CallRecord
from .student import StudentError
from .wire import FunctionSpec


class LocalStudent:
    """Calls ``fn`` in this process and reports like the sandbox does."""

    def __init__(self, fn: Callable[..., Any], name: str = "f"):
        self.fn = fn
        self.name = name
        self.label = name

    def run(self, *args: Any, keep_args: bool = False) -> CallRecord:
        logs: List[list] = []
        real = []
        for a in args:
            if isinstance(a, FunctionSpec):
                logs.append([])
                built = proxies.build(a.name, a.params, logs[-1])
                # As the sandbox's proxy does: one draw from random per call, then the cost.
                real.append(lambda x, built=built: built(x, random.random()))
            else:
                real.append(copy.deepcopy(a))
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                value = self.fn(*real)
        except Exception as exc:  # noqa: BLE001 - the function's failure is a result
            return CallRecord(failure="exception", error="%s: %s" % (type(exc).__name__, exc),
                              error_info={"type": type(exc).__name__}, stdout=out.getvalue())
        return CallRecord(value=value, stdout=out.getvalue(), f_calls=logs,
                          args_after=[a if not callable(a) else None for a in real] if keep_args else None)

    def __call__(self, *args: Any) -> Any:
        record = self.run(*args)
        if not record.ok:
            raise StudentError(record)
        return record.value

    def map(self, args, vary: int, values) -> List[CallRecord]:
        return [self.run(*[v if i == vary else a for i, a in enumerate(args)]) for v in values]

    def time(self, *args: Any, repeat: int = 5, fresh: bool = False, baseline: str = "exp") -> CallRecord:
        best = base = float("inf")   # always fresh here
        for _ in range(repeat):
            start = clock.perf_counter()
            self.fn(*copy.deepcopy(list(args)))
            best = min(best, clock.perf_counter() - start)
            start = clock.perf_counter()
            getattr(np, baseline)(args[0])
            base = min(base, clock.perf_counter() - start)
        return CallRecord(value=(best, base))
