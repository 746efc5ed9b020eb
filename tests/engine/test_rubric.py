"""Tests of grader.rubric: loading, option merging, and errors that name file, line and key.

The check kinds used here are toy kinds registered by this module, so the tests do
not depend on the real kinds (written elsewhere). Each malformed rubric is the
valid one with one edit; the edited line carries a ``#<`` marker, which is where
the error must point.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import textwrap
from pathlib import Path

import pytest

import grader.rubric as rubric_module
from grader.checks.base import COMMON_DEFAULTS, REGISTRY, CheckResult, register
from grader.errors import EXIT_BELOW_MIN, EXIT_OK, EXIT_USAGE, GraderError, RubricError
from grader.rubric import Candidate, CheckSpec, PartSpec, QuestionSpec, Rubric, load_rubric, rubric_sha256

TOY_KINDS = {
    "toy_values": {"cases": [], "rtol": 1e-6},
    "toy_grad": {"step": 1e-5, "mode": "coord"},
}


def _toy_check(student, reference, opts, rng) -> CheckResult:
    return CheckResult.ok("toy")


@pytest.fixture(autouse=True, scope="module")
def toy_kinds():
    """Register the toy kinds for this module only; other tests never see them."""
    added = []
    for name, defaults in TOY_KINDS.items():
        # The guard makes a re-import of this module (or a rerun) harmless.
        if name not in REGISTRY:
            register(name, defaults)(_toy_check)
            added.append(name)
    yield
    for name in added:
        REGISTRY.pop(name, None)


VALID = """
name: Toy assignment
seed: 7
reference: ref
plugin: grader.assignments.a1   # its adapter network_b2_block
options:
  rtol: 1e-3
  grad_tol: 5
policy: {cost: either, python2: {port_with_penalty: 0.25}}
isolate: {softmax: q1_softmax, sigmoid: q2_sigmoid}
questions:
  - id: q1
    title: Softmax
    points: 3.5
    parts:
      - id: softmax
        find: [q1_softmax.softmax]
        checks:
          - id: defaults
            kind: toy_values
            points: 1
          - id: own
            kind: toy_values
            points: 2.5
            rtol: 1.0e-9
            cases: [[[1, 2]], [[3, 4]]]
            visibility: hidden
            hint: Subtract the max.
            title: Own tolerance
  - id: q2
    title: Network
    points: 2
    parts:
      - id: net
        title: forward/backward
        find:
          - q2_neural.forward_backward_prop
          - {module: q2_neural, name: other, adapter: network_b2_block}
        checks:
          - id: own
            kind: toy_grad
            points: 2
            step: "1e-7"
"""


def write_rubric(folder: Path, text: str, name: str = "rubric.yaml") -> Path:
    """Write ``text`` (dedented) as a rubric in ``folder``, next to an empty reference folder ``ref``."""
    (folder / "ref").mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def marked_line(path: Path) -> int:
    """The 1-based line carrying the ``#<`` marker."""
    lines = [i for i, line in enumerate(path.read_text().splitlines(), 1) if "#<" in line]
    assert len(lines) == 1, "a case must mark exactly one line"
    return lines[0]


def edited(old: str, new: str) -> str:
    """VALID with the one occurrence of ``old`` replaced by ``new``."""
    assert VALID.count(old) == 1, "ambiguous edit %r" % old
    return VALID.replace(old, new)


# ---------------------------------------------------------------------------
# A valid rubric


@pytest.fixture()
def loaded(tmp_path) -> Rubric:
    return load_rubric(write_rubric(tmp_path, VALID))


def test_valid_rubric_loads_into_dataclasses(loaded, tmp_path):
    assert isinstance(loaded, Rubric)
    assert loaded.path == tmp_path / "rubric.yaml"
    assert loaded.name == "Toy assignment"
    assert loaded.seed == 7
    assert loaded.reference == (tmp_path / "ref").resolve()
    assert loaded.isolate == {"softmax": "q1_softmax", "sigmoid": "q2_sigmoid"}
    assert loaded.policy == {"cost": "either", "python2": {"port_with_penalty": 0.25}, "hints": "formula"}
    assert [q.id for q in loaded.questions] == ["q1", "q2"]
    assert all(isinstance(q, QuestionSpec) for q in loaded.questions)
    assert [(q.id, p.id) for q, p in loaded.parts()] == [("q1", "softmax"), ("q2", "net")]
    assert loaded.max_score == pytest.approx(5.5)


