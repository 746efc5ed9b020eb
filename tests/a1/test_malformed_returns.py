"""Whatever a student's function returns, each check fails it in the student's terms, never the grader's.

For every part of the default rubric (and through its adapter where it has one),
every check runs against stand-ins of the student's function that compute the
reference's answer and then return something else from a catalogue of wrong
returns. No exception may escape a check, an adapter or the diagnosis; a value
of the wrong form must cost the check's points with a one-line message that
names the function and says what came back; the runner path prints nothing on
stderr (it prints only for its own bugs).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnose import named_mistakes
from grader.plugins import ADAPTERS, FINDERS
from grader.checks import REGISTRY
from grader.checks.numeric import seeded_rng
from grader.reference import RefFunction
from grader.rubric import load_rubric
from grader.runner import run_check
from grader.sandbox.wire import Opaque
from grader.scoring import score_part

from conftest import DEFAULT_RUBRIC, LocalStudent

RUBRIC = load_rubric(DEFAULT_RUBRIC)

# How an entry's value relates to the right answer: not of its form at all, of its form but
# with nan or inf, of its form with finite (maybe wrong) numbers, or right in form exactly
# when its shape is the answer's (np.matrix, transposes: right for some inputs only).
BAD, NONFINITE, FINE, SAME_SHAPE = "bad", "nonfinite", "fine", "same_shape"

# Array functions (softmax, sigmoid, sigmoid_grad, cross_entropy_grad): (id, make(right answer), category, says).
# ``says``: fragments of which the message must hold one when the value is of the wrong form
# (none for SAME_SHAPE entries: the first failure reported may be a right-shaped input's values).
ARRAY_RETURNS = [
    ("none", lambda good: None, BAD, ("None",)),
    ("text", lambda good: "0.5", BAD, ("text",)),
    ("number", lambda good: 0.5, BAD, ("one number",)),
    ("bool", lambda good: True, BAD, ("one number",)),
    ("zero_d", lambda good: np.array(0.5), BAD, ("one number",)),
    ("short_list", lambda good: good.ravel().tolist()[:-1], BAD, ("shape",)),
    ("right_as_list", lambda good: good.tolist(), FINE, ()),
    ("tuple_of_3", lambda good: (good, good, good), BAD, ("shape (3,",)),
    ("ragged_pair", lambda good: (good, 1.0), BAD, ("tuple of 2 items",)),
    ("list_of_none", lambda good: [None, None], BAD, ("list of 2 items",)),
    ("opaque", lambda good: Opaque("dict", "{'a': 1}"), BAD, ("dict",)),
    ("dict", lambda good: {"softmax": good}, BAD, ("dict",)),
    ("huge_int", lambda good: 10 ** 400, BAD, ("1000",)),
    ("object_array", lambda good: good.astype(object), BAD, ("dtype object",)),
    ("nan", lambda good: np.full_like(good, np.nan), NONFINITE, ("nan",)),
    ("inf", lambda good: np.full_like(good, np.inf), NONFINITE, ("inf",)),
    ("complex", lambda good: good + 1j, BAD, ("complex",)),
    ("complex_zero_imaginary", lambda good: good.astype(complex), BAD, ("complex",)),
    ("empty", lambda good: np.array([]), BAD, ("shape (0,)",)),
    ("huge", lambda good: np.zeros(10 ** 6), BAD, ("shape (1000000,)",)),
    ("matrix", lambda good: np.matrix(good), SAME_SHAPE, ()),
    ("column", lambda good: good.reshape(-1, 1), SAME_SHAPE, ()),
    ("transposed", lambda good: good.T, SAME_SHAPE, ()),
    ("zeros", lambda good: np.zeros_like(good), FINE, ()),
]

# forward_backward_prop: (id, make((cost, grad)), what is wrong: pair | cost | grad, category, says).
NETWORK_RETURNS = [
    ("none", lambda c, g: None, "pair", BAD, ("None instead of a pair (cost, grad)",)),
    ("text", lambda c, g: "cost, grad", "pair", BAD, ("text",)),
    ("number", lambda c, g: c, "pair", BAD, ("(cost, grad)",)),
    ("array", lambda c, g: np.concatenate([[c], g]), "pair", BAD, ("(cost, grad)",)),
    ("tuple_of_3", lambda c, g: (c, g, None), "pair", BAD, ("tuple of 3 items",)),
    ("tuple_of_1", lambda c, g: (c,), "pair", BAD, ("tuple of 1 item",)),
    ("swapped", lambda c, g: (g, c), "pair", BAD, ("cost of shape", "grad of shape ()")),
    ("opaque", lambda c, g: Opaque("generator", "<generator object at 0x1>"), "pair", BAD, ("generator",)),
    ("dict", lambda c, g: {"cost": c, "grad": g}, "pair", BAD, ("dict",)),
    ("right_as_list", lambda c, g: [c, g.tolist()], "pair", FINE, ()),
    ("cost_none", lambda c, g: (None, g), "cost", BAD, ("None as cost",)),
    ("cost_text", lambda c, g: ("1.5", g), "cost", BAD, ("the text '1.5' as cost",)),
    ("cost_array", lambda c, g: (np.array([c / 2, c / 2]), g), "cost", BAD, ("cost of shape (2,)",)),
    ("cost_empty", lambda c, g: (np.array([]), g), "cost", BAD, ("cost of shape (0,)",)),
    ("cost_huge", lambda c, g: (np.zeros(10 ** 6), g), "cost", BAD, ("cost of shape (1000000,)",)),
    ("cost_complex", lambda c, g: (complex(c, 1.0), g), "cost", BAD, ("complex",)),
    ("cost_opaque", lambda c, g: (Opaque("dict", "{}"), g), "cost", BAD, ("a dict ({}) as cost",)),
    ("cost_huge_int", lambda c, g: (10 ** 400, g), "cost", BAD, ("as cost",)),
    ("cost_nan", lambda c, g: (np.nan, g), "cost", NONFINITE, ("nan",)),
    ("cost_inf", lambda c, g: (np.inf, g), "cost", NONFINITE, ("inf", "nan")),
    ("cost_zero_d", lambda c, g: (np.array(c), g), "cost", FINE, ()),
    ("cost_matrix", lambda c, g: (np.matrix([[c]]), g), "cost", FINE, ()),
    ("cost_wrong", lambda c, g: (c + 1.0, g), "cost", FINE, ()),
    ("grad_none", lambda c, g: (c, None), "grad", BAD, ("None as grad",)),
    ("grad_scalar", lambda c, g: (c, 1), "grad", BAD, ("grad of shape () instead of (",)),
    ("grad_zero_d", lambda c, g: (c, np.array(1.0)), "grad", BAD, ("grad of shape ()",)),
    ("grad_text", lambda c, g: (c, "grad"), "grad", BAD, ("the text 'grad' as grad",)),
    ("grad_short", lambda c, g: (c, g[:-1]), "grad", BAD, ("grad of shape",)),
    ("grad_empty", lambda c, g: (c, np.array([])), "grad", BAD, ("grad of shape (0,)",)),
    ("grad_huge", lambda c, g: (c, np.zeros(10 ** 6)), "grad", BAD, ("grad of shape (1000000,)",)),
    # np.matrix arithmetic (real solutions) gives a (1, n) grad: the same numbers, in order.
    ("grad_matrix", lambda c, g: (c, np.matrix(g)), "grad", FINE, ()),
    ("grad_column", lambda c, g: (c, g.reshape(-1, 1)), "grad", FINE, ()),
    ("grad_square", lambda c, g: (c, np.zeros((2, g.size))), "grad", BAD, ("grad of shape (2,",)),
    ("grad_blocks", lambda c, g: (c, np.array_split(g, 4)), "grad", BAD, ("grad",)),
    ("grad_complex", lambda c, g: (c, g + 0j), "grad", BAD, ("complex",)),
    ("grad_opaque", lambda c, g: (c, Opaque("map", "<map object>")), "grad", BAD, ("a map (<map object>) as grad",)),
    ("grad_nan", lambda c, g: (c, np.full_like(g, np.nan)), "grad", NONFINITE, ("nan",)),
    ("grad_inf", lambda c, g: (c, np.full_like(g, np.inf)), "grad", NONFINITE, ("inf", "nan")),
    ("grad_as_list", lambda c, g: (c, g.tolist()), "grad", FINE, ()),
    ("grad_zeros", lambda c, g: (c, np.zeros_like(g)), "grad", FINE, ()),
]

# gradcheck_naive returns nothing; returning False (in any of numpy's spellings) reports a failure.
CHECKER_RETURNS = [("none", None), ("text", "Gradient check"), ("number", 0.5), ("zero_d", np.array(0.5)),
                   ("list", [1, 2]), ("tuple_of_3", (1, 2, 3)), ("opaque", Opaque("dict", "{}")),
                   ("nan", np.nan), ("complex", 1j), ("huge", np.zeros(10 ** 6)), ("empty", np.array([])),
                   ("matrix", np.matrix([[1.0, 2.0]])), ("true", True), ("false", False),
                   ("numpy_false", np.False_), ("zero_d_false", np.array(False))]
FALSE_LIKE = {"false", "numpy_false", "zero_d_false"}

# Checks that judge the form of what comes back but not its numbers.
FORM_ONLY = {"input_unchanged", "vectorized"}


def _aspects(spec, via_adapter):
    """What of a network's (cost, grad) a check reads."""
    if via_adapter:
        return {"grad"}
    return {"network_consistency": {"cost", "grad"}, "network_cost": {"cost"},
            "network_gradient": {"grad", "cost"} if spec.options.get("check_cost") else {"grad"}}[spec.kind]


