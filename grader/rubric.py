"""The rubric: YAML -> validated, frozen dataclasses (docs/architecture.md, rule 5: points live here only).

The YAML shape::

    name: "Homework 2"
    seed: 7
    reference: ../reference        # the reference folder, laid out like a student's
    plugin: hw2_checks.py          # optional: the assignment's own Python (grader.plugins)
    options: {rtol: 1.0e-6}        # optional: overrides of any check option, for every check that accepts it
    policy: {cost: sum}            # optional
    isolate: {relu: layers, check_grad: {module: gradients, stub: true}}
    questions:
      - id: q1
        title: Layers
        points: 10
        parts:
          - id: relu
            title: "relu (1a)"
            find: [layers.relu]                 # strings "module.name", or mappings {module:, name:, adapter:}
            diagnose: relu                      # optional: a mistake finder the plug-in registered
            mistakes: {relu_leaky: "..."}       # the hint of each mistake the finder can name
            checks:
              - id: handout_values
                kind: values
                points: 2
                hint: "..."
                visibility: visible
                cases: [[[1, 2]]]               # any other key is an option of the kind

Meaning of the keys:

* ``assignment`` names the homework the rubric grades: 1 to 64 letters, digits, ``_``,
  ``.`` or ``-`` (default: the file's stem). The gradebook keeps every row under it, so
  two assignments graded into one file never touch each other's rows; two rubrics of one
  homework (code alone, code and write-up) give the same one. It is never used as a path.
* ``seed`` (int >= 0) seeds every random input, with the part id and check id.
* ``reference`` is the folder of the reference solution, relative to the rubric
  file; default :func:`default_reference_dir`. It must exist.
* ``plugin`` names the assignment's own Python (check kinds, input generators,
  adapters, mistake finders: :mod:`grader.plugins`), imported before the checks are
  read: a dotted module name, or a ``.py`` file relative to the rubric.
* ``default: true`` marks the bundled rubric used when no ``--rubric`` is given.
* ``options`` overrides a check option for every check whose kind accepts it;
  each option must be accepted by at least one registered kind.
* ``policy``: ``cost`` in sum | mean | either (default sum); ``python2`` in
  port | reject or ``{port_with_penalty: <fraction>}`` (default port); ``hints``
  (how much feedback may say): formula (the default: the named mistake and how to
  fix it, formulas included), mistake (the mistake's name and where only, no formula),
  none (checks' messages only).
* ``isolate`` maps a graded function's name to the reference module providing it
  while another function is graded (docs/architecture.md, rule 2); ``{module:, stub: true}``
  stands in a function called for its printed output only (it returns None). A part's ``uses`` lists the
  ones its function calls (default: all): only a mistake in one of those makes
  the part run a second time on the reference's stand-ins (runner.grade_parts).
* A question's ``points`` must equal the sum of its checks' points: the total is
  written twice on purpose, so an edit that changes one check is caught.
* A check's options are the kind's defaults (:meth:`CheckKind.options`),
  overridden by the top-level ``options``, overridden by the check's own keys.
  ``visibility`` is visible | hidden | after_due_date | after_published.
* ``title`` of questions and parts defaults to the id; ``name`` to the file's stem.

Unlike plain PyYAML (YAML 1.1), ``1e-6`` (an exponent without a dot) reads as a
float, as every rubric author means it. A numeric option written as a quoted
string (``rtol: "1e-6"``) is converted too when the kind's default is a float.

Every validation failure raises :class:`RubricError` whose message names the
file, the line and the key path, e.g.
``my-rubric.yaml:14: questions[0].parts[1].checks[2].kind: unknown check kind 'valuez' (known: ...)``.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import math
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union


from .bundled import bundled_rubrics_dir, default_reference_dir, default_rubric_path, named_rubric  # noqa: F401
from .checks.base import REGISTRY, CheckKind
from .plugins import ADAPTERS, FINDERS, is_path, known, load_plugin
from .errors import RubricError
from .lateness import NO_POLICY, LatePolicy, parse_time
from .sandbox.limits import DEFAULT_LIMITS, Limits
from .writtenspec import DEFAULT_WRITEUP, WriteupSpec, WrittenSpec, read_writeup, read_written
from .yamlines import At, LineDict, LineList, describe, is_number, parse_yaml, plain, suggest

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
COST_POLICIES = ("sum", "mean", "either")
PYTHON2_POLICIES = ("port", "reject")
POLICY_DEFAULTS: Dict[str, Any] = {"cost": "sum", "python2": "port", "hints": "formula"}
HINT_POLICIES = ("formula", "mistake", "none")
POINTS_TOLERANCE = 1e-9

TOP_KEYS = ("name", "assignment", "seed", "reference", "plugin", "default", "options", "policy", "isolate", "limits", "writeup", "late", "questions")
LATE_KEYS = ("due", "grace_hours", "percent_per_day", "cap_percent")
QUESTION_KEYS = ("id", "title", "points", "parts")
PART_KEYS = ("id", "title", "find", "uses", "written", "diagnose", "mistakes", "checks")
CHECK_KEYS = ("id", "kind", "points", "visibility", "hint", "title")
CANDIDATE_KEYS = ("module", "name", "adapter")

_ID = re.compile(r"[A-Za-z0-9_]+\Z")
ASSIGNMENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

PathLike = Union[str, Path]


# ---------------------------------------------------------------------------
# The dataclasses


@dataclass(frozen=True)
class CheckSpec:
    """One check: a registered kind, its points and its fully merged options."""

    id: str
    kind: str
    points: float
    # hash=False: the spec stays hashable although options is a dict.
    options: Mapping[str, Any] = field(hash=False)
    visibility: str = "visible"
    hint: Optional[str] = None
    title: Optional[str] = None


@dataclass(frozen=True)
class Candidate:
    """A place the student's function may be: ``module.name``, optionally through an adapter."""

    module: str
    name: str
    adapter: Optional[str] = None

    def __str__(self) -> str:
        text = "%s.%s" % (self.module, self.name)
        return text + (" (via %s)" % self.adapter if self.adapter else "")


