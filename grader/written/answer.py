"""One written part as the checks see it: its statements, its result, its values on random inputs.

An :class:`Answer` is built once per part and shared by the part's checks
(``cache``). The *result* is the last statement that answers (a derivation
chain, a formula, an equation whose left side names a derivative), not a
definition the part makes on the way (``h = σ(z₁)``); the student's own
definitions are evaluated in order, so ``δ₂ W₁ᵀ`` means what they said δ₂ is.
A *convention* (row or column vectors, from the rubric) is chosen by the
student's own definitions: the one under which their shapes chain.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .evaluate import BUILTINS, EvalError, Evaluator, bind_inputs, close, walk
from .latex import parse_statement, rename
from .mathtext import Statement
from .render import render

TRIALS = 4          # random draws every comparison is made on


@dataclass
class Notation:
    """The rubric's spellings: names the tokenizer keeps whole, and aliases of symbols and functions."""

    words: Tuple[str, ...] = ()
    symbols: Mapping[str, str] = field(default_factory=dict)     # alias -> name
    functions: Mapping[str, str] = field(default_factory=dict)   # alias -> function (in call position)

    def parse(self, text: str) -> list:
        """A rubric string (expected result, definition) read like a student's."""
        return [self.rename(m) for m in parse_statement(text, self.words)]

    def rename(self, node):
        if node is None:
            return None
        node = _rename_calls(node, self.functions)
        return rename(node, self.symbols)


def _rename_calls(node, table):
    if not isinstance(node, tuple):
        return node
    if node[0] == "call" and node[1] in table:
        node = ("call", table[node[1]], node[2], node[3])
    return tuple(_rename_calls(i, table) if isinstance(i, tuple)
                 else [_rename_calls(s, table) for s in i] if isinstance(i, list) else i for i in node)


@dataclass
class Convention:
    name: str
    dims: Mapping[str, int]
    variables: Mapping[str, Mapping[str, Any]]
    define: Sequence[str] = ()
    index: Sequence[str] = ("i", "j", "k")

    @property
    def scalar(self) -> bool:
        return all(not spec.get("shape") for spec in self.variables.values())


@dataclass
class Answer:
    """A part's text and statements, with what the checks share."""

    part: str
    text: str
    statements: List[Statement]
    conventions: Sequence[Convention]
    notation: Notation
    seed: int = 0
    shared: Sequence[list] = ()      # functions the write-up defines anywhere (δ(x) = 1/(1 + e^(-x)))
    cache: Dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- the result
    def result(self) -> Tuple[Optional[Statement], Optional[str]]:
        """The statement that answers, or None and why (no result, or an unreadable last line)."""
        if "result" not in self.cache:
            self.cache["result"] = _find_result(self.statements, self._names())
        return self.cache["result"]

    def _names(self) -> set:
        return {n for c in self.conventions for n in c.variables}

    # ---------------------------------------------------------------- values
    def trials(self, convention: Convention) -> List["Trial"]:
        key = "trials:" + convention.name
        if key not in self.cache:
            rng = np.random.default_rng(self.seed)
            self.cache[key] = [Trial.build(convention, self, rng) for _ in range(TRIALS)]
        return self.cache[key]

    def values(self, node, convention: Convention) -> List[np.ndarray]:
        """The value of ``node`` in every trial of ``convention``; EvalError if it has none."""
        out = []
        for trial in self.trials(convention):
            trial.evaluator.events.clear()
            out.append(trial.evaluator.value(node))
        return out

    def events(self, node, convention: Convention) -> List[str]:
        """What evaluating ``node`` had to assume (inner products, elementwise readings)."""
        trial = self.trials(convention)[0]
        trial.evaluator.events.clear()
        try:
            trial.evaluator.value(node)
        except EvalError:
            pass
        return list(trial.evaluator.events)

    def choose(self, node) -> Tuple[Optional[Convention], Optional[EvalError]]:
        """The convention under which ``node`` has a value, fewest failed definitions first."""
        ranked = sorted(self.conventions, key=lambda c: len(self.trials(c)[0].failed))
        if self._declared_rows_or_columns():
            # the student's own definitions hold in one convention only: that one binds the result
            ranked = [c for c in ranked if not self.trials(c)[0].failed]
        first_error = None
        for convention in ranked:
            try:
                self.values(node, convention)
                return convention, None
            except EvalError as exc:
                first_error = first_error or exc
        return None, first_error

    def _declared_rows_or_columns(self) -> bool:
        """Whether the write-up's definitions (z₁ = x W₁ + b₁) compute in some conventions and not others."""
        failing = [bool(self.trials(c)[0].failed) for c in self.conventions]
        return len(failing) > 1 and any(failing) and not all(failing)

    def same(self, a: Sequence[np.ndarray], b: Sequence[np.ndarray], transpose_ok: bool = False) -> bool:
        if transpose_ok and a and b and a[0].shape == b[0].shape[::-1] and 1 in a[0].shape:
            a = [v.T for v in a]
        return all(close(x, y) for x, y in zip(a, b))