def test_parts_and_checks(loaded):
    q1, softmax = loaded.part("softmax")
    assert q1.title == "Softmax" and q1.points == 3.5
    assert isinstance(softmax, PartSpec)
    assert softmax.title == "softmax"  # defaults to the id
    assert softmax.points == pytest.approx(3.5)
    assert softmax.find == (Candidate("q1_softmax", "softmax"),)
    own = softmax.check("own")
    assert isinstance(own, CheckSpec)
    assert (own.kind, own.points, own.visibility, own.hint, own.title) == (
        "toy_values", 2.5, "hidden", "Subtract the max.", "Own tolerance")
    defaults = softmax.check("defaults")
    assert (defaults.visibility, defaults.hint, defaults.title) == ("visible", None, None)

    _, net = loaded.part("net")
    assert net.title == "forward/backward"
    assert net.find == (Candidate("q2_neural", "forward_backward_prop"),
                        Candidate("q2_neural", "other", "network_b2_block"))
    with pytest.raises(KeyError):
        loaded.part("nope")


def test_option_merging_order(loaded):
    """Kind default < top-level options < the check's own keys; common defaults included."""
    _, softmax = loaded.part("softmax")
    defaults = softmax.check("defaults").options
    own = softmax.check("own").options
    assert set(defaults) == set(COMMON_DEFAULTS) | set(TOY_KINDS["toy_values"])
    assert defaults["rtol"] == pytest.approx(1e-3)      # top-level beats the kind default
    assert own["rtol"] == pytest.approx(1e-9)           # the check's key beats the top level
    assert defaults["atol"] == COMMON_DEFAULTS["atol"]  # untouched common default
    assert defaults["grad_tol"] == 5 and own["grad_tol"] == 5
    assert defaults["cases"] == []
    # Plain Python: lists stay (plain) lists, nothing YAML-specific leaks out.
    assert own["cases"] == [[[1, 2]], [[3, 4]]]
    assert type(own["cases"]) is list and type(own["cases"][0][0]) is list

    _, net = loaded.part("net")
    grad = net.check("own").options
    assert set(grad) == set(COMMON_DEFAULTS) | set(TOY_KINDS["toy_grad"])
    assert grad["mode"] == "coord"
    assert grad["rtol"] == pytest.approx(1e-3)  # top-level options reach every kind that accepts them
    # A string that parses as a float becomes a float when the default is a float.
    assert grad["step"] == pytest.approx(1e-7) and isinstance(grad["step"], float)


def test_options_are_independent_copies(loaded):
    _, softmax = loaded.part("softmax")
    softmax.check("defaults").options["cases"].append("mutated")
    assert REGISTRY["toy_values"].defaults["cases"] == []


def test_specs_are_frozen_and_hashable(loaded):
    _, softmax = loaded.part("softmax")
    with pytest.raises(dataclasses.FrozenInstanceError):
        softmax.checks[0].points = 99
    assert hash(softmax.checks[0]) == hash(softmax.checks[0])


def test_sha256_is_hash_of_file_bytes(loaded):
    expected = hashlib.sha256(loaded.path.read_bytes()).hexdigest()
    assert loaded.sha256 == expected == rubric_sha256(loaded.path)


def test_defaults_when_optional_keys_absent(tmp_path, monkeypatch):
    text = VALID.replace("reference: ref\n", "").replace("name: Toy assignment\n", "")
    text = text.replace("policy: {cost: either, python2: {port_with_penalty: 0.25}}\n", "")
    text = text.replace("isolate: {softmax: q1_softmax, sigmoid: q2_sigmoid}\n", "")
    text = text.replace("options:\n  rtol: 1e-3\n  grad_tol: 5\n", "")
    ref = tmp_path / "default_ref"
    ref.mkdir()
    monkeypatch.setattr(rubric_module, "default_reference_dir", lambda: ref)
    r = load_rubric(write_rubric(tmp_path, text, "plain.yaml"))
    assert r.name == "plain"
    assert r.reference == ref.resolve()
    assert r.policy == {"cost": "sum", "python2": "port", "hints": "formula"}
    assert r.isolate == {}
    assert r.part("softmax")[1].check("defaults").options["rtol"] == TOY_KINDS["toy_values"]["rtol"]


def test_python2_policy_reject(tmp_path):
    path = write_rubric(tmp_path, edited("python2: {port_with_penalty: 0.25}", "python2: reject"))
    assert load_rubric(path).policy["python2"] == "reject"