@dataclass(frozen=True)
class PartSpec:
    """One graded function, or one written answer (``written``); ``points`` is the sum of its checks' points."""

    id: str
    title: str
    points: float
    find: Tuple[Candidate, ...]
    checks: Tuple[CheckSpec, ...]
    written: Optional[WrittenSpec] = None
    uses: Optional[Tuple[str, ...]] = None   # isolated functions the graded one calls; None: all of them
    diagnose: Optional[str] = None           # the mistake finder (grader.plugins) run where it lost points
    mistakes: Mapping[str, str] = field(default_factory=dict, hash=False)   # mistake id -> hint

    def check(self, check_id: str) -> CheckSpec:
        """The check with this id; KeyError if there is none."""
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


@dataclass(frozen=True)
class QuestionSpec:
    """One question of the handout; ``points`` equals the sum of its parts' points."""

    id: str
    title: str
    points: float
    parts: Tuple[PartSpec, ...]


@dataclass(frozen=True)
class Rubric:
    """A whole validated rubric. ``path`` is the file as given; ``reference`` is resolved."""

    path: Path
    sha256: str
    name: str
    seed: int
    reference: Path
    isolate: Mapping[str, str] = field(hash=False)
    policy: Mapping[str, Any] = field(hash=False)
    questions: Tuple[QuestionSpec, ...]
    limits: Limits = field(default=DEFAULT_LIMITS, hash=False)
    writeup: WriteupSpec = field(default=DEFAULT_WRITEUP, hash=False)
    late: LatePolicy = field(default=NO_POLICY, hash=False)
    plugin: Optional[str] = None                        # the assignment's own Python (grader.plugins)
    stubs: frozenset = field(default=frozenset(), hash=False)   # isolated names that stand in as no-ops
    assignment: str = ""     # the gradebook keys this rubric's grades by it (``assignment:``, default the file's stem)

    def parts(self) -> Iterator[Tuple[QuestionSpec, PartSpec]]:
        """Every (question, part) pair, in rubric order."""
        for question in self.questions:
            for part in question.parts:
                yield question, part

    def part(self, part_id: str) -> Tuple[QuestionSpec, PartSpec]:
        """The part with this id and its question; KeyError if there is none."""
        for question, part in self.parts():
            if part.id == part_id:
                return question, part
        raise KeyError(part_id)

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions))

    def written_parts(self) -> List[PartSpec]:
        """The parts answered in a write-up, in rubric order."""
        return [part for _, part in self.parts() if part.written is not None]