@dataclass
class Trial:
    """One random draw: the convention's inputs, its definitions and the student's, evaluated."""

    evaluator: Evaluator
    failed: Dict[str, str]       # names whose definition cannot be computed -> why

    @classmethod
    def build(cls, convention: Convention, answer: Answer, rng: np.random.Generator) -> "Trial":
        values = bind_inputs(convention.variables, convention.dims, rng)
        shapes = {int(v): k for k, v in convention.dims.items()}
        size = max([int(v) for v in convention.dims.values()] or [3])
        index = {letter: int(rng.integers(size)) for letter in convention.index}
        hot = [v for name, v in values.items() if convention.variables[name].get("kind") == "onehot"]
        if hot and "k" in index:
            index["k"] = int(np.argmax(hot[0]))     # "k, the true class": y_k = 1, CE = −log ŷ_k
        ev = Evaluator(values, {}, index, [], shapes)
        for text in convention.define:
            chain = answer.notation.parse(text)
            ev.values[chain[0][1]] = ev.value(chain[-1])
        failed: Dict[str, str] = {}
        for chain in answer.shared:
            _define(ev, chain, set(convention.variables), failed)
        for st in answer.statements:
            if st.ok:
                _define(ev, st.chain, set(convention.variables), failed)
        return cls(ev, failed)


def _define(ev: Evaluator, chain, variables: set, failed: Dict[str, str]) -> None:
    """Apply one statement if it defines a name (``δ₂ = …``) or a function (``δ(x) = …``)."""
    lhs = chain[0]
    if len(chain) < 2 or lhs is None:
        return
    if is_function_definition(chain) and lhs[3] is None:
        ev.functions[lhs[1]] = (lhs[2][0][1], chain[1])
        return
    last = chain[-1]
    if lhs[0] != "sym" and last is not None and last[0] == "sym" and last[2] is None \
            and last[1] not in variables and last[1] != "e" and last[1] not in ev.values:
        # ∂J/∂z₂ = ŷ − y ≜ δ₁: a name given at the end is defined by what comes before it
        _define(ev, [last] + list(reversed(chain[1:-1])), variables, failed)
    if lhs[0] == "label":
        # ∂CE/∂z₃ = δ₃ = ŷ − y: the name given on the way is defined by what follows it
        named = [k for k, m in enumerate(chain[1:-1], 1) if m is not None and m[0] == "sym" and m[2] is None
                 and m[1] not in variables and m[1] != "e"]
        if named:
            _define(ev, chain[named[0]:], variables, failed)
        return
    if lhs[0] == "sym" and lhs[2] in ev.index and lhs[1] not in variables and lhs[1] not in ev.values:
        _define_components(ev, lhs, chain[1:])
        return
    if lhs[0] != "sym" or lhs[2] is not None or lhs[1] in variables or lhs[1] == "e":
        return
    error = None
    for member in chain[1:]:
        try:
            ev.values[lhs[1]] = ev.value(member)
            return
        except EvalError as exc:
            error = error or exc
    if error is not None and "derivative" not in str(error) and not getattr(error, "undecidable", False):
        failed[lhs[1]] = "%s = %s cannot be computed: %s" % (render(lhs), render(chain[-1]), error)


def _define_components(ev: Evaluator, lhs, members) -> None:
    """``S_i = e^{θ_i} / Σ_j e^{θ_j}``: a vector defined by its i-th component (as long as the index reaches)."""
    letter, saved = lhs[2], ev.index[lhs[2]]
    for member in members:
        row = []
        try:
            for k in range(64):
                ev.index[letter] = k
                row.append(float(ev.value(member).reshape(-1)[0]))
        except (EvalError, ValueError):
            pass
        finally:
            ev.index[letter] = saved
        if len(row) >= 2:
            ev.values[lhs[1]] = np.array([row])
            return


def shared_functions(texts: Sequence[Tuple[str, bool]], notation: Notation) -> List[list]:
    """The function definitions of a whole write-up (``texts``: (text, plain)), for every part."""
    from .mathtext import statements
    return [st.chain for text, plain in texts for st in statements(text, plain, notation)
            if st.ok and is_function_definition(st.chain)]


def is_definition(chain, variables: set) -> bool:
    lhs = chain[0]
    # "h = σ(x W₁ + b₁) = σ(a)": naming a value on the way, however long the chain
    return len(chain) >= 2 and lhs is not None and lhs[0] == "sym" and lhs[2] is None and lhs[1] not in variables


def is_function_definition(chain) -> bool:
    lhs = chain[0]
    return len(chain) >= 2 and lhs is not None and lhs[0] == "call" and lhs[1] not in BUILTINS \
        and not lhs[1].endswith("prime") and len(lhs[2]) == 1 and lhs[2][0][0] == "sym"


_SHAPE = re.compile(r"\(?\s*\w{1,3}\s*[·×x∘]\s*\w{1,3}\s*\)?")