def test_default_paths_prefer_bundled_assets(tmp_path, monkeypatch):
    package = tmp_path / "grader"
    package.mkdir()
    from grader import bundled
    monkeypatch.setattr(bundled, "__file__", str(package / "bundled.py"))
    root = tmp_path.resolve()
    (root / "rubrics").mkdir()
    (root / "rubrics" / "b.yaml").write_text("name: b\n")
    assert rubric_module.default_rubric_path() == root / "rubrics" / "b.yaml"   # none marked: the first
    assert rubric_module.default_reference_dir() == root / "reference"
    (package / "assets" / "rubrics").mkdir(parents=True)
    for name, text in (("a.yaml", "name: a\n"), ("hw.yaml", "name: hw\ndefault: true   # the course's\n")):
        (package / "assets" / "rubrics" / name).write_text(text)
    (package / "assets" / "reference").mkdir()
    assert rubric_module.default_rubric_path() == package / "assets" / "rubrics" / "hw.yaml"   # the one marked
    assert rubric_module.default_reference_dir() == package / "assets" / "reference"
    assert rubric_module.named_rubric("a") == package / "assets" / "rubrics" / "a.yaml"
    assert rubric_module.named_rubric("../a") is None


def test_the_bundled_default_rubric_is_the_one_marked_default():
    assert rubric_module.default_rubric_path().parts[-2:] == ("rubrics", "a1.yaml")


def test_exit_codes_and_error_hierarchy():
    assert (EXIT_OK, EXIT_BELOW_MIN, EXIT_USAGE) == (0, 1, 2)
    assert issubclass(RubricError, GraderError) and RubricError.exit_code == 2


# ---------------------------------------------------------------------------
# Malformed rubrics: (case id, old text, new text with #< marker, key path, message part)

CHECK0 = "questions[0].parts[0].checks[0]"
CHECK1 = "questions[0].parts[0].checks[1]"
NET_CHECK0 = "questions[1].parts[0].checks[0]"

MALFORMED = [
    ("unknown_kind", "kind: toy_grad", "kind: toy_gard  #<", NET_CHECK0 + ".kind",
     "unknown check kind 'toy_gard' (known: "),
    ("unknown_option", "rtol: 1.0e-9", "rtoll: 1.0e-9  #<", CHECK1 + ".rtoll",
     "unknown option 'rtoll' for check kind 'toy_values'"),
    ("unknown_global_option", "  grad_tol: 5\n", "  grad_tol: 5\n  bogus: 1  #<\n", "options.bogus",
     "option 'bogus' is not accepted by any check kind"),
    ("option_not_a_number", 'step: "1e-7"', "step: fast  #<", NET_CHECK0 + ".step", "must be a number"),
    ("global_option_not_a_number", "rtol: 1e-3", "rtol: tight  #<", "options.rtol", "must be a number"),
    ("points_do_not_sum", "points: 3.5", "points: 4  #<", "questions[0].points",
     "worth 4 points but its checks add up to 3.5"),
    ("duplicate_question_id", "- id: q2", "- id: q1  #<", "questions[1].id", "duplicate question id 'q1'"),
    ("duplicate_part_id", "- id: net", "- id: softmax  #<", "questions[1].parts[0].id",
     "duplicate part id 'softmax' (first used at line 15, questions[0].parts[0].id)"),
    ("duplicate_check_id", "- id: own\n            kind: toy_values",
     "- id: defaults  #<\n            kind: toy_values", CHECK1 + ".id", "duplicate check id 'defaults'"),
    ("unknown_top_level_key", "seed: 7\n", "seed: 7\nseeds: 8  #<\n", "seeds", "unknown top-level key 'seeds'"),
    ("unknown_question_key", "title: Network", "titel: Network  #<", "questions[1].titel",
     "unknown question key 'titel'"),
    ("unknown_part_key", "title: forward/backward", "titel: x  #<", "questions[1].parts[0].titel",
     "unknown part key 'titel'"),
    ("bad_visibility", "visibility: hidden", "visibility: secret  #<", CHECK1 + ".visibility",
     "expected one of visible, hidden, after_due_date, after_published"),
    ("missing_required_key", "      - id: softmax\n        find: [q1_softmax.softmax]\n",
     "      - id: softmax  #<\n", "questions[0].parts[0].find", "required key is missing"),
    ("bad_id", "- id: q2", "- id: q 2  #<", "questions[1].id", "an id must be"),
    ("negative_points", "points: 2.5", "points: -1  #<", CHECK1 + ".points", "points must be a number >= 0"),
    ("boolean_points", "points: 2.5", "points: yes  #<", CHECK1 + ".points", "points must be a number >= 0"),
    ("seed_not_int", "seed: 7", "seed: seven  #<", "seed", "seed must be an integer"),
    ("empty_find", "find: [q1_softmax.softmax]", "find: []  #<", "questions[0].parts[0].find", "empty list"),
    ("malformed_candidate", "find: [q1_softmax.softmax]", "find: [softmax]  #<",
     "questions[0].parts[0].find[0]", "expected 'module.name'"),
    ("unknown_adapter", "adapter: network_b2_block}", "adapter: nope}  #<", "questions[1].parts[0].find[1].adapter",
     "unknown adapter 'nope' (known: network_b2_block)"),
    ("bad_cost_policy", "policy: {cost: either, python2: {port_with_penalty: 0.25}}",
     "policy: {cost: median}  #<", "policy.cost",
     "expected one of sum, mean, either"),
    ("bad_python2_penalty", "port_with_penalty: 0.25}}", "port_with_penalty: 2}}  #<",
     "policy.python2.port_with_penalty", "in [0, 1]"),
    ("bad_python2_policy", "python2: {port_with_penalty: 0.25}}", "python2: keep}  #<", "policy.python2",
     "expected one of port, reject, or {port_with_penalty: <fraction>}"),
    ("reference_missing", "reference: ref", "reference: nowhere  #<", "reference", "reference folder not found"),
    ("isolate_not_a_mapping", "isolate: {softmax: q1_softmax, sigmoid: q2_sigmoid}", "isolate: [softmax]  #<",
     "isolate", "expected function name -> module name (a mapping), got a list"),
    ("isolate_bad_module", "sigmoid: q2_sigmoid}", "sigmoid: 2}  #<", "isolate.sigmoid", "expected a module name"),
    ("uses_unknown_function", "        find: [q1_softmax.softmax]\n",
     "        find: [q1_softmax.softmax]\n        uses: [sigmoid, tanh]  #<\n", "questions[0].parts[0].uses[1]",
     "'tanh' is not a function of the rubric's isolate map (sigmoid, softmax)"),
    ("uses_not_a_list", "        find: [q1_softmax.softmax]\n",
     "        find: [q1_softmax.softmax]\n        uses: sigmoid  #<\n", "questions[0].parts[0].uses",
     "expected a list of function names from isolate"),
]


