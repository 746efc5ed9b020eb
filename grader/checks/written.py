"""Check kinds of the written parts: a result, its form, a proof's steps.

Each takes the part's :class:`grader.written.answer.Answer` where a code check
takes the student's function (``reference`` is unused: the expected result is
the rubric's, in its options), and decides by computation: the student's
expressions are evaluated on random inputs of the shapes their own
definitions imply, and scalar results are also compared by sympy. ``details``
carries ``verdict`` (correct | incorrect | needs_review), the student's result
and the expected one (the grader's own JSON keeps it; feedback does not show it).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .base import CheckResult, register

_RESULT_DEFAULTS: Dict[str, Any] = {
    "expected": "",            # LaTeX, or {convention name: LaTeX}
    "mistakes": [],            # [{result: LaTeX (or per convention), says: "..."}]
    "transpose_ok": False,     # a row answer given as a column (layout conventions) counts
    "slip_credit": 0.0,        # fraction when the derivation reached the result, then a last step changed it
}


def _review(reason: str, **details: Any) -> CheckResult:
    return CheckResult.fail(reason, 0.0, verdict="needs_review", **details)


def _expected_for(opts, key: str, convention) -> Optional[str]:
    value = opts.get(key)
    if isinstance(value, dict):
        return value.get(convention.name)
    return value or None


@register("written_result", defaults=_RESULT_DEFAULTS)
def written_result(answer, reference, opts, rng) -> CheckResult:
    """The part's final result equals the expected one at random inputs (and, for numbers, by sympy)."""
    from ..written.answer import final_member, undefined_name
    from ..written.proof import first_broken_step
    from ..written.render import render
    statement, why = answer.result()
    if statement is None:
        return _review(why)
    final = final_member(statement.chain)
    shown = render(final)
    convention, error = answer.choose(final)
    if convention is None and undefined_name(error):
        statement, final, convention, error = _own_variable(answer, statement, final, error)
    if convention is None:
        failed = answer.trials(answer.conventions[0])[0].failed
        if _broadcast(answer, [str(error)] + list(failed.values())):
            return _review("your result %s uses ∘ between different shapes, which this write-up says "
                           "broadcasts (%s)" % (shown, error), student=shown)
        if getattr(error, "undefined", None) in failed and not undefined_name(failed[error.undefined]):
            return CheckResult.fail("your result %s cannot be computed: %s" % (shown, failed[error.undefined]), 0.0,
                                    verdict="incorrect", student=shown)
        if undefined_name(error) or getattr(error, "undecidable", False):
            why = "uses something the part does not define" if undefined_name(error) else "cannot be evaluated"
            return _review("your result %s %s (%s)" % (shown, why, error), student=shown)
        for convention in answer.conventions:
            want = answer.values(answer.notation.parse(_expected_for(opts, "expected", convention))[-1], convention)
            slip = _slip(answer, statement, final, want, convention, opts)
            if slip is not None and opts["slip_credit"] > 0:
                return CheckResult.fail("your derivation reached the right result (%s), then its last step changed "
                                        "it to %s, which cannot be computed: %s" % (slip, shown, error),
                                        opts["slip_credit"], verdict="incorrect", student=shown)
        return CheckResult.fail("your result %s cannot be computed: %s" % (shown, error), 0.0,
                                verdict="incorrect", student=shown)
    got = answer.values(final, convention)
    expected_text = _expected_for(opts, "expected", convention)
    expected = answer.notation.parse(expected_text)[-1]
    want = answer.values(expected, convention)
    got = _componentwise(answer, final, got, want, convention)
    details = {"student": shown, "expected": render(expected), "convention": convention.name,
               "expected_tree": expected}
    events = answer.events(final, convention)
    other = _contradiction(answer, statement, got, convention, opts["transpose_ok"])
    if other is not None:
        return _review("the part states two different results, %s and %s: a TA decides which is the answer"
                       % (shown, other), **details)
    if answer.same(got, want, opts["transpose_ok"]):
        details["proof"] = _proof(answer, final, expected, convention)
        readings = [e.split("|", 1)[1] for e in events if e.startswith("elementwise|")]
        note = " (%s read as an elementwise product)" % "; ".join(readings) if readings else ""
        broken = next(filter(None, (first_broken_step(answer, chain, convention)
                                    for chain in _same_name_steps(answer, statement))), None)
        if broken:
            # a right result reached through a wrong step: a typo or a lucky slip, which only a person can tell
            return _review("your result %s is right%s, but on the way the step %s does not hold as written: "
                           "a TA reads it" % (shown, note, broken), **details)
        answer.cache["right:" + answer.part] = True
        return CheckResult.ok("your result %s is right%s" % (shown, note), verdict="correct", **details)
    answer.cache["right:" + answer.part] = False
    why = _named_mistake(answer, got, opts, convention) or _inner_product(events) or _shape_of(got, want, convention, answer)
    broken = first_broken_step(answer, statement.chain, convention)
    if broken and not why:
        why = "the first step that does not hold is %s" % broken
    slip = _slip(answer, statement, final, want, convention, opts)
    if slip is not None and opts["slip_credit"] > 0:
        return CheckResult.fail("your derivation reached the right result (%s), then its last step changed it to %s%s"
                                % (slip, shown, ": " + why if why else ""), opts["slip_credit"],
                                verdict="incorrect", **details)
    return CheckResult.fail("your result %s is not right%s" % (shown, ": " + why if why else ""), 0.0,
                            verdict="incorrect", **details)