def mark_given(statements: Sequence[Statement], given: Sequence[str], notation: Notation, loose: bool = False) -> None:
    """Flag the statements that only restate the question (``given``: the rubric's formulas for it).

    A statement is the question's when every member of it is a member of a given formula,
    in any order (``softmax(x + c) = softmax(x)`` restates ``softmax(x) = softmax(x + c)``;
    ``J = CE(y, ŷ) = −Σ y_i log ŷ_i`` chains two of them).
    """
    stated = [m for text in given for m in notation.parse(text) if m is not None]
    known = {_key(m) for m in stated}
    flat = {_flat(render(m)) for m in stated}
    for st in statements:
        if st.ok:
            members = {_key(m) for m in st.chain if m is not None}
            st.given = bool(members) and members <= known
            if loose and not st.given:
                # a PDF's fraction flattened: σ(x) = 1 1 + e − x is the question's σ(x) = 1/(1 + e^(−x))
                st.given = {_flat(render(m)) for m in st.chain if m is not None} <= flat


def _flat(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text))


def _key(node) -> str:
    return "".join(render(node).split())


def answered(statements: Sequence[Statement], readable_only: bool = False) -> bool:
    """Whether any statement is the student's own: not the question's, not a lone name or number
    (and, with ``readable_only``, not one that could not be read)."""
    for st in statements:
        if st.given:
            continue
        if not st.ok:
            if st.display and not readable_only:
                return True
            continue
        if len(st.chain) > 1 and not (readable_only and any(m is not None and m[0] == "label" for m in st.chain)) \
                or not readable_only and st.chain[0] is not None and st.chain[0][0] not in ("sym", "num", "label"):
            return True       # (a formula in a PDF's pieces is an answer only as an equation of values)
    return False


def _find_result(statements: List[Statement], variables: set) -> Tuple[Optional[Statement], Optional[str]]:
    best: Optional[Statement] = None
    fallback: Optional[Statement] = None
    statements = [st for st in statements if not st.given]
    if any(st.ok and st.display for st in statements):
        # a displayed result is the answer; inline math after it is a remark ("where σ'(z) = ...")
        statements = [st for st in statements if st.display or not st.ok]
    for st in statements:
        if not st.ok:
            continue
        chain = st.chain
        if len(chain) == 1 and (chain[0][0] in ("sym", "num", "label") or not st.display and len(render(chain[0])) < 3
                                or _SHAPE.fullmatch(render(chain[0]))):
            continue          # a name, a number, or a shape written beside a formula: (1 × H)
        if is_function_definition(chain) or final_member(chain) is None:
            continue
        if is_definition(chain, variables) or _intermediate(chain[0], variables):
            fallback = st
            continue
        best = st
    chosen = best or fallback
    unread = [st for st in statements if not st.ok and st.display]
    if chosen is None and unread:
        return None, "the part's formulas could not be read (%s): %s" % (unread[-1].error, unread[-1].text[:200])
    if chosen is None:
        return None, "no result found: the part has no formula this grader can read"
    later = [st for st in _beyond_intermediates(statements, variables) if not st.ok and st.display
             and st.where > chosen.where]
    if later:
        return None, "the part's last formula could not be read (%s): %s" % (later[-1].error, later[-1].text[:200])
    return chosen, None


def _intermediate(lhs, variables: set) -> bool:
    """``∂z₃/∂h = W₂ᵀ``: a derivative with respect to something that is not one of the part's inputs."""
    if lhs is None or lhs[0] != "label" or "/d" not in lhs[1]:
        return False
    wrt = re.sub(r"[{}\\]|_\{?\w+\}?$", "", lhs[1].rsplit("/d", 1)[1]).strip()
    return bool(wrt) and bool(variables) and wrt not in variables


_WRT = re.compile(r"\s*\\frac\s*\{\s*\\partial[^{}]*\}\s*\{\s*\\partial\s*([A-Za-z]+(?:_\{?\w+\}?)?)")


def _beyond_intermediates(statements: List[Statement], variables: set) -> List[Statement]:
    """The statements, less the unreadable lines that continue (``= …``) a derivative of something else."""
    out, within = [], False
    for st in statements:
        if st.ok:
            within = _intermediate(st.chain[0], variables)
        elif within and st.text.lstrip().startswith("="):
            continue
        else:
            wrt = _WRT.match(st.text)
            within = bool(wrt) and _intermediate(("label", "dJ/d" + wrt.group(1)), variables)
            if within:              # ∂J/∂W_{fg} = … that could not be read: a derivative of something else
                continue
        out.append(st)
    return out


def final_member(chain):
    """The last member of a chain that is a value (not a derivative's name)."""
    for member in reversed(chain):
        if member is not None and not any(n[0] == "label" for n in walk(member)):
            return member
    return None


def undefined_name(error: Exception) -> bool:
    return "not defined" in str(error) or "not bound" in str(error)
