"""The rubric's written half: which files are write-ups, the notation, and each written part.

YAML (docs/written.md says how each key is read)::

    writeup:                                  # optional; these are the defaults
      include: ["*.md", "*.tex", "*.txt", "*.ipynb", "*.pdf"]
      exclude: ["requirements*.txt", "LICENSE*"]
      symbols: {W1: [w1, omega1], yhat: [yprime]}     # the rubric's name: spellings that mean it
      functions: {sigma: [logistic, s, S]}            # in call position only: s(x) is σ(x)
    ...
      - id: logistic_derivative
        written:
          label: 2a                           # the handout's question number and letter
          cues: ["sigma'", "\\\\sigma\\\\^\\\\{?\\\\\\\\prime"]   # regular expressions that recognize the part by content
          given: ["\\sigma(x) = \\frac{1}{1 + e^{-x}}"]   # what the question itself states: never an answer
          conventions:                        # inputs the part's expressions are evaluated on
            - name: scalar
              dims: {}                        # sizes: {Dx: 3, H: 4, Dy: 5} (distinct, so shapes can be named)
              variables: {x: {}}              # {shape: [1, Dx], kind: real | onehot | count}
              define: []                      # relations in LaTeX, evaluated in order: ["h = \\\\sigma(z_1)"]
        checks: [...]                         # written_result | written_form | written_proof

Every string of math is parsed when the rubric loads, so a typo in a rubric
is an error at its line, not a surprise while grading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

from .written.answer import Convention, Notation
from .written.latex import MathError
from .written.sources import DEFAULT_EXCLUDE, DEFAULT_INCLUDE
from .yamlines import At, describe, plain

WRITEUP_KEYS = ("include", "exclude", "symbols", "functions")
WRITTEN_KEYS = ("label", "cues", "conventions", "given")
CONVENTION_KEYS = ("name", "dims", "variables", "define", "index")
VARIABLE_KINDS = ("real", "onehot", "count")
_LABEL = re.compile(r"\d[a-h]\Z")
_MATH_OPTIONS = ("expected", "start", "end", "factor")


@dataclass(frozen=True)
class WriteupSpec:
    include: Tuple[str, ...] = DEFAULT_INCLUDE
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    notation: Notation = field(default_factory=Notation, hash=False)


DEFAULT_WRITEUP = WriteupSpec()


@dataclass(frozen=True)
class WrittenSpec:
    """One written part: its label, its cues and the conventions its math is evaluated in."""

    label: str
    cues: Tuple[str, ...]
    conventions: Tuple[Convention, ...] = field(hash=False)
    notation: Notation = field(default_factory=Notation, hash=False)
    given: Tuple[str, ...] = ()       # the question's own formulas: a write-up that restates them has not answered

    def validate_options(self, options: Mapping[str, Any], at: At, data: Any) -> None:
        """Every math string among a check's options parses; else a RubricError at its line."""
        for key in _MATH_OPTIONS:
            value = options.get(key)
            texts = list(value.values()) if isinstance(value, dict) else [value] if value else []
            for text in texts:
                self._parses(text, at.child(data, key) if key in data else at)
            if isinstance(value, dict):
                unknown = set(value) - {c.name for c in self.conventions}
                if unknown:
                    raise at.child(data, key).error("no convention named %r in this part" % sorted(unknown)[0])
        for i, mistake in enumerate(options.get("mistakes") or []):
            where = at.child(data, "mistakes")
            if not isinstance(mistake, dict) or "result" not in mistake or "says" not in mistake:
                raise where.error("mistake %d: expected {result: LaTeX, says: text}" % i)
            results = mistake["result"] if isinstance(mistake["result"], dict) else {"": mistake["result"]}
            for text in results.values():
                self._parses(text, where)

    def _parses(self, text: Any, at: At) -> None:
        if not isinstance(text, str):
            raise at.error("expected LaTeX math (a string), got %s" % describe(text))
        try:
            self.notation.parse(text)
        except MathError as exc:
            raise at.error("cannot read the math %r: %s" % (text, exc)) from None