def _targets():
    """(part, candidate): each part's function, and each adapter the part can grade it through
    (the other candidates are the same function in another file)."""
    return [(part, c) for _, part in RUBRIC.parts() for i, c in enumerate(part.find) if i == 0 or c.adapter]


def _cases():
    for part, cand in _targets():
        if cand.name == "gradcheck_naive":
            entries = [(stub, name) for stub in ("silent", "working") for name, _ in CHECKER_RETURNS]
        elif cand.name == "forward_backward_prop":
            entries = [e[0] for e in NETWORK_RETURNS]
        else:
            entries = [e[0] for e in ARRAY_RETURNS]
        for entry in entries:
            label = "-".join(entry) if isinstance(entry, tuple) else entry
            yield pytest.param(part.id, cand, entry, id="%s-%s-%s" % (part.id, cand.adapter or cand.name, label))


def _reference_for(reference, part):
    """The reference function as the runner picks it: the first candidate without adapter it has."""
    fn = next(reference.function(c.module, c.name) for c in part.find
              if not c.adapter and reference.function(c.module, c.name))
    return RefFunction(fn, reference)


def _student(reference, cand, entry):
    """The stand-in for the student's function, and how to judge each check's verdict on it.

    Returns (student, judge, says, malformed): judge(spec) is 'fail' (the check must cost
    points), 'pass' (it must not) or None (either is right); says(spec) the fragments the
    message must hold one of; malformed: the value is of the wrong form wherever it is read.
    """
    ref_fn = reference.function(cand.module, cand.name)
    if cand.name == "gradcheck_naive":
        stub, name = entry
        value = dict(CHECKER_RETURNS)[name]
        if stub == "silent":   # never calls f, prints nothing: only a False can be a verdict
            fn = lambda f, x: value   # noqa: E731
            judge = lambda spec: None if name in FALSE_LIKE and spec.options["expect"] == "fail" else "fail"  # noqa: E731
        else:                  # the reference checker, returning junk: a checker's return is not graded
            fn = lambda f, x: (ref_fn(f, x), value)[1]   # noqa: E731
            judge = lambda spec: None if name in FALSE_LIKE else "pass"  # noqa: E731
        return LocalStudent(fn, cand.name), judge, lambda spec: (), False
    if cand.name == "forward_backward_prop":
        _, make, wrong, category, says = next(e for e in NETWORK_RETURNS if e[0] == entry)
        fn = lambda *args: make(*ref_fn(*args))   # noqa: E731
        student = LocalStudent(fn, cand.name)
        if cand.adapter:
            student = ADAPTERS[cand.adapter](student)

        def judge(spec):
            examined = wrong == "pair" or wrong in _aspects(spec, bool(cand.adapter))
            return "fail" if examined and category in (BAD, NONFINITE) else None

        return student, judge, lambda spec: says, category == BAD
    _, make, category, says = next(e for e in ARRAY_RETURNS if e[0] == entry)
    shapes = []   # per call: did the return have the right answer's shape (judges SAME_SHAPE entries)

    def fn(*args):
        good = np.asarray(ref_fn(*args))
        value = make(good)
        shapes.append(isinstance(value, (np.ndarray, list)) and np.shape(value) == good.shape)
        return value

    def judge(spec):
        form = category if category != SAME_SHAPE else FINE if all(shapes) else BAD
        if form == BAD or (form == NONFINITE and spec.kind not in FORM_ONLY):
            return "fail"
        return None

    return LocalStudent(fn, cand.name), judge, lambda spec: says, category == BAD


