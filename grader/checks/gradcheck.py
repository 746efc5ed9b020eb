"""Checks of a student's gradient checker ``checker(f, x)`` by its behaviour.

The grader hands the checker costs from a catalogue with hidden coefficients
(evaluated in the grading process, see ``grader/sandbox/proxies.py``) with right
or deliberately wrong gradients and reads its verdict: a failure is reported by
printing a line with "fail", raising AssertionError or returning False; output
that says both "failed" and "passed" is no verdict at all.

Both kinds are plans (``register_plan``): the calls they make, then a judge of
what came back. The runner interleaves the calls of all of a part's plans in an
order drawn from the submission's seed (runner.run_checks), so that which call is
a case, which its control and which a wrong gradient cannot be told from how
many calls came before (a module-level counter that answered pass, fail,
pass, fail, ... in the rubric's order would otherwise score full marks). A control is a
case of its own (its own x and hidden coefficients, from the same ranges): it
differs from the case it controls only in that its gradient is wrong.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

import numpy as np

from ..sandbox import proxies
from ..sandbox.wire import FunctionSpec
from .base import Call, CheckResult, register_plan
from .numeric import index_list, short
from .returns import describe

GRADCHECK_DEFAULTS = {
    "fn": "quadratic",        # quadratic | cubic | random_cost (see proxies.COSTS)
    "scale": 1.0,             # multiplies the cubic cost; -1e6 gives large negative gradients
    "shape": [3, 4],
    "low": -2.0, "high": 2.0,  # x is uniform in [low, high)
    "wrong_at": None,         # the wrong gradient element: a flat index, or random | odd | even (drawn)
    "wrong_by": 1e-2,         # how wrong, relative (the handout's checker fails above 1e-5)
    "wrong_as": ["too_large"],  # expect fail: one case each, too_large | too_small (by wrong_by) | flipped (sign)
    "exact": False,           # restores_x: True also deducts for x restored only within rounding
    "expect": "pass",         # pass | fail: what a correct checker reports
}


def verdict(record) -> str:
    """'fail', 'pass', 'both' or 'error' from what the checker did (one call record).

    Every way the handout allows counts: printing a report of failure (after any
    number of per-element lines) and returning, raising AssertionError, raising
    any exception whose message says it failed, returning False. The checker's
    last word decides; a failure reported, then the final "passed" (no return after
    the failure) is both, which is no verdict.
    """
    if record.failure == "exception":
        message = record.error_info.get("message") or ""
        return "fail" if record.error_info.get("type") == "AssertionError" or reports_failure(message) else "error"
    if not record.ok:
        return "error"
    words = [("fail" if reports_failure(line) else "pass") for line in record.stdout.splitlines()
             if reports_failure(line) or "pass" in line.lower()]
    if _is_false(record.value):
        words.append("fail")
    if not words:
        return "pass"
    if words[-1] == "pass" and "fail" in words and _final_pass(record.stdout):
        return "both"
    return words[-1]


# A failure as checkers report it: "Gradient check failed", "FAIL at (0, 1)", the handout's
# "First gradient error found at index". A word of failure is no report when its clause denies
# it: "No failures in 12 entries", "0 failed", "without failure".
_FAIL_WORD = re.compile(r"fail|gradient error found", re.I)
_DENIED = re.compile(r"(?:\bno|\bnot|\bnever|\bzero|\bwithout|\b0)\W+(?:\w+\W+)?$", re.I)


def reports_failure(line: str) -> bool:
    """True when ``line`` reports a failure; a word of failure that its own clause denies does not."""
    for found in _FAIL_WORD.finditer(line):
        clause = re.split(r"[.!?;:,()]", line[:found.start()])[-1]
        if not _DENIED.search(clause):
            return True
    return False


def _final_pass(text: str) -> bool:
    """A failure reported, then the closing "passed" line of a checker that never returned."""
    lines = [line for line in text.splitlines() if line.strip()]
    first_fail = next(i for i, line in enumerate(lines) if reports_failure(line))
    return any("pass" in line.lower() and "check" in line.lower() and not reports_failure(line)
               for line in lines[first_fail + 1:])


def _is_false(value: Any) -> bool:
    """False, numpy's False, or a 0-d boolean array holding False (which the sandbox
    delivers as numpy's False: the in-process stand-in must read it the same way)."""
    return value is False or (isinstance(value, (np.bool_, np.ndarray)) and value.shape == ()
                              and value.dtype == np.bool_ and not bool(value))


