"""Checks that compare values and properties of array functions with the reference's."""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .base import CheckResult, register
from .inputs import generate, literal
from ..sandbox.student import failure_phrase
from .numeric import short
from .returns import Array, check_return, mismatch


def _cases(opts, rng) -> List[List[Any]]:
    """The literal cases (moved by ``jitter``), then the generated ones, in rubric order."""
    cases = [_jitter(literal(c), float(opts.get("jitter") or 0), rng) for c in opts.get("cases") or []]
    cases += [generate(rng, spec) for spec in opts.get("random") or []]
    return cases


def _jitter(args: List[Any], size: float, rng) -> List[Any]:
    """A targeted case moved per submission: each row of the first argument plus its own constant.

    Large stays large and a spread stays a spread, but no table of recorded
    answers holds the exact input. Integer inputs move by integers (still
    integer inputs); ``size`` 0 leaves the case as written (the handout's).
    """
    if not size or not args or not isinstance(args[0], np.ndarray) or args[0].size == 0:
        return args
    x = args[0]
    rows = x.shape[:-1] + (1,) if x.ndim else ()
    if x.dtype.kind in "iu":
        shift = rng.integers(-int(size), int(size) + 1, size=rows)
        moved = x + shift.astype(x.dtype)
    else:
        moved = x + rng.uniform(-size, size, size=rows)
    return [moved] + list(args[1:])


def _args_text(args) -> str:
    return ", ".join(short(a, 60) for a in args)


def _copy(args):
    return [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]


@register("values", defaults={"cases": [], "random": [], "jitter": 0.0})
def values(student, reference, opts, rng) -> CheckResult:
    """The student's outputs equal the reference's on every case (partial credit per case)."""
    cases = _cases(opts, rng)
    failures = []
    for args in cases:
        expected = reference(*_copy(args))
        record = student.run(*_copy(args))
        if not record.ok:
            failures.append((_size(args), "on %s(%s) it %s" % (student.name, _args_text(args), _verb(record))))
            continue
        why = mismatch(record.value, expected, opts["rtol"], opts["atol"])
        if why:
            failures.append((_size(args), "%s(%s) %s" % (student.name, _args_text(args), why)))
    # The smallest failing input is the easiest one for the student to reproduce by hand.
    failures = [text for _, text in sorted(failures, key=lambda f: f[0])]
    return _tally(len(cases), failures, "matches the reference on %d input(s)" % len(cases))


def _judge(student, reference, args, value, opts) -> Optional[str]:
    """Why ``value`` (the student's on ``args``) does not count, or None.

    It must be numbers of the reference's shape, and the reference's values:
    properties count only for right values (a constant or a table of zeros is
    shift invariant, leaves its input alone and runs fast, and earns nothing).
    """
    expected = reference(*_copy(args))
    who = "%s(%s)" % (student.name, _args_text(args))
    _, failure = check_return(value, Array(np.shape(expected)), who)
    if failure:
        return failure.message
    why = mismatch(value, expected, opts.get("rtol", 1e-6), opts.get("atol", 1e-9))
    return "%s %s, and this property counts only for right values" % (who, why) if why else None


def _size(args) -> int:
    return sum(int(np.size(a)) for a in args if isinstance(a, np.ndarray))


def _verb(record) -> str:
    return failure_phrase(record)


def _tally(total: int, failures: List[str], ok_text: str) -> CheckResult:
    if not failures:
        return CheckResult.ok(ok_text)
    more = " (and %d more failing input(s))" % (len(failures) - 1) if len(failures) > 1 else ""
    return CheckResult.fail(failures[0] + more, fraction=(total - len(failures)) / max(total, 1),
                            failing=len(failures), total=total)


@register("probabilities", defaults={"cases": [], "random": []})
def probabilities(student, reference, opts, rng) -> CheckResult:
    """Output has the input's shape, is in [0, 1], and each row (last axis) sums to 1."""
    failures = []
    cases = _cases(opts, rng)
    for args in cases:
        label = "%s(%s)" % (student.name, _args_text(args))
        arr, failure = check_return(student(*_copy(args)), Array(np.shape(args[0])), label)
        if failure:
            failures.append(failure.message)
        elif arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1):
            failures.append("%s returned values outside [0, 1]: %s" % (label, short(arr)))
        else:
            sums = arr.sum(axis=-1)
            if not np.allclose(sums, 1.0, rtol=0, atol=max(opts["atol"], 1e-9) * 100):
                failures.append("%s: rows sum to %s, not 1" % (label, short(sums)))
    return _tally(len(cases), failures, "same shape as the input, rows sum to 1")


@register("shift_invariance", defaults={"cases": [], "random": [], "shifts": [-1000.0, -1.0, 1.0, 1000.0]})
def shift_invariance(student, reference, opts, rng) -> CheckResult:
    """f(x + c) equals f(x) for every constant c (``shifts``): a function of differences only."""
    failures, total = [], 0
    for args in _cases(opts, rng):
        total += len(opts["shifts"])
        # Compared with itself, a nan (or None) would match: f(x) must be the right answer first.
        base, failure = check_return(student(*_copy(args)), Array(np.shape(args[0]), finite=True),
                                     "with x = %s, %s(x)" % (short(args[0], 50), student.name))
        wrong = failure.message if failure else _judge(student, reference, args, base, opts)
        if wrong:
            failures += [wrong] * len(opts["shifts"])
            continue
        for c in opts["shifts"]:
            shifted = [np.asarray(args[0], dtype=np.float64) + float(c)] + list(args[1:])
            why = mismatch(student(*_copy(shifted)), base, opts["rtol"], opts["atol"])
            if why:
                failures.append("with x = %s and c = %g, %s(x + c) %s; expected %s(x) as the "
                                "constant cancels" % (short(args[0], 50), float(c), student.name,
                                                      why.split(", expected")[0], student.name))
    return _tally(total, failures, "unchanged when a constant is added to the input")