# ---------------------------------------------------------------------------
# Field readers: each returns a validated value or raises RubricError at its location


def _mapping(value: Any, at: At, what: str) -> LineDict:
    """``value`` if it is a mapping, else an error saying ``what`` was expected."""
    if not isinstance(value, dict):
        raise at.error("expected %s (a mapping), got %s" % (what, describe(value)))
    return value


def _list(value: Any, at: At, what: str) -> LineList:
    """``value`` if it is a non-empty list, else an error."""
    if not isinstance(value, list):
        raise at.error("expected a list of %s, got %s" % (what, describe(value)))
    if not value:
        raise at.error("expected at least one of %s, got an empty list" % what)
    return value


def _no_unknown_keys(data: dict, allowed: Iterable[str], at: At, what: str) -> None:
    """Raise at the first key of ``data`` not in ``allowed``."""
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            raise at.child(data, key).error("unknown %s key %r (allowed: %s)%s" % (
                what, key, ", ".join(allowed), suggest(key, allowed)))


def _required(data: dict, key: str, at: At) -> Tuple[Any, At]:
    """``data[key]`` and its location; an error at the mapping's line if it is missing."""
    if key not in data:
        raise at.missing(data, key).error("required key is missing")
    return data[key], at.child(data, key)


def _read_id(data: dict, at: At) -> Tuple[str, At]:
    """The mapping's ``id``: a non-empty string of letters, digits and underscores."""
    value, where = _required(data, "id", at)
    if not isinstance(value, str) or not _ID.match(value):
        raise where.error("an id must be a non-empty string of letters, digits and _, got %s"
                          % describe(value))
    return value, where


def _read_points(value: Any, at: At) -> float:
    """A finite number >= 0, as a float."""
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise at.error("points must be a number >= 0, got %s" % describe(value))
    return float(value)


def _read_text(data: dict, key: str, at: At, default: Optional[str]) -> Optional[str]:
    """An optional non-empty string under ``key``; ``default`` when absent."""
    if key not in data:
        return default
    value, where = data[key], at.child(data, key)
    if not isinstance(value, str) or not value.strip():
        raise where.error("expected a non-empty string, got %s" % describe(value))
    return value


# ---------------------------------------------------------------------------
# Top-level sections


def _read_assignment(data: dict, at: At, rubric_path: Path) -> str:
    """The assignment id: ``assignment:``, else the rubric file's stem; 1 to 64 letters, digits, _ . or -."""
    if "assignment" not in data:
        if ASSIGNMENT_ID.match(rubric_path.stem):
            return rubric_path.stem
        raise at.missing(data, "assignment").error(
            "not given, and the file's name %r is no assignment id: give one, e.g. assignment: a1" % rubric_path.stem)
    value, where = data["assignment"], at.child(data, "assignment")
    if not isinstance(value, str) or not ASSIGNMENT_ID.match(value):
        raise where.error("an assignment id is 1 to 64 letters, digits, _, . or - (e.g. a1), got %s%s" % (
            describe(value), "; quote it" if is_number(value) else ""))
    return value


def _read_seed(data: dict, at: At) -> int:
    value, where = _required(data, "seed", at)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise where.error("seed must be an integer >= 0, got %s" % describe(value))
    return value