def _x(rng, opts) -> np.ndarray:
    """x of the option's shape: () for a 0-d x and [n] for a 1-D one, as the handout's own tests use."""
    return np.asarray(rng.uniform(float(opts["low"]), float(opts["high"]), size=tuple(opts["shape"])))


def _spec(opts, rng, x, wrong_at=None, wrong_as="too_large") -> FunctionSpec:
    """The cost of one case: the option's family with hidden coefficients drawn for this x.

    A flipped sign goes where the gradient is farthest from 0 among the elements ``wrong_at``
    allows (a list): a flip near 0 is within any threshold, and no correct checker could see it.
    """
    params: Dict[str, Any] = proxies.draw(str(opts["fn"]), rng, x, float(opts["scale"]))
    params["scale"] = float(opts["scale"])
    if wrong_at is not None:
        if wrong_as == "flipped":
            grad = np.abs(proxies.build(str(opts["fn"]), params)(x, 0.0)[1]).reshape(-1)
            wrong_at = max(wrong_at, key=lambda k: grad[k])
        params["wrong_at"] = int(wrong_at if np.ndim(wrong_at) == 0 else wrong_at[0])
        params["wrong_by"] = float(opts["wrong_by"])
        params["wrong_as"] = str(wrong_as)
    return FunctionSpec(str(opts["fn"]), params)


def wrong_index(rng, size: int, where, choices: int = 1):
    """The flat index to make wrong: as given, or drawn per submission (``random``, ``odd``, ``even``).

    Drawn, so that a checker that looks only where the grader used to look learns nothing.
    ``choices`` > 1 gives a list of that many distinct allowed indices (fewer if fewer exist).
    """
    if where is None:
        return None
    if where in ("random", "odd", "even"):
        candidates = np.arange(size)
        if where != "random":
            candidates = candidates[candidates % 2 == (1 if where == "odd" else 0)]
        if choices > 1:
            return [int(k) for k in rng.permutation(candidates)[:choices]]
        return int(rng.choice(candidates))
    return int(where) if choices == 1 else [int(where)]


def _what(opts, spec: FunctionSpec) -> str:
    scaled = "" if float(opts["scale"]) == 1.0 else " times %g" % float(opts["scale"])
    cost = {"quadratic": "a quadratic form with hidden coefficients",
            "cubic": "a cubic with hidden coefficients" + scaled,
            "random_cost": "(0.5 + r) times a quadratic form with hidden coefficients, r drawn from random "
                           "at each call"}.get(opts["fn"], opts["fn"])
    at, how = spec.params.get("wrong_at"), spec.params.get("wrong_as", "too_large")
    if at is None:
        grad = "a correct gradient"
    elif how == "flipped":
        grad = "a gradient whose sign is flipped only at flat index %d" % at
    else:
        grad = "a gradient %g%% too %s only at flat index %d" % (
            100 * float(opts["wrong_by"]), "small" if how == "too_small" else "large", at)
    return "f = %s, %s" % (cost, grad)


def _said(record) -> str:
    if record.failure == "exception":
        return "raised " + record.error
    if not record.ok:
        return record.error
    out = " / ".join(line.strip() for line in record.stdout.strip().splitlines()[:2]) or "printed nothing"
    # A checker returns nothing; whatever else it returned is part of what it said.
    returned = "" if record.value is None else " and returned %s" % describe(record.value)
    return "said: %s%s" % (short(out, 90), returned)