def _options(spec):
    """The check's options as the runner gives them (the rubric's cost policy included)."""
    opts = dict(spec.options)
    if "cost" in REGISTRY[spec.kind].options() and "cost" in RUBRIC.policy:
        opts["cost"] = RUBRIC.policy["cost"]
    return opts


def _assert_message(spec, result, function, says):
    message = result.message
    assert message and len(message.splitlines()) == 1, (spec.id, message)
    assert "internal error" not in message and "please report it" not in message, (spec.id, message)
    if not result.passed:
        assert function in message, (spec.id, message)
        if says:
            assert any(s in message for s in says), (spec.id, says, message)


# A RuntimeWarning (numpy on a student's nan or inf) would be the grader printing on stderr.
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("part_id,cand,entry", list(_cases()))
def test_each_check_fails_a_malformed_return_in_the_students_terms(reference, part_id, cand, entry):
    _, part = RUBRIC.part(part_id)
    ref = _reference_for(reference, part)
    for spec in part.checks:
        student, judge, says, _ = _student(reference, cand, entry)
        result = REGISTRY[spec.kind].fn(student, ref, _options(spec), seeded_rng(RUBRIC.seed, part.id, spec.id))
        verdict = judge(spec)
        if verdict == "fail":
            assert result.fraction < 1, (spec.id, result.message)
        elif verdict == "pass":
            assert result.passed, (spec.id, result.message)
        _assert_message(spec, result, cand.name, says(spec) if verdict == "fail" else ())


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("part_id,cand", [pytest.param(p.id, c, id="%s-%s" % (p.id, c.adapter or c.name))
                                          for p, c in _targets()])