def _read_reference(data: dict, at: At, rubric_path: Path) -> Path:
    """The reference folder, resolved against the rubric's folder; it must exist."""
    if "reference" not in data:
        folder = default_reference_dir().resolve()
        if not folder.is_dir():
            raise at.missing(data, "reference").error(
                "not given, and the default reference folder %s does not exist" % folder)
        return folder
    value, where = data["reference"], at.child(data, "reference")
    if not isinstance(value, str) or not value.strip():
        raise where.error("expected a folder path, got %s" % describe(value))
    folder = Path(value).expanduser()
    if not folder.is_absolute():
        folder = rubric_path.parent / folder
    folder = folder.resolve()
    if folder.suffix == ".json" and folder.is_file():
        return folder   # a student kit's recorded expected values (grader/bundles.py)
    if not folder.is_dir():
        raise where.error("reference folder not found: %s" % folder)
    return folder


def _read_policy(data: dict, at: At) -> Dict[str, Any]:
    """The policy with defaults filled in; values are checked against the allowed ones."""
    policy = dict(POLICY_DEFAULTS)
    if "policy" not in data:
        return policy
    where = at.child(data, "policy")
    given = _mapping(data["policy"], where, "policy settings")
    _no_unknown_keys(given, POLICY_DEFAULTS, where, "policy")
    if "cost" in given:
        cost = given["cost"]
        if cost not in COST_POLICIES:
            raise where.child(given, "cost").error("expected one of %s, got %s" % (
                ", ".join(COST_POLICIES), describe(cost)))
        policy["cost"] = cost
    if "python2" in given:
        policy["python2"] = _read_python2_policy(given["python2"], where.child(given, "python2"))
    if "hints" in given:
        if given["hints"] not in HINT_POLICIES:
            raise where.child(given, "hints").error("expected one of %s, got %s" % (
                ", ".join(HINT_POLICIES), describe(given["hints"])))
        policy["hints"] = given["hints"]
    return policy


def _read_python2_policy(value: Any, at: At) -> Any:
    """'port', 'reject', or {'port_with_penalty': fraction in [0, 1]}."""
    if isinstance(value, str) and value in PYTHON2_POLICIES:
        return value
    if isinstance(value, dict) and list(value) == ["port_with_penalty"]:
        penalty = value["port_with_penalty"]
        if is_number(penalty) and 0 <= penalty <= 1:
            return {"port_with_penalty": float(penalty)}
        raise at.child(value, "port_with_penalty").error(
            "the penalty must be a fraction of the part's points in [0, 1], got %s" % describe(penalty))
    raise at.error("expected one of %s, or {port_with_penalty: <fraction>}, got %s" % (
        ", ".join(PYTHON2_POLICIES), describe(value)))


def _read_isolate(data: dict, at: At) -> Tuple[Dict[str, str], frozenset]:
    """Function name -> reference module name, both valid Python names; and the stubbed names.

    A value is a module name, or ``{module: NAME, stub: true}`` for a function called for what
    it prints only (a gradient checker inside the code it checks): it then stands in as a
    function that returns None, and never calls back into the grading process.
    """
    if "isolate" not in data:
        return {}, frozenset()
    where = at.child(data, "isolate")
    given = _mapping(data["isolate"], where, "function name -> module name")
    isolate: Dict[str, str] = {}
    stubs = set()
    for name, module in given.items():
        item = where.child(given, name)
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise item.error("expected a function name, got %s" % describe(name))
        if isinstance(module, dict):
            _no_unknown_keys(module, ("module", "stub"), item, "isolate entry")
            stub = module.get("stub", False)
            if not isinstance(stub, bool):
                raise item.child(module, "stub").error("expected true or false, got %s" % describe(stub))
            if stub:
                stubs.add(name)
            module, _ = _required(module, "module", item)
        if not isinstance(module, str) or not _MODULE.match(module):
            raise item.error("expected a module name, got %s" % describe(module))
        isolate[name] = module
    return isolate, frozenset(stubs)


def _read_plugin(data: dict, at: At, rubric_path: Path) -> Optional[str]:
    """Import the plug-in the rubric names (grader.plugins.load_plugin), before its checks are read."""
    if "plugin" not in data:
        return None
    value, where = data["plugin"], at.child(data, "plugin")
    if not isinstance(value, str) or not (is_path(value) or _MODULE.match(value)):
        raise where.error("expected a module name, a .py file or a package folder (ending in /), got %s"
                          % describe(value))
    try:
        load_plugin(value, rubric_path.parent)
    except Exception as exc:  # noqa: BLE001 - any failure of the course's plug-in is the rubric's error
        raise where.error("the plug-in %s cannot be imported: %s: %s" % (value, type(exc).__name__, exc)) from None
    return value