def _strings(value: Any, at: At, what: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise at.error("expected a list of %s (strings), got %s" % (what, describe(value)))
    return tuple(value)


def _keys(data: Any, allowed, at: At, what: str) -> dict:
    if not isinstance(data, dict):
        raise at.error("expected %s (a mapping), got %s" % (what, describe(data)))
    for key in data:
        if key not in allowed:
            raise at.child(data, key).error("unknown %s key %r (allowed: %s)" % (what, key, ", ".join(allowed)))
    return data


def read_writeup(value: Any, at: At) -> WriteupSpec:
    data = _keys(value, WRITEUP_KEYS, at, "writeup")
    include = _strings(data["include"], at.child(data, "include"), "file patterns") if "include" in data else DEFAULT_INCLUDE
    exclude = _strings(data["exclude"], at.child(data, "exclude"), "file patterns") if "exclude" in data else DEFAULT_EXCLUDE
    symbols = _aliases(data.get("symbols", {}), at.child(data, "symbols") if "symbols" in data else at)
    functions = _aliases(data.get("functions", {}), at.child(data, "functions") if "functions" in data else at)
    words = tuple(sorted(set(symbols) | set(symbols.values()) | set(functions) | set(functions.values())))
    return WriteupSpec(include, exclude, Notation(words, symbols, functions))


def _aliases(value: Any, at: At) -> Dict[str, str]:
    """{name: [spelling, ...]} -> {spelling: name}."""
    if not isinstance(value, dict):
        raise at.error("expected name: [spellings], got %s" % describe(value))
    out: Dict[str, str] = {}
    for name, spellings in value.items():
        for spelling in _strings(spellings, at.child(value, name), "spellings"):
            out[spelling] = str(name)
    return out


def read_written(value: Any, at: At, writeup: WriteupSpec) -> WrittenSpec:
    data = _keys(value, WRITTEN_KEYS, at, "written")
    label = data.get("label")
    if not isinstance(label, str) or not _LABEL.match(label):
        raise (at.child(data, "label") if "label" in data else at).error(
            "expected the handout's label, a question number and a letter (2a), got %s" % describe(label))
    cues = _strings(data.get("cues", []) or [], at.child(data, "cues") if "cues" in data else at, "cues")
    for i, cue in enumerate(cues):
        try:
            re.compile(cue)
        except re.error as exc:
            raise at.child(data, "cues").error("cue %d is not a regular expression: %s" % (i, exc)) from None
    if "conventions" not in data:
        raise at.error("required key conventions is missing")
    items = data["conventions"]
    where = at.child(data, "conventions")
    if not isinstance(items, list) or not items:
        raise where.error("expected a list of conventions, got %s" % describe(items))
    words = set(writeup.notation.words)
    conventions = []
    for i, item in enumerate(items):
        conventions.append(_read_convention(item, where.child(items, i)))
        words |= set(conventions[-1].variables) | set(conventions[-1].dims)
    notation = Notation(tuple(sorted(words)), writeup.notation.symbols, writeup.notation.functions)
    given = _strings(data.get("given", []) or [], at.child(data, "given") if "given" in data else at, "formulas")
    spec = WrittenSpec(label, cues, tuple(conventions), notation, given)
    for i, convention in enumerate(conventions):
        for text in convention.define:
            spec._parses(text, where.child(items, i))
    for text in given:
        spec._parses(text, at.child(data, "given"))
    return spec


def _read_convention(value: Any, at: At) -> Convention:
    data = _keys(value, CONVENTION_KEYS, at, "convention")
    name = data.get("name", "default")
    dims = plain(data.get("dims", {}) or {})
    if not isinstance(dims, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                             for v in dims.values()):
        raise at.child(data, "dims").error("expected {name: positive integer}, got %s" % describe(dims))
    if len(set(dims.values())) != len(dims):
        raise at.child(data, "dims").error("sizes must differ, so that a shape names its sizes")
    variables = plain(data.get("variables", {}) or {})
    if not isinstance(variables, dict):
        raise at.child(data, "variables").error("expected {name: {shape:, kind:}}, got %s" % describe(variables))
    for var, spec in variables.items():
        spec = spec or {}
        variables[var] = spec
        where = at.child(data, "variables")
        if not isinstance(spec, dict) or set(spec) - {"shape", "kind"}:
            raise where.error("variable %s: expected {shape: [...], kind: ...}" % var)
        for d in spec.get("shape", []):
            if not (isinstance(d, int) or d in dims):
                raise where.error("variable %s: the size %r is not among dims" % (var, d))
        if spec.get("kind", "real") not in VARIABLE_KINDS:
            raise where.error("variable %s: kind must be one of %s" % (var, ", ".join(VARIABLE_KINDS)))
    define = _strings(data.get("define", []) or [], at.child(data, "define") if "define" in data else at, "relations")
    index = _strings(data.get("index", ["i", "j", "k"]), at, "index letters")
    return Convention(str(name), dims, variables, define, index)
