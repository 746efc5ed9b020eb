"""A proof by a chain of equalities (1a): every step must hold, from the claim's left side to its right.

The chain is the part's statements joined in order; each member is evaluated
on random inputs (the constant a number), members that name a derivative or
cannot be read are not steps. The verdict names the first step that fails:
if the members on both sides of it agree with each other, it is an isolated
slip (a typo a TA reads through): needs review; otherwise the error carries
on and the proof is incorrect. A constant written with a subscript (c_i) is a
vector, and the claim is false for it.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from ..checks.base import CheckResult
from .answer import Answer
from .evaluate import EvalError, close, walk
from .render import render


def _members(answer: Answer) -> Tuple[List[List[tuple]], Optional[str]]:
    """The proof's statements (each a list of members), or why a line of it is unreadable."""
    members: List[List[tuple]] = []
    for st in answer.statements:
        if not st.ok:
            if st.display:
                return members, "a line of the proof could not be read (%s): %s" % (st.error, st.text[:200])
            continue
        if len(st.chain) < 2:
            continue          # a lone formula in the prose is not a step
        members.append([m for m in st.chain if m is not None])
    return members, None


def _comparable(a: np.ndarray, b: np.ndarray, index: int) -> Tuple[np.ndarray, np.ndarray]:
    """A vector and a number compare at the proof's index i (softmax(x + c) vs softmax(x + c)_i)."""
    if a.shape != b.shape:
        if a.size == 1 and b.size > 1:
            b = np.array([[b.flat[index % b.size]]])
        elif b.size == 1 and a.size > 1:
            a = np.array([[a.flat[index % a.size]]])
    return a, b


def first_broken_step(answer: Answer, chain, convention) -> Optional[str]:
    """The first consecutive equality of ``chain`` that does not hold, as text; None if all that can be computed hold."""
    indices = [t.evaluator.index.get("i", 0) for t in answer.trials(convention)]
    previous = None
    for member in chain:
        if member is None or any(n[0] == "label" for n in walk(member)):
            previous = None      # after "= ∂J/∂x =" comes the derivative, not the value before it
            continue
        try:
            value = answer.values(member, convention)
        except EvalError:
            previous = None      # a step that cannot be computed: no claim about its neighbours
            continue
        if previous is not None and not all(close(*_comparable(a, b, i)) for a, b, i in zip(previous[1], value, indices)):
            return "%s = %s" % (render(previous[0]), render(member))
        previous = (member, value)
    return None


def judge_proof(answer: Answer, opts) -> CheckResult:
    constant = opts["constant"]
    members, unreadable = _members(answer)
    if any(n[0] == "sym" and n[1] == constant and n[2] is not None for s in members for m in s for n in walk(m)):
        return CheckResult.fail("%s is written with a subscript (a vector, one value per entry): the claim is "
                                "about one number %s added to every entry, and for a vector e^(%s_i) does not "
                                "cancel" % (constant, constant, constant), 0.0, verdict="incorrect")
    if unreadable:
        return CheckResult.fail(unreadable, 0.0, verdict="needs_review")
    convention = answer.conventions[0]
    indices = [t.evaluator.index.get("i", 0) for t in answer.trials(convention)]
    steps: List[Tuple[tuple, List[np.ndarray]]] = []
    for statement in members:
        valued, undefined = [], None
        for member in statement:
            if any(n[0] == "label" for n in walk(member)):
                continue
            try:
                valued.append((member, answer.values(member, convention)))
            except EvalError as exc:
                if "not defined" in str(exc) or "not bound" in str(exc):
                    undefined = undefined or (member, exc)
        if undefined and valued:
            return CheckResult.fail("the step %s uses something the proof does not define (%s)" % (
                render(undefined[0]), undefined[1]), 0.0, verdict="needs_review")
        steps.extend(valued)     # a statement in other letters only (e^(a+b) = e^a e^b) is a remark
    if len(steps) < 2:
        return CheckResult.fail("no chain of equalities found to check", 0.0, verdict="needs_review")
    start = answer.values(answer.notation.parse(opts["start"])[-1], convention)
    end = answer.values(answer.notation.parse(opts["end"])[-1], convention)

    def equal(a: List[np.ndarray], b: List[np.ndarray]) -> bool:
        return all(close(*_comparable(x, y, i)) for x, y, i in zip(a, b, indices))

    for k in range(1, len(steps)):
        if equal(steps[k - 1][1], steps[k][1]):
            continue
        step = "%s = %s" % (render(steps[k - 1][0]), render(steps[k][0]))
        named = _named(answer, steps[k][1], opts, convention, equal)
        if named:
            return CheckResult.fail("the step %s does not hold: %s" % (step, named), 0.0, verdict="incorrect",
                                    step=step)
        if k + 1 < len(steps) and equal(steps[k - 1][1], steps[k + 1][1]):
            return CheckResult.fail("the step %s does not hold, but the steps around it agree: perhaps a typo; "
                                    "a TA reads it" % step, 0.0, verdict="needs_review", step=step)
        fraction = opts["slip_credit"] if k == len(steps) - 1 else 0.0
        return CheckResult.fail("the step %s does not hold for a number %s" % (step, constant), fraction,
                                verdict="incorrect", step=step)
    if not equal(steps[0][1], start) or not equal(steps[-1][1], end):
        return CheckResult.fail("the chain runs from %s to %s, not from %s to %s" % (
            render(steps[0][0]), render(steps[-1][0]), opts["start"], opts["end"]), 0.0, verdict="incorrect")
    factor = answer.notation.parse(opts["factor"])[-1] if opts["factor"] else None
    if factor is not None and not any(_has(m, factor) for m, _ in steps):
        return CheckResult.fail("every step holds, but none shows %s factoring out; a TA decides whether the "
                                "steps are enough" % render(factor), 0.0, verdict="needs_review")
    return CheckResult.ok("every step holds (%d steps, %s a number)" % (len(steps) - 1, constant), verdict="correct")


def _named(answer: Answer, value, opts, convention, equal) -> Optional[str]:
    """The rubric's description of a known wrong step that ``value`` is, if any."""
    for mistake in opts.get("mistakes") or []:
        try:
            if equal(value, answer.values(answer.notation.parse(mistake["result"])[-1], convention)):
                return mistake["says"]
        except EvalError:
            continue
    return None


def _has(node, factor) -> bool:
    """Whether ``factor`` (e^c) appears as a factor of a product in ``node``, or exp(c)."""
    exp_form = ("call", "exp", [factor[2]], None) if factor[0] == "pow" else None
    for n in walk(node):
        if n[0] == "prod" and any(f == factor or f == exp_form for f in n[1]):
            return True
    return False