@register_plan("gradcheck_behaviour", defaults=GRADCHECK_DEFAULTS)
def gradcheck_behaviour(opts, rng):
    """The checker reports what a correct checker would on one cost.

    For ``expect: pass`` the checker must also report a deliberately wrong
    gradient of a cost of the same family on an x of the same shape (the
    control): a checker that never reports failure earns nothing for "passing".
    For ``expect: fail`` it must report every case of ``wrong_as``, each on its own x.
    """
    unknown = set(opts["wrong_as"]) - {"too_large", "too_small", "flipped"}
    if unknown:
        raise ValueError("unknown wrong_as %s (too_large, too_small or flipped)" % sorted(unknown))
    if opts["expect"] == "fail":
        # One case per way of being wrong: a checker that drops abs() from its error misses one
        # direction, one that compares abs(numgrad) with abs(grad) misses a flipped sign.
        cases = []
        for how in opts["wrong_as"]:
            x = _x(rng, opts)
            at = wrong_index(rng, x.size, opts["wrong_at"], choices=x.size if how == "flipped" else 1)
            cases.append((x, _spec(opts, rng, x, at, how)))
    else:
        x = _x(rng, opts)
        cases = [(x, _spec(opts, rng, x, wrong_index(rng, x.size, opts["wrong_at"])))]
        control_x = _x(rng, opts)
        control_at = wrong_index(rng, control_x.size, "even")   # drawn, and where every loop over x looks
        cases.append((control_x, _spec(opts, rng, control_x, control_at)))
    calls = [Call((spec, x)) for x, spec in cases]

    def judge(records, name) -> CheckResult:
        if opts["expect"] == "fail":
            for (x, spec), record in zip(cases, records):
                seen = verdict(record)
                if seen != "fail":
                    reason = {"pass": "did not report it", "both": "printed both failed and passed",
                              "error": "crashed instead of reporting it"}[seen]
                    return CheckResult.fail("with %s on x of shape %s, your %s %s; it %s"
                                            % (_what(opts, spec), x.shape, name, reason, _said(record)), verdict=seen)
            return CheckResult.ok("reported the wrong gradient (%s)" % "; ".join(_what(opts, s) for _, s in cases))
        (x, spec), record = cases[0], records[0]
        what = _what(opts, spec)
        seen = verdict(record)
        if seen != "pass":
            return CheckResult.fail("with %s on x of shape %s, your %s should pass but %s"
                                    % (what, x.shape, name, _said(record)), verdict=seen)
        if verdict(records[1]) == "pass":
            return CheckResult.fail("your %s passed %s, but it also passes a gradient of the same kind of cost "
                                    "wrong at flat index %d, so its pass says nothing"
                                    % (name, what, cases[1][1].params["wrong_at"]), verdict="no_control")
        return CheckResult.ok("passed %s (and reports a wrong one)" % what)

    return calls, judge


@register_plan("gradcheck_restores_x", defaults=GRADCHECK_DEFAULTS)
def gradcheck_restores_x(opts, rng):
    """After checking, x is exactly as it was, and f was evaluated around every element it checked.

    A checker that reported a failure here (a correct gradient: a false failure, charged
    in the passing checks) stopped early, as it should after a failure: it is judged on
    the elements it reached, at least one (one early stop is charged once).
    """
    x = _x(rng, opts)

    def judge(records, name) -> CheckResult:
        record = records[0]
        if not record.ok:
            return CheckResult.fail("your %s %s" % (name, _said(record)))
        calls = record.f_calls[0] if record.f_calls else []
        needed = 2 if verdict(record) == "fail" else 2 * x.size
        if len(calls) < needed:
            return CheckResult.fail("your %s called f %d time(s) for an x of %d elements; a centered "
                                    "difference needs 2 per element" % (name, len(calls), x.size))
        after = record.args_after[1] if record.args_after and len(record.args_after) > 1 else None
        if (not opts["exact"] and isinstance(after, np.ndarray) and after.shape == x.shape
                and not np.array_equal(after, x) and np.all(np.abs(after - x) <= 4 * np.spacing(np.abs(x)))):
            # x += h; x -= 2h; x += h leaves x within rounding: restored, as the handout allows.
            return CheckResult.ok("x is restored within rounding (note: saving x[ix] and assigning it back "
                                  "restores it exactly)")
        if not isinstance(after, np.ndarray) or after.shape != x.shape or not np.array_equal(after, x):
            if isinstance(after, np.ndarray) and after.shape == x.shape:
                k = int(np.argmax(np.abs(after - x)))
                idx = index_list(np.unravel_index(k, x.shape))
                rule = "; this course's rubric asks for it restored exactly" if opts["exact"] else ""
                return CheckResult.fail("x was changed by your %s: x%s was %.17g, afterwards %.17g%s; "
                                        "restore the saved value" % (name, idx, x.flat[k], after.flat[k], rule))
            return CheckResult.fail("x was changed by your %s: afterwards it is %s" % (name, short(after)))
        return CheckResult.ok("x is left exactly unchanged")

    return [Call((_spec(opts, rng, x), x), keep_args=True)], judge
