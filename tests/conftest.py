"""Shared fixtures: paths, the default rubric, and an in-process stand-in for a student function.

The stand-in lets the checks (pure functions of a callable) be tested without
the sandbox; it follows the same interface as grader.sandbox.StudentFunction.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox.process import CallRecord
from grader.sandbox.student import StudentError
from grader.sandbox import testfns
from grader.sandbox.wire import FunctionSpec

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_submissions"
REFERENCE = ROOT / "reference"
DEFAULT_RUBRIC = ROOT / "rubrics" / "a1.yaml"


class LocalStudent:
    """Runs a Python function in this process and reports like the sandbox does."""

    def __init__(self, fn, name="f"):
        self.fn = fn
        self.name = name
        self.label = name

    def run(self, *args, keep_args=False):
        import contextlib
        import io
        logs, real = [], []
        for a in args:
            if isinstance(a, FunctionSpec):
                log = []
                logs.append(log)
                real.append(testfns.build(a.name, a.params, log))
            else:
                real.append(copy.deepcopy(a))
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                value = self.fn(*real)
        except Exception as exc:  # noqa: BLE001
            return CallRecord(failure="exception", error="%s: %s" % (type(exc).__name__, exc),
                              error_info={"type": type(exc).__name__}, stdout=out.getvalue())
        return CallRecord(value=value, stdout=out.getvalue(), f_calls=logs,
                          args_after=[a if not callable(a) else None for a in real] if keep_args else None)

    def __call__(self, *args):
        record = self.run(*args)
        if not record.ok:
            raise StudentError(record)
        return record.value

    def map(self, args, vary, values):
        out = []
        for v in values:
            a = list(args)
            a[vary] = v
            out.append(self.run(*a))
        return out

    def time(self, *args, repeat=5):
        import time
        best = base = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            self.fn(*copy.deepcopy(list(args)))
            best = min(best, time.perf_counter() - t)
            t = time.perf_counter()
            np.exp(args[0])
            base = min(base, time.perf_counter() - t)
        return CallRecord(value=(best, base))


@pytest.fixture(scope="session")
def rubric():
    from grader.rubric import load_rubric
    return load_rubric(DEFAULT_RUBRIC)


@pytest.fixture(scope="session")
def shared_grader(rubric):
    """One Grader (one sandbox zygote) for the whole session: as a batch would run."""
    from grader.runner import Grader
    with Grader(rubric) as grader:
        yield grader


@pytest.fixture(scope="session")
def reference():
    from grader.reference import Reference
    return Reference(REFERENCE)