def _read_diagnosis(data: dict, at: At) -> Tuple[Optional[str], Dict[str, str]]:
    """A part's mistake finder (a registered name) and the hint of each mistake, by id."""
    finder = data.get("diagnose")
    if finder is not None and (not isinstance(finder, str) or finder not in FINDERS):
        shown = repr(finder) if isinstance(finder, str) else describe(finder)
        raise at.child(data, "diagnose").error("unknown mistake finder %s (known: %s; a rubric's plugin: "
                                               "registers them)%s" % (shown, known(FINDERS), suggest(finder, FINDERS)))
    hints: Dict[str, str] = {}
    if "mistakes" in data:
        where = at.child(data, "mistakes")
        given = _mapping(data["mistakes"], where, "mistake id -> hint")
        for ident, hint in given.items():
            if not isinstance(ident, str) or not _ID.match(ident):
                raise where.child(given, ident).error("expected a mistake id, got %s" % describe(ident))
            if not isinstance(hint, str) or not hint.strip():
                raise where.child(given, ident).error("expected the mistake's hint (text), got %s" % describe(hint))
            hints[ident] = hint.strip()
    if hints and finder is None:
        raise at.child(data, "mistakes").error("mistakes need a finder: add diagnose: NAME")
    return finder, hints


def _read_late(data: dict, at: At) -> LatePolicy:
    """The late policy: a due date (ISO 8601), grace hours, percent per started day, a cap in percent."""
    if "late" not in data:
        return NO_POLICY
    where = at.child(data, "late")
    given = _mapping(data["late"], where, "late policy settings")
    _no_unknown_keys(given, LATE_KEYS, where, "late")
    due = None
    if "due" in given:
        try:
            due = parse_time(given["due"])
        except (ValueError, TypeError):
            raise where.child(given, "due").error("expected a date and time like 2026-12-01T23:59:00Z, got %s"
                                                  % describe(given["due"])) from None
    numbers = {}
    for key in LATE_KEYS[1:]:
        if key in given:
            value = given[key]
            if not is_number(value) or value < 0 or (key != "grace_hours" and value > 100):
                raise where.child(given, key).error("expected a number >= 0%s, got %s" % (
                    "" if key == "grace_hours" else " and <= 100", describe(value)))
            numbers[key] = float(value)
    return LatePolicy(due, **numbers)


def _read_limits(data: dict, at: At) -> Limits:
    """The sandbox's limits: the defaults of sandbox/limits.py, with the rubric's numbers."""
    if "limits" not in data:
        return DEFAULT_LIMITS
    where = at.child(data, "limits")
    given = _mapping(data["limits"], where, "limit name -> number")
    known = tuple(DEFAULT_LIMITS.as_dict())
    _no_unknown_keys(given, known, where, "limits")
    for key, value in given.items():
        if not is_number(value) or value <= 0:
            raise where.child(given, key).error("expected a positive number, got %s" % describe(value))
    return Limits.from_mapping(plain(given))


@dataclass(frozen=True)
class _Override:
    """A top-level option value and where it was written (for errors found while merging)."""

    value: Any
    at: At


def _read_global_options(data: dict, at: At, kinds: Mapping[str, CheckKind]) -> Dict[str, _Override]:
    """The top-level ``options``: each must be accepted by at least one registered kind."""
    if "options" not in data:
        return {}
    where = at.child(data, "options")
    given = _mapping(data["options"], where, "check options")
    known = sorted({name for kind in kinds.values() for name in kind.options()})
    overrides: Dict[str, _Override] = {}
    for key, value in given.items():
        item = where.child(given, key)
        if key not in known:
            raise item.error("option %r is not accepted by any check kind (known options: %s)%s" % (
                key, ", ".join(known), suggest(key, known)))
        overrides[key] = _Override(plain(value), item)
    return overrides