def _same_name_steps(answer, result):
    """The result's chain, then the earlier ones that begin with the same name (σ′(x) = …, σ′(x) = …):
    a derivation written as one equation per line is one derivation."""
    from ..written.render import render
    yield result.chain
    if answer.cache.get("loose") or result.chain[0] is None or result.chain[0][0] == "label":
        return
    name = render(result.chain[0])
    for st in answer.statements:
        if st is result:
            return
        if st.ok and not st.given and len(st.chain) > 1 and st.chain[0] is not None and render(st.chain[0]) == name:
            yield st.chain


def _contradiction(answer, result, got, convention, transpose_ok) -> Optional[str]:
    """Another result of the part under the same name (∂J/∂x = …) whose value differs from ``got``."""
    from ..written.answer import final_member
    from ..written.evaluate import EvalError
    from ..written.render import render
    name = result.chain[0]
    if name is None or name[0] != "label" or len(result.chain) < 2:
        return None
    for st in answer.statements:
        if st is result or not st.ok or st.given or not st.display or len(st.chain) < 2 or st.chain[0] != name:
            continue
        final = final_member(st.chain)
        try:
            if final is not None and not answer.same(answer.values(final, convention), got, transpose_ok):
                return render(final)
        except EvalError:
            continue
    return None


def _broadcast(answer, errors) -> bool:
    """An elementwise product of different shapes in a write-up that defines ∘ to broadcast: a person reads it."""
    return "broadcast" in answer.text.lower() and any("elementwise product of different shapes" in e for e in errors)


def _own_variable(answer, statement, final, error):
    """σ'(z) = σ(z)(1 − σ(z)): a scalar part answered in a letter of the student's own, read in the part's."""
    from ..written.answer import final_member
    from ..written.latex import rename
    from ..written.mathtext import Statement
    name = getattr(error, "undefined", None)
    scalar = [c for c in answer.conventions if c.scalar and len(c.variables) == 1]
    if not name or not scalar or len(name) != 1:
        return statement, final, None, error
    table = {name: next(iter(scalar[0].variables))}
    chain = [rename(m, table) for m in statement.chain]
    renamed = Statement(statement.text, chain, None, statement.display, statement.where)
    final = final_member(chain)
    convention, error = answer.choose(final)
    return renamed, final, convention, error


def _componentwise(answer, final, got, want, convention):
    """A result written for one component (ŷ_i − y_i) stands for the vector it describes."""
    from ..written.evaluate import walk
    bound = {n[1] for n in walk(final) if n[0] == "sum"}        # Σ_k y_k: k is the sum's, not the result's
    letters = {n[2] for n in walk(final) if n[0] in ("sym", "index") and n[2] in convention.index} - bound
    if len(letters) != 1 or got[0].shape != (1, 1) or want[0].size == 1:
        return got
    letter = letters.pop()
    out = []
    for trial in answer.trials(convention):
        ev = trial.evaluator
        saved = ev.index[letter]
        row = []
        for k in range(want[0].size):
            ev.index[letter] = k
            row.append(float(ev.value(final)[0, 0]))
        ev.index[letter] = saved
        out.append(np.array(row).reshape(want[0].shape))
    return out


def _proof(answer, final, expected, convention) -> str:
    if not convention.scalar:
        return "equal at %d random inputs" % len(answer.trials(convention))
    from ..written.symbolic import proved_equal
    functions = answer.trials(convention)[0].evaluator.functions
    proved = proved_equal(final, expected, functions)
    return "proved equal by sympy" if proved else "equal at %d random inputs" % len(answer.trials(convention))


def _named_mistake(answer, got, opts, convention) -> Optional[str]:
    from ..written.evaluate import EvalError
    for mistake in opts.get("mistakes") or []:
        text = _expected_for(mistake, "result", convention)
        if not text:
            continue
        try:
            value = answer.values(answer.notation.parse(text)[-1], convention)
        except EvalError:
            continue
        if answer.same(got, value, opts["transpose_ok"]):
            return mistake.get("says", "a known mistake")
    return None


