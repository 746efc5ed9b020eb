"""Expression trees (latex.py) -> numbers, on random inputs of the shapes a convention gives.

Every value is a 2-D float array; a number is 1 x 1. Juxtaposition is a matrix
product when the shapes chain, an elementwise product when they do not but
agree (two 1 x H rows side by side: the notation WRITTEN.md calls ambiguous),
and a 1 x 1 factor scales. What the reading had to assume is recorded in
``Evaluator.events`` (an inner product of two vectors, a juxtaposition read
elementwise) so a verdict can name it. Shapes that cannot combine raise
:class:`EvalError` naming the factors, in the student's notation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

import numpy as np

from .latex import walk
from .render import render

MAX_NODES = 2000     # an expression larger than this is not evaluated (hostile or unreadable)


def _kronecker(name: str, sub, index) -> bool:
    pair = sub if name == "delta" else name[5:] if name.startswith("delta") and sub is None else ""
    return bool(pair) and len(pair) == 2 and all(letter in index for letter in pair)


class EvalError(ValueError):
    """The expression has no value here: an unknown name, shapes that do not combine, a label.

    ``undefined`` is the name that has no value, when that is the reason.
    """

    def __init__(self, message: str, undefined: Optional[str] = None, undecidable: bool = False):
        super().__init__(message)
        self.undefined = undefined
        self.undecidable = undecidable     # beyond what is evaluated (a huge power): a person decides


def _sigma(v):
    return 1.0 / (1.0 + np.exp(-v))


def _softmax(v):
    shifted = np.exp(v - np.max(v))
    return shifted / np.sum(shifted)


def _log(v):
    with np.errstate(all="ignore"):
        return np.log(v)


BUILTINS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigma": _sigma, "softmax": _softmax, "exp": np.exp, "log": _log, "tanh": np.tanh,
    "sigmaprime": lambda v: _sigma(v) * (1.0 - _sigma(v)),
    "CE": None,      # two arguments: see Evaluator._call
    "diag": lambda v: np.diag(v.reshape(-1)) if 1 in v.shape else np.diag(np.diag(v)),
    "max": lambda v: np.array([[v.max()]]), "min": lambda v: np.array([[v.min()]]),
}


@dataclass
class Evaluator:
    """Values of names (arrays) and functions; ``index`` binds free subscripts like i."""

    values: Dict[str, np.ndarray]
    functions: Dict[str, Any] = field(default_factory=dict)   # name -> builtin or (param, tree)
    index: Dict[str, int] = field(default_factory=dict)
    events: List[str] = field(default_factory=list)
    shapes: Dict[str, str] = field(default_factory=dict)      # how to say a shape: 4 -> "H"

    def value(self, node) -> np.ndarray:
        if _size(node) > MAX_NODES:
            raise EvalError("an expression of more than %d terms" % MAX_NODES, undecidable=True)
        with np.errstate(all="ignore"):
            return self._eval(node)

    # ------------------------------------------------------------------ nodes
    def _eval(self, node) -> np.ndarray:
        kind = node[0]
        if kind == "num":
            return np.array([[node[1]]])
        if kind == "sym":
            return self._symbol(node)
        if kind == "group":
            return self._eval(node[1])
        if kind == "neg":
            return -self._eval(node[1])
        if kind in ("add", "sub"):
            if ("ones",) in (node[1], node[2]):      # 𝟏 − h: a vector of ones the shape of the other side
                other = self._eval(node[2] if node[1] == ("ones",) else node[1])
                a, b = (np.ones_like(other), other) if node[1] == ("ones",) else (other, np.ones_like(other))
                return a + b if kind == "add" else a - b
            a, b = self._eval(node[1]), self._eval(node[2])
            if a.shape != b.shape and a.shape != (1, 1) and b.shape != (1, 1):
                raise EvalError("%s (%s) and %s (%s) cannot be added: their shapes differ" % (
                    render(node[1]), self.say(a), render(node[2]), self.say(b)))
            return a + b if kind == "add" else a - b
        if kind == "div":
            a, b = self._eval(node[1]), self._eval(node[2])
            if b.shape != (1, 1) and a.shape != (1, 1) and a.shape != b.shape:
                raise EvalError("%s (%s) divided by %s (%s)" % (render(node[1]), self.say(a), render(node[2]), self.say(b)))
            return a / b
        if kind == "pow":
            return self._power(node)
        if kind == "T":
            return self._eval(node[1]).T
        if kind == "prod":
            return self._product(node)
        if kind == "call":
            return self._call(node)
        if kind == "index":
            return self._pick(self._eval(node[1]), node[2], render(node[1]))
        if kind == "sum":
            return self._sum(node)
        if kind == "ones":
            raise EvalError("a vector of ones outside a product", undecidable=True)
        if kind == "label":
            raise EvalError("%s is a name for a derivative, not a value" % node[1], undecidable=True)
        raise EvalError("cannot evaluate %s" % kind, undecidable=True)

    def _symbol(self, node) -> np.ndarray:
        name, sub = node[1], node[2]
        if name == "e" and "e" not in self.values:
            value = np.array([[np.e]])
        elif name in self.values:
            value = self.values[name]
        elif _kronecker(name, sub, self.index):
            # the Kronecker delta δ_ik: 1 where the two indices meet (ŷ_i − δ_ik is ŷ − y with k the true class)
            pair = sub or name[5:]
            return np.array([[float(self.index[pair[0]] == self.index[pair[1]])]])
        else:
            raise EvalError("%s is not defined" % render(("sym", name, None)), name)
        return value if sub is None else self._pick(value, sub, render(("sym", name, None)))

    def _pick(self, value: np.ndarray, sub: str, what: str) -> np.ndarray:
        if sub not in self.index:
            raise EvalError("the index %s of %s is not bound" % (sub, what), undecidable=True)
        if min(value.shape) != 1 or value.size == 1:
            raise EvalError("%s_%s: %s is %s, not a vector" % (what, sub, what, self.say(value)), undecidable=True)
        k = self.index[sub]
        if k >= value.size:
            raise EvalError("%s_%s is out of range" % (what, sub), undecidable=True)
        return np.array([[value.flat[k]]])

    def _power(self, node) -> np.ndarray:
        base, exponent = node[1], self._eval(node[2])
        if exponent.shape != (1, 1):
            if base == ("sym", "e", None) and "e" not in self.values:
                return np.exp(exponent)
            raise EvalError("a power whose exponent %s is %s" % (render(node[2]), self.say(exponent)))
        if base == ("sym", "e", None) and "e" not in self.values:
            return np.exp(exponent)
        power = float(exponent[0, 0])
        if abs(power) > 64:
            raise EvalError("a power of %g" % power, undecidable=True)
        return np.power(self._eval(base), power)

    def _call(self, node) -> np.ndarray:
        name, args = node[1], node[2]
        fn = self.functions.get(name, BUILTINS.get(name))
        values = [self._eval(a) for a in args]
        if fn is None and name.endswith("prime") and name[:-5] in self.functions and len(values) == 1:
            # the derivative of a function the student defined (δ'(z) after δ(x) = 1/(1 + e^(-x)))
            base, step = ("call", name[:-5], [("sym", "@", None)], None), 1e-5
            at = lambda v: Evaluator(dict(self.values, **{"@": v}), self.functions, self.index, [], self.shapes)._eval(base)
            result = (at(values[0] + step) - at(values[0] - step)) / (2 * step)
            return result if node[3] is None else self._pick(result, node[3], render(node))
        if fn is None and name != "CE":
            raise EvalError("the function %s is not defined" % name, name)
        if isinstance(fn, tuple):   # a function the student defined: (parameter, tree)
            param, body = fn
            if len(values) != 1:
                raise EvalError("%s takes one argument" % name)
            inner = Evaluator(dict(self.values, **{param: values[0]}), self.functions, self.index, self.events,
                              self.shapes)
            result = inner._eval(body)
        elif name == "CE":
            if len(values) != 2 or values[0].shape != values[1].shape:
                raise EvalError("CE needs two vectors of one shape")
            result = -np.sum(values[0] * _log(values[1]), keepdims=True).reshape(1, 1)
        else:
            if len(values) != 1:
                raise EvalError("%s takes one argument" % name)
            result = fn(values[0])
        return result if node[3] is None else self._pick(result, node[3], render(node))

    def _sum(self, node) -> np.ndarray:
        letter, body = node[1], node[2]
        length = self._range_of(body, letter)
        total = None
        saved = self.index.get(letter)
        try:
            for k in range(length):
                self.index[letter] = k
                term = self._eval(body)
                total = term if total is None else total + term
        finally:
            if saved is None:
                self.index.pop(letter, None)
            else:
                self.index[letter] = saved
        if total is None:
            raise EvalError("an empty sum", undecidable=True)
        return total

    def _range_of(self, body, letter: str) -> int:
        """How far a sum's index runs: the length of a vector it subscripts."""
        for sub in walk(body):
            if sub[0] == "sym" and sub[2] == letter and sub[1] in self.values:
                return int(self.values[sub[1]].size)
            if sub[0] == "index" and sub[2] == letter:
                return int(self._eval(sub[1]).size)
        raise EvalError("the sum over %s does not say what it sums" % letter, undecidable=True)

    # ------------------------------------------------------------------ products
    def _product(self, node) -> np.ndarray:
        """Left to right; if that fails and the product mixes ∘ with juxtaposition, matrix products first.

        ``σ'(z) ∘ W₂ᵀ (ŷ − y)`` means σ'(z) ∘ (W₂ᵀ (ŷ − y)); ``δ W₂ᵀ ∘ h`` means (δ W₂ᵀ) ∘ h.
        """
        try:
            return self._left_to_right(node[1], node[2])
        except EvalError:
            if "had" not in node[2] or "juxt" not in node[2]:
                raise
            runs, ops = [[node[1][0]]], []
            for op, factor in zip(node[2], node[1][1:]):
                if op == "had":
                    runs.append([factor])
                else:
                    runs[-1].append(factor)
                    ops.append(op)
            try:
                values = [self._left_to_right(run, ["juxt"] * (len(run) - 1)) for run in runs]
            except EvalError:
                pass
            else:
                if all(v.shape == values[0].shape or v.shape == (1, 1) for v in values):
                    out = values[0]
                    for v in values[1:]:
                        out = out * v
                    if out.shape == max((v.shape for v in values), key=lambda s: s[0] * s[1]):
                        return out
            return self._left_to_right(node[1], node[2])

    def _left_to_right(self, factors, ops) -> np.ndarray:
        current = factors[0]
        value = None if current == ("ones",) else self._eval(current)
        shown = prev = render(current)
        for op, factor in zip(ops, factors[1:]):
            if factor == ("ones",):
                if value is None:
                    raise EvalError("two vectors of ones", undecidable=True)
                value, shown = np.sum(value, keepdims=True).reshape(1, 1), shown + " 1"
                continue
            right = self._eval(factor)
            if value is None:     # 1^T v: the sum of v
                value, shown = np.sum(right, keepdims=True).reshape(1, 1), render(factor)
                continue
            value = self._combine(value, right, op, shown, prev, render(factor))
            prev = render(factor)
            shown = shown + (" ∘ " if op == "had" else " ") + prev
        if value is None:
            raise EvalError("a vector of ones alone", undecidable=True)
        return value

    def _combine(self, a: np.ndarray, b: np.ndarray, op: str, left: str, prev: str, right: str) -> np.ndarray:
        if a.shape == (1, 1) or b.shape == (1, 1):
            return a * b
        if op == "had":
            if a.shape != b.shape:
                raise EvalError("%s (%s) ∘ %s (%s): an elementwise product of different shapes" % (
                    left, self.say(a), right, self.say(b)))
            return a * b
        if a.shape[1] == b.shape[0]:
            if a.shape[0] == 1 and b.shape[1] == 1:
                self.events.append("inner|%s %s|%s" % (prev, right, self.say(a)))
            return a @ b
        if a.shape == b.shape and 1 in a.shape:
            self.events.append("elementwise|%s %s" % (prev, right))
            return a * b
        raise EvalError("%s (%s) times %s (%s): the shapes do not chain" % (
            _last(left), self.say(a), right, self.say(b)))

    def say(self, value: np.ndarray) -> str:
        """A shape in the problem's names: ``1 x H``."""
        return " x ".join(self.shapes.get(n, str(n)) for n in value.shape)