@register("input_unchanged", defaults={"cases": [], "random": [], "deduct": False})
def input_unchanged(student, reference, opts, rng) -> CheckResult:
    """The function leaves its array arguments as they were (no ``x -= ...``), with right values.

    The starter's docstring allows changing x in place: by default that is a
    note, not a deduction (``deduct: true`` in a rubric makes it one, and the
    message then cites the rubric). Values must be right either way: a function
    that returns nothing usable earns nothing for leaving x alone.
    """
    failures, changed = [], []
    cases = _cases(opts, rng)
    for args in cases:
        originals = _copy(args)
        record = student.run(*_copy(args), keep_args=True)
        if not record.ok:
            failures.append("on %s(%s) it %s" % (student.name, _args_text(args), _verb(record)))
            continue
        wrong = _judge(student, reference, args, record.value, opts)
        if wrong:
            failures.append(wrong)
            continue
        after = record.args_after or []
        for i, (before, now) in enumerate(zip(originals, after)):
            if isinstance(before, np.ndarray) and not (
                    isinstance(now, np.ndarray) and now.dtype == before.dtype and np.array_equal(now, before)):
                text = ("%s changed its argument %d in place: it was %s, afterwards %s"
                        % (student.name, i + 1, short(before, 50), short(now, 50)))
                (failures if opts["deduct"] else changed).append(text)
                break
    if opts["deduct"] and failures and not any(f.startswith("on ") for f in failures):
        failures[0] += "; this course's rubric asks that the input be left unchanged"
    result = _tally(len(cases), failures, "leaves its input unchanged")
    if result.passed and changed:
        return CheckResult.ok("note: %s (the starter allows changing x in place: no deduction)" % changed[0])
    return result


@register("derivative", defaults={"of": "", "random": [], "step": 1e-5, "argument": "value"})
def derivative(student, reference, opts, rng) -> CheckResult:
    """g equals the centered-difference derivative of f at x.

    f is the reference function named ``of`` (required). ``argument``: ``value`` hands the
    student's function s = f(x) (a derivative written in terms of the function's value), ``x``
    hands it x itself.
    """
    if opts["argument"] not in ("value", "x"):
        raise ValueError("the derivative check's argument is value or x, not %r" % opts["argument"])
    if not opts["of"]:
        raise ValueError("the derivative check needs `of:` (the function whose derivative this is)")
    f = reference.sibling(opts["of"])
    failures, cases = [], [generate(rng, spec)[0] for spec in opts["random"]]
    for x in cases:
        h = opts["step"] * np.maximum(1.0, np.abs(x))
        numeric = (f(x + h) - f(x - h)) / (2 * h)
        given = x if opts["argument"] == "x" else f(x)
        got = student(given)
        why = mismatch(got, numeric, 1e-5, 1e-8)
        if why:
            call = "%s(x)" % student.name if opts["argument"] == "x" else "%s(%s(x))" % (student.name, opts["of"])
            failures.append("%s at x = %s %s (the finite-difference derivative of %s)"
                            % (call, short(x, 50), why, opts["of"]))
    return _tally(len(cases), failures, "equals the derivative of %s" % opts["of"])


@register("vectorized", defaults={"shape": [5000, 2], "max_ratio": 3.0, "repeat": 5, "baseline": "exp"},
          yardstick=lambda opts: (str(opts["baseline"]), [tuple(opts["shape"])] * int(opts["repeat"])))
def vectorized(student, reference, opts, rng) -> CheckResult:
    """The function runs within ``max_ratio`` times the numpy function ``baseline`` (a ufunc: exp by
    default) on the same large input (no Python loops).

    Both are timed by the grading process around whole calls (see Worker.time), best
    of ``repeat``: the round trip is in both, so tall narrow inputs show a loop best.
    Speed counts only for a function that returns something usable: first, on
    the input's first rows, it must return what the reference returns in form.
    """
    x = rng.normal(size=tuple(opts["shape"]))
    head = [x[:3].copy()]
    record = student.run(*_copy(head))
    if not record.ok:
        return CheckResult.fail("on %s(%s) it %s" % (student.name, _args_text(head), _verb(record)))
    wrong = _judge(student, reference, head, record.value, opts)
    if wrong:
        return CheckResult.fail(wrong)
    # The yardstick may be a minute old and the machine busier now: a loop is only called a
    # loop against the baseline timed again (fresh), right after the student's calls, under the same load.
    base = "np.%s" % opts["baseline"]
    for fresh in (False, True):
        record = student.time(x, repeat=int(opts["repeat"]), fresh=fresh, baseline=str(opts["baseline"]))
        if not record.ok:
            return CheckResult.fail("timing %s on a %s input failed: it %s" % (student.name, x.shape, _verb(record)))
        t_student, t_base = record.value
        ratio = t_student / max(t_base, 1e-7)
        if ratio <= opts["max_ratio"]:
            break
    timing = {"student_s": t_student, "baseline_s": t_base, "baseline": base, "ratio": ratio}
    if ratio <= opts["max_ratio"]:
        return CheckResult.ok("vectorized: runs within %gx of %s on a %dx%d input"
                              % (opts["max_ratio"], base, *x.shape), timing=timing)
    return CheckResult.fail("%s took %.0fx as long as %s on a %dx%d input (limit %gx): it works row by row "
                            "or element by element (a Python loop, np.apply_along_axis or np.vectorize); "
                            "use whole-array operations with axis=-1 and keepdims=True"
                            % (student.name, ratio, base, x.shape[0], x.shape[1], opts["max_ratio"]), timing=timing)
