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
from .latex import rename
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


def _comparable(a, b) -> Tuple[np.ndarray, np.ndarray]:
    """A vector and a number compare at the number's own index (softmax(x + c) vs softmax(x + c)_j)."""
    (a, at), (b, bt) = a, b
    if a.shape != b.shape:
        if a.size == 1 and b.size > 1:
            b = np.array([[b.flat[at % b.size]]])
        elif b.size == 1 and a.size > 1:
            a = np.array([[a.flat[bt % a.size]]])
    return a, b


def _valued(answer: Answer, member, convention) -> List[Tuple[np.ndarray, int]]:
    """``member``'s value in every trial, with the index its free letter stands for there (i if none)."""
    letters = [n[2] for n in walk(member) if n[0] in ("sym", "index") and n[2] in convention.index]
    bound = {n[1] for n in walk(member) if n[0] == "sum"}
    letter = next((l for l in letters if l not in bound), "i")
    return [(v, t.evaluator.index.get(letter, 0))
            for v, t in zip(answer.values(member, convention), answer.trials(convention))]


def _same(a, b) -> bool:
    return all(close(*_comparable(x, y)) for x, y in zip(a, b))


def first_broken_step(answer: Answer, chain, convention) -> Optional[str]:
    """The first consecutive equality of ``chain`` that does not hold, as text; None if all that can be computed hold."""
    previous = None
    for member in chain:
        if member is None or any(n[0] == "label" for n in walk(member)):
            previous = None      # after "= ∂J/∂x =" comes the derivative, not the value before it
            continue
        try:
            value = _valued(answer, member, convention)
        except EvalError:
            previous = None      # a step that cannot be computed: no claim about its neighbours
            continue
        if previous is not None and not _same(previous[1], value):
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
    other = constant.upper() if constant.islower() else constant.lower()
    if not any(_mentions(m, constant) for st in members for m in st) and any(
            _mentions(m, other) for st in members for m in st):
        members = [[rename(m, {other: constant}) for m in st] for st in members]     # e^(x_i + C): the same c
    chains: List[List[Tuple[tuple, List[np.ndarray]]]] = []
    unvalued: List[tuple] = []        # members that have no value here (Σ_j exp(x)): a route may pass through them
    for statement in members:
        if statement[0] == ("sym", constant, None):
            continue          # "c = −max_i x_i": what the constant is, not a step of the proof
        valued, undefined = [], None
        for member in statement:
            if any(n[0] == "label" for n in walk(member)):
                continue
            try:
                valued.append((member, _valued(answer, member, convention)))
            except EvalError as exc:
                if "not defined" in str(exc) or "not bound" in str(exc):
                    undefined = undefined or (member, exc)
                else:
                    unvalued.append(member)
        if undefined and valued:
            return CheckResult.fail("the step %s uses something the proof does not define (%s)" % (
                render(undefined[0]), undefined[1]), 0.0, verdict="needs_review")
        if valued:
            chains.append(valued)     # a statement in other letters only (e^(a+b) = e^a e^b) is a remark
    if sum(len(c) for c in chains) < 2:
        return CheckResult.fail("no chain of equalities found to check", 0.0, verdict="needs_review")
    start = _valued(answer, answer.notation.parse(opts["start"])[-1], convention)
    end = _valued(answer, answer.notation.parse(opts["end"])[-1], convention)
    equal = _same

    for steps in chains:          # each statement's own steps; a new statement is not a step from the last
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
            last = steps is chains[-1] and k == len(steps) - 1
            return CheckResult.fail("the step %s does not hold for a number %s" % (step, constant),
                                    opts["slip_credit"] if last else 0.0, verdict="incorrect", step=step)
    route = _route(chains, start, end, constant, equal)
    if route is None and unvalued:
        return CheckResult.fail("no chain of steps that can be computed runs from %s to %s; %s cannot be computed "
                                "here: a TA reads the proof" % (opts["start"], opts["end"], render(unvalued[0])),
                                0.0, verdict="needs_review")
    if route is None:
        first = chains[0]
        return CheckResult.fail("no chain of steps runs from %s, written with %s, to %s: %s" % (
            opts["start"], constant, opts["end"], "it starts from the claim itself, which a proof may not assume"
            if _claim_first(first, constant) else "it runs from %s to %s" % (render(first[0][0]), render(first[-1][0]))),
            0.0, verdict="incorrect")
    factor = answer.notation.parse(opts["factor"])[-1] if opts["factor"] else None
    if factor is not None and not any(_has(m, factor) for m, _ in route):
        return CheckResult.fail("every step holds, but none shows %s factoring out; a TA decides whether the "
                                "steps are enough" % render(factor), 0.0, verdict="needs_review")
    return CheckResult.ok("every step holds (%d steps, %s a number)" % (len(route) - 1, constant), verdict="correct")


def _mentions(node, constant: str) -> bool:
    return any(n[0] == "sym" and n[1] == constant for n in walk(node))


def _claim(member) -> bool:
    """``softmax(x + c)`` or ``softmax(x)_i``: the claim's own words, not a step of a proof."""
    node = member[1] if member[0] == "index" else member
    return node[0] == "call" and node[1] == "softmax"


def _claim_first(chain, constant: str) -> bool:
    return len(chain) >= 2 and not _mentions(chain[0][0], constant) or \
        len(chain) == 2 and all(_claim(m) for m, _ in chain)


def _route(chains, start, end, constant: str, equal) -> Optional[List[tuple]]:
    """The stated steps from a member written with the constant (worth ``start``) to one worth
    ``end`` without it, or back; None if there is none.

    Statements join where one begins with what the last one ended with, written the same (every
    member of a true claim has the same value, so values cannot say what follows what). The claim stated as an
    equation (``softmax(x + c) = softmax(x)``) is no step, except as the conclusion of a route that
    has reached its value; a chain that begins without the constant and ends without it
    (``softmax(x) = softmax(x + c) = … = softmax(x)``) assumes what it proves.
    """
    route: List[tuple] = []
    backward = False
    for steps in chains:
        if len(steps) == 2 and all(_claim(m) for m, _ in steps):
            if route and not backward and equal(route[-1][1], end):
                return route + [steps[-1]]        # "so softmax(x + c) = softmax(x)": the conclusion
            continue
        if route and render(steps[0][0]) == render(route[-1][0]):
            route.extend(steps[1:])       # "… = A", then "A = …": one derivation written in two statements
        elif _mentions(steps[0][0], constant) and equal(steps[0][1], start):
            route, backward = list(steps), False
        elif not _mentions(steps[0][0], constant) and equal(steps[0][1], end):
            route, backward = list(steps), True
        else:
            continue
        if _mentions(route[-1][0], constant) == backward and equal(route[-1][1], start if backward else end):
            return route
    return None


def _named(answer: Answer, value, opts, convention, equal) -> Optional[str]:
    """The rubric's description of a known wrong step that ``value`` is, if any."""
    for mistake in opts.get("mistakes") or []:
        try:
            if equal(value, _valued(answer, answer.notation.parse(mistake["result"])[-1], convention)):
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