def test_the_runner_path_never_blames_the_grader(reference, capsys, part_id, cand):
    """run_check and then diagnose, as the runner calls them, for every entry of the catalogue:
    nothing on stderr, no message blaming the grader, no mistake named for a malformed return."""
    _, part = RUBRIC.part(part_id)
    ref = _reference_for(reference, part)
    entries = [e for p in _cases() if p.values[:2] == (part_id, cand) for e in p.values[2:]]
    for entry in entries:
        student, _, _, malformed = _student(reference, cand, entry)
        checks = [run_check(RUBRIC, part, spec, student, ref) for spec in part.checks]
        for check in checks:
            assert "internal error" not in check.message and "please report it" not in check.message, \
                (entry, check.id, check.message)
        result = score_part(part, "graded", checks, function=cand.name)
        # diagnose() swallows any exception (a diagnosis must never cost a grade); its body
        # must not need that on a student's return, so it is called directly too.
        if result.score < result.max_score and part.diagnose:
            assert set(FINDERS[part.diagnose].load()(result, student, ref)) <= set(part.mistakes), entry
        named = [m["id"] for m in named_mistakes(result, part, student, ref)]
        assert set(named) <= set(part.mistakes), entry
        if malformed:   # a return of the wrong form is its own message: no mistake in the maths is named
            assert named == [], (entry, named)
        assert capsys.readouterr().err == "", entry