def test_uses_names_the_isolated_functions_a_part_calls(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path, edited(
        "        find: [q1_softmax.softmax]\n", "        find: [q1_softmax.softmax]\n        uses: [sigmoid]\n")))
    assert rubric.questions[0].parts[0].uses == ("sigmoid",)
    assert rubric.questions[1].parts[0].uses is None   # absent: every isolated function counts


@pytest.mark.parametrize("old, new, key, message", [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_rubric_names_file_line_and_key(tmp_path, old, new, key, message):
    path = write_rubric(tmp_path, edited(old, new), "bad.yaml")
    line = marked_line(path)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    err = info.value
    assert str(err).startswith("%s:%d: %s: " % (path, line, key)), str(err)
    assert message in str(err)
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert "\n" not in str(err)


def test_unknown_kind_lists_known_kinds(tmp_path):
    path = write_rubric(tmp_path, edited("kind: toy_grad", "kind: toy_gard"))
    with pytest.raises(RubricError, match=r"known: .*toy_grad.*toy_values.*did you mean 'toy_grad'"):
        load_rubric(path)


def test_unknown_option_lists_accepted_options(tmp_path):
    path = write_rubric(tmp_path, edited("rtol: 1.0e-9", "rtoll: 1.0e-9"))
    with pytest.raises(RubricError, match=r"accepted: atol, cases, grad_tol, rtol.*did you mean 'rtol'"):
        load_rubric(path)


@pytest.mark.parametrize("old, new, message", [
    ("points: 3.5", "points: 3.5: 1  #<", "invalid YAML: mapping values are not allowed"),
    ("seed: 7\n", "seed: 7\nseed: 8  #<\n", "duplicate key 'seed' (first on line 2)"),
], ids=["syntax_error", "duplicate_yaml_key"])
def test_bad_yaml_names_file_and_line(tmp_path, old, new, message):
    path = write_rubric(tmp_path, edited(old, new), "bad.yaml")
    line = marked_line(path)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value).startswith("%s:%d: " % (path, line))
    assert message in str(info.value)
    assert info.value.line == line and info.value.key is None


@pytest.mark.parametrize("text, message", [
    ("", "the rubric is empty"),
    ("- a\n- b\n", "expected the rubric (a mapping), got a list"),
])
def test_rubric_not_a_mapping(tmp_path, text, message):
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(RubricError, match=re.escape(message)) as info:
        load_rubric(path)
    assert str(info.value).startswith(str(path) + ":")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value) == "%s: rubric file not found" % path
    assert info.value.line is None
    with pytest.raises(RubricError, match="not found"):
        rubric_sha256(path)


def test_missing_default_reference(tmp_path, monkeypatch):
    monkeypatch.setattr(rubric_module, "default_reference_dir", lambda: tmp_path / "absent")
    path = write_rubric(tmp_path, VALID.replace("reference: ref\n", ""))
    with pytest.raises(RubricError, match=r"rubric\.yaml:1: reference: not given, and the default reference folder"):
        load_rubric(path)