# ---------------------------------------------------------------------------
# Questions, parts, checks


@dataclass
class _Seen:
    """Ids met so far, to report duplicates with the place of the first one."""

    questions: Dict[str, At] = field(default_factory=dict)
    parts: Dict[str, At] = field(default_factory=dict)

    @staticmethod
    def claim(table: Dict[str, At], ident: str, at: At, what: str) -> None:
        """Record ``ident`` or raise if it was already used."""
        first = table.get(ident)
        if first is not None:
            raise at.error("duplicate %s id %r (first used at line %s, %s)" % (
                what, ident, first.line, first.key))
        table[ident] = at


@dataclass(frozen=True)
class _Context:
    """What every check needs while being read: the registry and the top-level overrides."""

    kinds: Mapping[str, CheckKind]
    overrides: Mapping[str, _Override]
    writeup: WriteupSpec = DEFAULT_WRITEUP
    isolate: Mapping[str, str] = field(default_factory=dict)


def _read_questions(data: dict, at: At, ctx: _Context) -> Tuple[QuestionSpec, ...]:
    value, where = _required(data, "questions", at)
    items = _list(value, where, "questions")
    seen = _Seen()
    return tuple(_read_question(item, where.child(items, i), ctx, seen) for i, item in enumerate(items))


def _read_question(value: Any, at: At, ctx: _Context, seen: _Seen) -> QuestionSpec:
    """One question; its points must equal the sum of its parts' points."""
    data = _mapping(value, at, "a question")
    _no_unknown_keys(data, QUESTION_KEYS, at, "question")
    ident, id_at = _read_id(data, at)
    seen.claim(seen.questions, ident, id_at, "question")
    title = _read_text(data, "title", at, ident)
    points_value, points_at = _required(data, "points", at)
    points = _read_points(points_value, points_at)
    parts_value, parts_at = _required(data, "parts", at)
    items = _list(parts_value, parts_at, "parts")
    parts = tuple(_read_part(item, parts_at.child(items, i), ctx, seen) for i, item in enumerate(items))
    total = sum(part.points for part in parts)
    if abs(total - points) > POINTS_TOLERANCE:
        raise points_at.error("question %r is worth %g points but its checks add up to %g" % (
            ident, points, total))
    return QuestionSpec(ident, title, points, parts)


def _read_part(value: Any, at: At, ctx: _Context, seen: _Seen) -> PartSpec:
    """One part; part ids are unique across the whole rubric, check ids within the part."""
    data = _mapping(value, at, "a part")
    _no_unknown_keys(data, PART_KEYS, at, "part")
    ident, id_at = _read_id(data, at)
    seen.claim(seen.parts, ident, id_at, "part")
    title = _read_text(data, "title", at, ident)
    written = None
    if "written" in data:
        if "find" in data:
            raise at.child(data, "find").error("a part is either code (find) or written, not both")
        written = read_written(data["written"], at.child(data, "written"), ctx.writeup)
        find: Tuple[Candidate, ...] = ()
    else:
        find_value, find_at = _required(data, "find", at)
        find = _read_find(find_value, find_at)
    uses = _read_uses(data, at, ctx.isolate) if "uses" in data else None
    finder, mistakes = _read_diagnosis(data, at)
    checks_value, checks_at = _required(data, "checks", at)
    items = _list(checks_value, checks_at, "checks")
    check_ids: Dict[str, At] = {}
    checks = tuple(_read_check(item, checks_at.child(items, i), ctx, check_ids)
                   for i, item in enumerate(items))
    for i, check in enumerate(checks):
        if check.kind.startswith("written_") != (written is not None):
            raise checks_at.child(items, i).child(items[i], "kind").error(
                "check kind %r belongs in a %s part" % (check.kind, "code" if written is not None else "written"))
        if written is not None:
            written.validate_options(check.options, checks_at.child(items, i), items[i])
    return PartSpec(ident, title, float(sum(c.points for c in checks)), find, checks, written, uses,
                    finder, mistakes)