def _last(shown: str) -> str:
    return shown if len(shown) < 80 else "…" + shown[-78:]


def _size(node) -> int:
    return sum(1 for _ in walk(node))


def close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-7) -> bool:
    """Equal shapes and values within ``rtol`` of the larger magnitude (NaN never equal)."""
    if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    return bool(np.max(np.abs(a - b)) <= rtol * scale)


def bind_inputs(variables: Mapping[str, Any], dims: Mapping[str, int], rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Random values of a convention's variables: ``{name: {shape: [1, Dx], kind: ...}}``.

    ``kind`` is ``real`` (standard normal), ``onehot`` (one 1 at a random place),
    ``count`` (an integer from 2 to 40: the sizes of 2d) or ``scalar``.
    """
    out: Dict[str, np.ndarray] = {}
    for name, spec in variables.items():
        shape = tuple(int(dims[d]) if isinstance(d, str) else int(d) for d in spec.get("shape", [])) or (1, 1)
        kind = spec.get("kind", "real")
        if kind == "onehot":
            value = np.zeros(shape)
            value.flat[int(rng.integers(value.size))] = 1.0
        elif kind == "count":
            value = np.array([[float(rng.integers(2, 41))]])
        else:
            value = rng.standard_normal(shape)
        out[name] = value
    return out