def _inner_product(events: List[str]) -> Optional[str]:
    for event in events:
        if event.startswith("inner|"):
            _, pair, size = event.split("|")
            return ("%s is a 1 x 1 inner product (a 1 x %s row times a column): the derivative needs an "
                    "elementwise product (∘)" % (pair, size.split(" x ")[-1]))
    return None


def _shape_of(got, want, convention, answer) -> Optional[str]:
    if got[0].shape != want[0].shape:
        ev = answer.trials(convention)[0].evaluator
        return "it is %s where the gradient is %s" % (ev.say(got[0]), ev.say(want[0]))
    return None


def _slip(answer, statement, final, want, convention, opts) -> Optional[str]:
    """An earlier member of the result's chain that was right: the slip came after it."""
    from ..written.evaluate import EvalError
    from ..written.render import render
    for member in statement.chain[:-1]:
        if member is None or member is final:
            continue
        try:
            if answer.same(answer.values(member, convention), want, opts["transpose_ok"]):
                return render(member)
        except EvalError:
            continue
    return None


@register("written_form", defaults={"variable": "x", "through": ["sigma"]})
def written_form(answer, reference, opts, rng) -> CheckResult:
    """The result is written through the given functions only (2a: in σ(x) alone, no bare x)."""
    from ..written.answer import final_member
    from ..written.render import render
    statement, why = answer.result()
    if statement is None:
        return _review(why)
    final = final_member(statement.chain)
    right = answer.cache.get("right:" + answer.part)
    if right is False:
        # its hint would speak of a form the result does not have: the result's own check says what is wrong
        return CheckResult.fail("not judged: the result itself is not right", 0.0, verdict="incorrect",
                                not_judged=True)
    if right is None:       # nothing pays for a result no one has confirmed (the question pasted, a TA's case)
        return _review("not judged: the result itself is not decided", not_judged=True)
    allowed = set(opts["through"]) | _same_functions(answer, opts["through"])
    outside = _outside(final, opts["variable"], allowed)
    if outside:
        return CheckResult.fail("your result %s still has %s outside %s: the question asks for it in terms "
                                "of %s alone" % (render(final), opts["variable"], "/".join(opts["through"]),
                                                 "(".join(opts["through"]) + "(%s)" % opts["variable"]),
                                0.0, verdict="incorrect", student=render(final))
    return CheckResult.ok("written in terms of %s alone" % "/".join(opts["through"]), verdict="correct")


def _same_functions(answer, through) -> set:
    """Functions the student defined that are one of ``through`` by value (δ(x) = 1/(1 + e^(-x)) is σ)."""
    import numpy as np
    from ..written.evaluate import BUILTINS, EvalError, close
    convention = answer.conventions[0]
    ev = answer.trials(convention)[0].evaluator
    points = np.linspace(-3, 3, 7).reshape(1, 7)
    same = set()
    for name in ev.functions:
        try:
            inner = type(ev)(dict(ev.values, **{"@points": points}), ev.functions, ev.index, [], ev.shapes)
            value = inner.value(("call", name, [("sym", "@points", None)], None))
        except EvalError:
            continue
        if any(f in BUILTINS and BUILTINS[f] is not None and close(value, BUILTINS[f](points)) for f in through):
            same.add(name)
    return same


def _outside(node, variable: str, through: set) -> bool:
    if node is None or not isinstance(node, tuple):
        return False
    if node[0] == "call" and node[1] in through:
        return False
    if node[0] == "sym" and node[1] == variable:
        return True
    for item in node[1:]:
        if isinstance(item, tuple) and _outside(item, variable, through):
            return True
        if isinstance(item, list) and any(_outside(s, variable, through) for s in item):
            return True
    return False


@register("written_proof", defaults={"start": "", "end": "", "constant": "c", "factor": "",   # the rubric's, as every answer
                                     "mistakes": [], "slip_credit": 0.0})
def written_proof(answer, reference, opts, rng) -> CheckResult:
    """Every consecutive equality of the proof holds (the constant a number), from ``start`` to ``end``."""
    from ..written.proof import judge_proof
    return judge_proof(answer, opts)


@register("written_read", defaults={})
def written_read(answer, reference, opts, rng) -> CheckResult:
    """How the part was read, and nothing more: a student kit holds no expected result, so it decides nothing."""
    from ..written.answer import final_member
    from ..written.render import render
    statement, why = answer.result()
    if statement is None:
        return CheckResult.fail("could not be read here (%s): after you submit, a TA reads it" % why, 0.0,
                                verdict="needs_review")
    return CheckResult.ok("your answer was read as %s (it is graded after you submit)"
                          % render(final_member(statement.chain)), verdict="read")