def _read_uses(data: dict, at: At, isolate: Mapping[str, str]) -> Tuple[str, ...]:
    """The isolated functions a part's function calls: names from the rubric's ``isolate`` map."""
    where = at.child(data, "uses")
    value = data["uses"]
    if not isinstance(value, list):
        raise where.error("expected a list of function names from isolate, got %s" % describe(value))
    for i, name in enumerate(value):
        if name not in isolate:
            raise where.child(value, i).error("%s is not a function of the rubric's isolate map (%s)" % (
                repr(name) if isinstance(name, str) else describe(name), ", ".join(sorted(isolate)) or "empty"))
    return tuple(value)


def _read_find(value: Any, at: At) -> Tuple[Candidate, ...]:
    """The candidates; a single string is accepted as a list of one."""
    if isinstance(value, str):
        return (_read_candidate(value, at),)
    items = _list(value, at, "candidates (module.name)")
    return tuple(_read_candidate(item, at.child(items, i)) for i, item in enumerate(items))


def _read_candidate(value: Any, at: At) -> Candidate:
    """'module.name' or {module:, name:, adapter:}."""
    if isinstance(value, str):
        module, _, name = value.strip().rpartition(".")
        if not _MODULE.match(module) or not _IDENTIFIER.match(name):
            raise at.error("expected 'module.name' (a function name in a module of the submission), got %r" % value)
        return Candidate(module, name)
    if not isinstance(value, dict):
        raise at.error("expected 'module.name' or {module:, name:, adapter:}, got %s" % describe(value))
    _no_unknown_keys(value, CANDIDATE_KEYS, at, "candidate")
    module, module_at = _required(value, "module", at)
    if not isinstance(module, str) or not _MODULE.match(module):
        raise module_at.error("expected a module name, got %s" % describe(module))
    name, name_at = _required(value, "name", at)
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise name_at.error("expected a function name, got %s" % describe(name))
    adapter = value.get("adapter")
    if adapter is not None and adapter not in ADAPTERS:
        shown = repr(adapter) if isinstance(adapter, str) else describe(adapter)
        raise at.child(value, "adapter").error("unknown adapter %s (known: %s)%s" % (
            shown, known(ADAPTERS), suggest(adapter, ADAPTERS)))
    return Candidate(module, name, adapter)


def _read_check(value: Any, at: At, ctx: _Context, check_ids: Dict[str, At]) -> CheckSpec:
    """One check: the fixed keys, then every other key as an option of its kind."""
    data = _mapping(value, at, "a check")
    ident, id_at = _read_id(data, at)
    _Seen.claim(check_ids, ident, id_at, "check")
    kind = _read_kind(data, at, ctx.kinds)
    points_value, points_at = _required(data, "points", at)
    points = _read_points(points_value, points_at)
    visibility = data.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise at.child(data, "visibility").error("expected one of %s, got %s" % (
            ", ".join(VISIBILITIES), describe(visibility)))
    hint = _read_text(data, "hint", at, None)
    title = _read_text(data, "title", at, None)
    options = _merge_options(kind, data, at, ctx.overrides)
    return CheckSpec(ident, kind.name, points, options, visibility, hint, title)


def _read_kind(data: dict, at: At, kinds: Mapping[str, CheckKind]) -> CheckKind:
    value, where = _required(data, "kind", at)
    if not isinstance(value, str) or value not in kinds:
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise where.error("unknown check kind %s (known: %s)%s" % (
            shown, ", ".join(sorted(kinds)), suggest(value, kinds)))
    return kinds[value]


def _merge_options(kind: CheckKind, data: dict, at: At, overrides: Mapping[str, _Override]) -> Dict[str, Any]:
    """Kind defaults < top-level options < the check's own keys; unknown keys are errors."""
    # Deep copies: a check that mutates its options must not change another's.
    accepted = kind.options()
    options = copy.deepcopy(accepted)
    for key, override in overrides.items():
        if key in accepted:
            options[key] = _coerce(key, copy.deepcopy(override.value), accepted[key], kind, override.at)
    for key, value in data.items():
        if key in CHECK_KEYS:
            continue
        where = at.child(data, key)
        if key not in accepted:
            raise where.error("unknown option %r for check kind %r (accepted: %s)%s" % (
                key, kind.name, ", ".join(sorted(accepted)), suggest(key, list(accepted) + list(CHECK_KEYS))))
        options[key] = _coerce(key, plain(value), accepted[key], kind, where)
    return options


def _coerce(key: str, value: Any, default: Any, kind: CheckKind, at: At) -> Any:
    """``value`` for an option whose default is ``default``.

    Numeric defaults demand numbers, so a typo fails when the rubric loads rather
    than in the middle of grading; a float default also takes a string that parses
    as a float (``"1e-6"``). Other values pass through unchanged: the kinds own them.
    """
    if not is_number(default):
        return value
    if isinstance(value, str) and isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            pass
    if not is_number(value):
        raise at.error("option %r of check kind %r must be a number, got %s" % (key, kind.name, describe(value)))
    return value


# ---------------------------------------------------------------------------
# Entry points


def _check_kinds() -> Mapping[str, CheckKind]:
    """The registry, after importing every module of grader.checks so all kinds are registered."""
    from . import checks
    for info in pkgutil.iter_modules(checks.__path__):
        importlib.import_module("%s.%s" % (checks.__name__, info.name))
    return REGISTRY


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RubricError.at(str(path), None, None, "rubric file not found") from None
    except IsADirectoryError:
        raise RubricError.at(str(path), None, None, "rubric path is a folder, not a YAML file") from None
    except OSError as exc:
        raise RubricError.at(str(path), None, None, "cannot read rubric: %s" % (exc.strerror or exc)) from None


_LATE_BLOCK = re.compile(rb"^late[ \t]*:.*(?:\r?\n(?:[ \t#].*|[ \t]*))*(?:\r?\n|$)", re.MULTILINE)


def grading_bytes(raw: bytes) -> bytes:
    """The rubric's bytes that decide a grade: all but the top-level ``late:`` block.

    Lateness is policy applied when grades are exported or reported (lateness.py): a new due
    date, grace or cap must not make ``grader batch`` regrade the class, so it is not hashed.
    """
    return _LATE_BLOCK.sub(b"", raw)


def rubric_sha256(path: PathLike) -> str:
    """The SHA-256 (hex) of the rubric file's bytes (without its ``late:`` block: :func:`grading_bytes`)."""
    return hashlib.sha256(grading_bytes(_read_bytes(Path(path)))).hexdigest()


def load_rubric(path: PathLike) -> Rubric:
    """Read, validate and return the rubric at ``path``; RubricError on any problem.

    ``Rubric.sha256`` hashes exactly the bytes that were parsed, but for the ``late:`` block
    (:func:`grading_bytes`).
    """
    path = Path(path)
    raw = _read_bytes(path)
    file = str(path)
    root = parse_yaml(raw, file)
    at = At(file)
    if root is None:
        raise at.error("the rubric is empty")
    data = _mapping(root, At(file, "", getattr(root, "line", 1) or 1), "the rubric")
    _no_unknown_keys(data, TOP_KEYS, at, "top-level")
    plugin = _read_plugin(data, at, path)
    kinds = _check_kinds()
    name = _read_text(data, "name", at, path.stem)
    assignment = _read_assignment(data, at, path)
    seed = _read_seed(data, at)
    reference = _read_reference(data, at, path)
    policy = _read_policy(data, at)
    isolate, stubs = _read_isolate(data, at)
    limits = _read_limits(data, at)
    writeup = read_writeup(data["writeup"], at.child(data, "writeup")) if "writeup" in data else DEFAULT_WRITEUP
    ctx = _Context(kinds, _read_global_options(data, at, kinds), writeup, isolate)
    questions = _read_questions(data, at, ctx)
    late = _read_late(data, at)
    return Rubric(path=path, sha256=hashlib.sha256(grading_bytes(raw)).hexdigest(), name=name, seed=seed,
                  reference=reference, isolate=isolate, policy=policy, questions=questions, limits=limits,
                  writeup=writeup, late=late, assignment=assignment, plugin=plugin, stubs=stubs)
