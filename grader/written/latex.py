"""One math statement (LaTeX, ASCII or Unicode) -> an expression tree; no evaluation here.

The tree is made of tuples, first item the node kind:

    ("num", value)                      ("sym", name, index)      name canonical: W1, Dx, yhat
    ("call", fname, [args], index)      ("label", text)           d/dx-style names: not values
    ("neg", a)  ("add", a, b)  ("sub", a, b)  ("div", a, b)  ("pow", a, b)  ("T", a)
    ("prod", [factors], [ops])          ops between factors: "juxt", "dot" (\\cdot, \\times), "had" (o, *)
    ("sum", index, body)                ("group", a)              a bracketed sub-expression
    ("ones",)                           the vector of ones (\\mathbf{1})

A statement is a chain ``e0 = e1 = ... = en`` (:func:`parse_statement`).
Juxtaposition stays a flat list because its meaning (matrix or elementwise
product) depends on shapes only the evaluator knows. Parsing is linear in the
input and bounded in depth: hostile input raises :class:`MathError`.
"""
from __future__ import annotations

import functools
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

MAX_CHARS = 4000        # one statement; longer is not an answer anyone can grade by reading
MAX_DEPTH = 40          # bracket nesting

FUNCTIONS = {"sigma", "softmax", "exp", "log", "CE", "sigmaprime", "diag", "tanh", "sigmoid", "max", "min"}
INDEX_LETTERS = set("ijklmnt")
GREEK = {"sigma", "delta", "theta", "omega", "alpha", "beta", "gamma", "lambda", "mu", "phi", "psi",
         "epsilon", "varepsilon", "eta", "tau", "rho", "xi", "zeta", "kappa", "nu", "pi", "chi",
         "Delta", "Sigma", "Theta", "Omega", "ell"}
UNICODE = {"σ": r"\sigma ", "δ": r"\delta ", "θ": r"\theta ", "ω": r"\omega ", "∘": r"\circ ",
           "⊙": r"\odot ", "−": "-", "–": "-", "×": r"\times ", "·": r"\cdot ", "∑": r"\sum ",
           "Σ": r"\sum ", "ᵀ": "^T", "∂": r"\partial ", "ŷ": r"\hat{y}", "′": "'", "’": "'",
           "⁻¹": "^{-1}", "⁻ˣ": "^{-x}", "ᵢ": "_i", "ⱼ": "_j", "ₖ": "_k", "ₙ": "_n", "ʹ": "'", "″": "''", "²": "^2", "₁": "_1", "₂": "_2", "ₓ": "_x", "ᵧ": "_y", "\u00a0": " "}
_DROP = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg|displaystyle|limits|nolimits"
                   r"|nonumber|notag|quad|qquad|,|;|:|!| )(?![A-Za-z])|~|&")
_WRAPPERS = re.compile(r"\\(mathbf|boldsymbol|bm|mathrm|mathit|mathsf|text|textbf|textit|operatorname|mathbb"
                       r"|vec|mathcal|pmb)\s*\{")
_TRANSPOSE = re.compile(r"\^\s*(\{\s*(\\top|\\intercal|\\mathsf\{T\}|T|t|\\mathrm\{T\})\s*\}|\\top|\\intercal|T)"
                        r"(?![A-Za-z])")
_TAG = re.compile(r"\\(tag|label)\*?\s*\{[^{}]*\}")


class MathError(ValueError):
    """The statement is not math this reader understands (the message says where)."""


class NotEquation(MathError):
    """A statement of another kind (``x \\in R^n``, ``W_1: D_x x H``): nothing to evaluate."""


_RELATIONS = {r"\in", r"\to", r"\rightarrow", r"\Rightarrow", r"\implies", r"\approx", r"\neq", r"\ne",
              r"\leq", r"\geq", r"\mapsto", r"\sim", r"\propto", r"\iff", r"\Leftrightarrow", r"\equiv"}


# ---------------------------------------------------------------------------- normalizing


def _matching(text: str, open_at: int) -> int:
    """Index of the brace closing the one at ``open_at``; MathError if it never closes."""
    depth = 0
    for k in range(open_at, len(text)):
        ch = text[k]
        if ch == "\\":
            continue
        if ch == "{" and text[k - 1:k] != "\\":
            depth += 1
        elif ch == "}" and text[k - 1:k] != "\\":
            depth -= 1
            if depth == 0:
                return k
    raise MathError("a brace opened here never closes: %s" % text[open_at:open_at + 30])


_NAME_ONLY = re.compile(r"\s*(\\[A-Za-z]+\s*|[A-Za-z0-9]|_\{?[A-Za-z0-9]{1,3}\}?)+\s*")


def _unwrap(text: str) -> str:
    """``\\mathbf{W}_1`` -> ``W_1``: typefaces carry no meaning here (``\\mathbf{1}`` is the ones vector)."""
    text = re.sub(r"\\(mathbf|boldsymbol|bm|mathbb)\s*\{\s*1\s*\}", r"\\ones ", text)
    for _ in range(200):
        match = _WRAPPERS.search(text)
        if not match:
            return text
        close = _matching(text, match.end() - 1)
        inner = text[match.end():close]
        word = match.group(1)
        if word in ("text", "textbf", "textit", "operatorname", "mathrm") and re.fullmatch(r"\s*[A-Za-z]{2,}\s*", inner):
            inner = " " + inner.strip() + " "
        if word not in ("text", "textbf", "textit", "operatorname") and _NAME_ONLY.fullmatch(inner):
            # \mathbf{xW}_1, \boldsymbol{\delta}_3: names in bold, no group (a subscript belongs to the last one)
            text = text[:match.start()] + " " + inner + " " + text[close + 1:]
            continue
        text = text[:match.start()] + "{" + inner + "}" + text[close + 1:]
    raise MathError("too many typeface commands")


def _drop_braces(text: str) -> str:
    """``\\underbrace{A}_{note}`` -> ``{A}``: the annotation is prose."""
    for _ in range(100):
        match = re.search(r"\\(underbrace|overbrace|underset|overset)\s*\{", text)
        if not match:
            return text
        close = _matching(text, match.end() - 1)
        inner = text[match.end():close]
        rest = text[close + 1:]
        note = re.match(r"\s*[_^]\s*\{", rest)
        if note:
            rest = rest[_matching(rest, note.end() - 1) + 1:]
        elif re.match(r"\s*[_^]\s*\S", rest):
            rest = re.sub(r"^\s*[_^]\s*\S", "", rest)
        text = text[:match.start()] + "{" + inner + "}" + rest
    raise MathError("too many braces")


_OLD_TYPEFACE = re.compile(r"\\(bf|rm|it|sf|tt|bm|mathbfit|textrm|textsf|texttt|mathtt)(?![A-Za-z])\s*(?=[{\sA-Za-z\\])")
_HAT_SUBSCRIPT = re.compile(r"\\hat\s*\{\s*([A-Za-z])\s*_\s*\{?\s*([A-Za-z0-9]{1,3})\s*\}?\s*\}")
_LAYER_INDEX = re.compile(r"(?<![A-Za-z\\])([WbzhaU]|\\delta)\s*\^\s*\{\s*(?:\{\s*\(\s*(\d)\s*\)\s*\}|\(\s*(\d)\s*\))"
                          r"\s*(\^?\s*\{?\s*(?:T|\\top|\\intercal)\s*\}?)?\s*\}")
_THEREFORE = re.compile(r"\\(therefore|because|implies|Rightarrow|Longrightarrow)(?![A-Za-z])")


_FUNCTION_POWER = re.compile(r"(\\sigma|σ|sigma|softmax)\s*([\^_])\s*\{?\s*(\w)\s*\}?\s*\(")


def _power_of_call(text: str) -> str:
    """``σ^2(x)`` -> ``σ(x)^{2}``, ``softmax_j(x)`` -> ``softmax(x)_{j}``: a power or a component of the value."""
    for _ in range(50):
        match = _FUNCTION_POWER.search(text)
        if not match:
            return text
        depth, k = 0, match.end() - 1
        for k in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            if depth == 0:
                break
        else:
            return text
        text = "%s%s%s%s{%s}%s" % (text[:match.start()], match.group(1), text[match.end() - 1:k + 1],
                                   match.group(2), match.group(3), text[k + 1:])
    return text


def _layer(match) -> str:
    return "%s_{%s}%s" % (match.group(1), match.group(2) or match.group(3), "^T" if match.group(4) else "")


_SPACING_HAT = re.compile(r"ˆ\s*([A-Za-z])")                     # a PDF's text layer: "ˆy" is ŷ
_FLAT_PARTIAL = re.compile(r"^\s*∂\s*([^\s=∂]+)\s*∂\s*([^\s=∂]+)\s*(?==)")   # "∂J ∂x = ...": a fraction flattened


def normalize(text: str) -> str:
    """Notation-independent spelling: Unicode, spacing, typefaces, transposes and tags removed or unified."""
    text = re.sub(r"[_^]\s*\{\s*\}", "", text)        # Word's n-ary sums leave empty limits: \sum_{j}^{}
    text = _OLD_TYPEFACE.sub("", text)                   # {\bf x}, \bf{x}: a typeface, no meaning here
    text = text.replace(r"\_", "_").replace(r"\cfrac", r"\frac").replace(r"\widehat", r"\hat")
    text = _HAT_SUBSCRIPT.sub(r"\\hat{\1}_{\2}", text)  # \hat{y_i} is \hat{y}_i
    text = _LAYER_INDEX.sub(_layer, text)               # W^{(2)T} is W_2^T: the layer as a superscript
    text = _THEREFORE.sub(" ", text)
    text = re.sub(r"\\(triangleq|coloneqq|doteq|eqqcolon|stackrel\{\w*\}\{=\})(?![A-Za-z])|:=", "=", text)   # "defined as"
    text = _FLAT_PARTIAL.sub(r"\\frac{∂ \1}{∂ \2} ", _SPACING_HAT.sub(r"\\hat{\1}", text))
    for key, value in UNICODE.items():
        text = text.replace(key, value)
    text = _power_of_call(text)
    text = _drop_braces(text)
    text = _TAG.sub(" ", text)
    text = re.sub(r"[.,;]\s*$", "", text.strip())
    text = text.replace(r"\{", "(").replace(r"\}", ")").replace(r"\lbrace", "(").replace(r"\rbrace", ")")
    text = text.replace(r"\lbrack", "(").replace(r"\rbrack", ")").replace("[", "(").replace("]", ")")
    text = text.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac").replace(r"\prime", "'")
    text = re.sub(r"\^\s*\{\s*'\s*\}", "'", text)
    text = re.sub(r"\^\s*'", "'", text)
    text = _DROP.sub(" ", text)
    text = _unwrap(text)
    text = re.sub(r"(?<![_^\\A-Za-z])\{\s*\}", " ", text)     # a group emptied above: \boldsymbol{\therefore}
    text = _TRANSPOSE.sub(" ^T ", text)
    text = re.sub(r"\^T\s*_\s*(\{[^{}]*\}|\w)", r"_\1 ^T ", text)                 # W^{\top}_{2} is W_2^T
    text = re.sub(r"(?<![}_^A-Za-z\s])(\s*)\{\s*([A-Za-z])\s*\}|(?<=[\s(+\-=*/])\{\s*([A-Za-z])\s*\}",
                  lambda m: " " + (m.group(2) or m.group(3)) + " ", text)              # {W}: a letter in braces
    # ASCII: "a o b" is an elementwise product; d/dx f is a derivative operator
    text = re.sub(r"(?<=\s)o(?=\s)", r"\\circ ", text)
    text = re.sub(r"(?<![A-Za-z\\])d\s*/\s*d([A-Za-z][A-Za-z0-9_]*)", r"\\frac{d}{d \1}", text)
    # ASCII derivatives: dJ/dx, dCE/dtheta
    text = re.sub(r"(?<![A-Za-z\\])d([A-Za-z][A-Za-z0-9_]*)\s*/\s*d([A-Za-z][A-Za-z0-9_]*)", r"\\frac{d \1}{d \2}", text)
    text = re.sub(r"\\(cdot|times|ast)(?![A-Za-z])", r" \\\1 ", text)
    return text


# ---------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<cmd>\\[A-Za-z]+)|(?P<word>[A-Za-z]+)(?P<digits>\d+(?![.\d]))?"
                    r"|(?P<op>\^T|[-+*/^_'(){}=,:|<>!]))")


def tokenize(text: str, words: Iterable[str] = ()) -> List[Tuple[str, str]]:
    """(kind, text) pairs; a run of letters splits into known ``words`` and single letters.

    In LaTeX ``xW`` is x times W; in ASCII ``softmax`` and ``W1`` are names. Known
    words (functions, the rubric's symbols) are taken whole, longest first.
    """
    known = _known(tuple(words))
    tokens: List[Tuple[str, str]] = []
    pos, text = 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise MathError("cannot read %r" % text[pos:pos + 20])
        pos = match.end()
        kind = next(k for k in ("num", "cmd", "word", "op") if match.group(k) is not None)
        value = match.group(kind)
        if kind == "word":
            tokens.extend(_split_word(value, known))
            if match.group("digits"):
                tokens.extend([("op", "_"), ("num", match.group("digits"))])
        elif kind == "cmd" and value in (r"\circ", r"\odot", r"\otimes"):
            tokens.append(("op", "had"))
        elif kind == "cmd" and value in (r"\cdot", r"\times", r"\ast"):
            tokens.append(("op", "dot" if value != r"\ast" else "had"))
        else:
            tokens.append((kind, value))
    return tokens


def known_names_changed() -> None:
    """A plug-in added a function (grader.plugins.math_function): forget the lists made before."""
    _known.cache_clear()


@functools.lru_cache(maxsize=64)
def _known(words: Tuple[str, ...]) -> Tuple[str, ...]:
    """The names taken whole, longest first (one sort per notation, not per statement)."""
    return tuple(sorted(set(words) | FUNCTIONS | GREEK | {"sigmoid", "yhat", "ln", "sum", "sqrt"},
                        key=len, reverse=True))


def _split_word(word: str, known: Sequence[str]) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    k = 0
    while k < len(word):
        for name in known:
            if word.startswith(name, k) and (len(name) > 1):
                out.append(("word", name))
                k += len(name)
                break
        else:
            out.append(("word", word[k]))
            k += 1
    return out


# ---------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, tokens: List[Tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Tuple[str, str]:
        k = self.pos + ahead
        return self.tokens[k] if k < len(self.tokens) else ("end", "")

    def take(self) -> Tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise MathError("expected %r, found %r" % (value, token[1] or "the end"))

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError("nested more than %d deep" % MAX_DEPTH)

    # expr := term (('+'|'-') term)*
    def expr(self):
        self.deeper()
        node = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.product()
            node = ("add" if op == "+" else "sub", node, right)
        self.depth -= 1
        return node

    # product := unary ((op | juxtaposition) unary)*
    def product(self):
        factors, ops = [self.unary()], []
        while True:
            kind, value = self.peek()
            if kind == "op" and value in ("had", "dot", "*"):
                self.take()
                ops.append("had" if value in ("had", "*") else "dot")
                factors.append(self.unary())
            elif kind == "op" and value == "/":
                self.take()
                right = self.unary()
                factors[-1] = ("div", factors[-1], right)
            elif self.starts_factor():
                ops.append("juxt")
                factors.append(self.postfix())
            else:
                break
        return factors[0] if len(factors) == 1 else ("prod", factors, ops)

    def starts_factor(self) -> bool:
        kind, value = self.peek()
        if kind in ("num", "word"):
            return True
        if kind == "cmd":
            return value not in _RELATIONS and value not in (r"\end", r"\begin")
        return value in ("(", "{")

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.unary())
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.postfix()

    def postfix(self):
        node = self.atom()
        while True:
            kind, value = self.peek()
            if value == "^T":
                self.take()
                node = ("T", node)
            elif value == "^":
                self.take()
                node = ("pow", node, self.script())
            elif value == "'":
                self.take()
                node = _prime(node)
            elif value == "_":
                self.take()
                node = _subscript(node, self.raw_script())
            elif value == "(" and _callable(node):
                node = self.call(node)
            elif value == "!":
                raise MathError("factorials are not read")
            else:
                return node

    def script(self):
        """A superscript: a braced group or one token."""
        if self.peek()[1] == "{":
            self.take()
            node = self.expr()
            self.expect("}")
            return node
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.atom())
        return self.atom()

    def raw_script(self) -> str:
        """A subscript as text (``1``, ``x``, ``ij``, ``j=1``)."""
        if self.peek()[1] != "{":
            kind, value = self.take()
            if kind == "cmd":
                return value[1:]
            return value
        self.take()
        parts, depth = [], 1
        while True:
            kind, value = self.take()
            if kind == "end":
                raise MathError("a subscript never closes")
            if value == "{":
                depth += 1
            elif value == "}":
                depth -= 1
                if depth == 0:
                    return "".join(parts)
            parts.append(value.lstrip("\\") if kind == "cmd" else value)

    def call(self, node):
        self.expect("(")
        self.deeper()
        args = [self.expr()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        self.depth -= 1
        name = node[1]
        if len(args) == 1 and any(n == ("sym", name, None) for n in walk(args[0])):
            return ("prod", [node, ("group", args[0])], ["juxt"])   # σ(1 − σ): σ is a value here
        return ("call", name, args, None)

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "word" and value in ("sum", "sqrt", "max", "min"):
            return self.command(value)
        if kind == "word":
            return _word(value)
        if value in ("(", "{"):
            self.deeper()
            inner = self.expr()
            self.expect(")" if value == "(" else "}")
            self.depth -= 1
            return ("group", inner) if value == "(" else inner
        if kind == "cmd":
            return self.command(value[1:])
        if value == "|":
            raise MathError("absolute values and norms are not read")
        raise MathError("unexpected %r" % (value or "end of the statement"))

    def command(self, name: str):
        if name == "frac":
            top, bottom = self.group_tokens(), self.group_tokens()
            if _is_derivative(top) and _is_derivative(bottom) or _delta_derivative(top, bottom):
                return ("label", "d%s/d%s" % (_plain(top), _plain(bottom)))
            return ("div", _Parser(top).whole(), _Parser(bottom).whole())
        if name == "sqrt":
            return ("pow", self.script(), ("num", 0.5))
        if name == "sum":
            index = None
            if self.peek()[1] == "_":
                self.take()
                index = self.raw_script()
            if self.peek()[1] == "^":
                self.take()
                self.script()
            index = (index or "").split("=")[0].strip() or "j"
            body = self.postfix_product()
            return ("sum", index[0], body)
        if name in ("hat", "widehat", "tilde", "bar", "overline"):
            inner = [t for t in self.group_tokens() if t[1] not in ("{", "}")]
            if len(inner) == 1 and inner[0][0] in ("word", "cmd"):
                return ("sym", inner[0][1].lstrip("\\") + "hat" * (name in ("hat", "widehat"))
                        + ("tilde" if name == "tilde" else "") + ("bar" if name in ("bar", "overline") else ""), None)
            raise MathError("\\%s over more than a letter" % name)
        if name in ("max", "min"):      # \max_i x_i: the largest entry (the shift softmax subtracts)
            if self.peek()[1] == "_":
                self.take()
                self.raw_script()
            return ("call", name, [self.postfix()], None)
        if name in ("exp", "log", "ln"):
            fname = "exp" if name == "exp" else "log"
            if self.peek()[1] == "(":
                return self.call(("sym", fname, None))
            return ("call", fname, [self.postfix()], None)
        if name == "ones":
            return ("ones",)
        if name == "nabla":       # ∇_θ CE: the name of a gradient
            sub = self.raw_script() if self.peek()[1] == "_" and self.take() else ""
            target = self.postfix()
            return ("label", "d%s/d%s" % (target[1] if target[0] in ("sym", "call") else "f", sub or "x"))
        if name == "partial":
            raise MathError("a partial derivative outside a fraction")
        if name in GREEK:
            return _word(name)
        if name in ("mathbb", "mathcal"):
            raise MathError("sets are not values")
        raise MathError("unknown command \\%s" % name)

    def postfix_product(self):
        """The body of a sum: factors up to the next + or -."""
        factors, ops = [self.unary()], []
        while self.starts_factor() or self.peek()[1] in ("had", "dot", "*"):
            if self.peek()[1] in ("had", "dot", "*"):
                ops.append("had" if self.take()[1] != "dot" else "dot")
            else:
                ops.append("juxt")
            factors.append(self.postfix())
        return factors[0] if len(factors) == 1 else ("prod", factors, ops)

    def group_tokens(self) -> List[Tuple[str, str]]:
        """The tokens of one braced argument (or a single token)."""
        if self.peek()[1] != "{":
            return [self.take()]
        self.take()
        out, depth = [], 1
        while True:
            token = self.take()
            if token[0] == "end":
                raise MathError("a brace never closes")
            if token[1] == "{":
                depth += 1
            elif token[1] == "}":
                depth -= 1
                if depth == 0:
                    return out
            out.append(token)

    def whole(self):
        if not self.tokens:
            raise MathError("an empty fraction part")
        node = self.expr()
        if self.peek()[0] != "end":
            raise MathError("unexpected %r" % self.peek()[1])
        return node


def walk(node):
    """Every node of a tree, the tree first."""
    yield node
    for item in node[1:]:
        if isinstance(item, tuple):
            yield from walk(item)
        elif isinstance(item, list):
            for sub in item:
                if isinstance(sub, tuple):
                    yield from walk(sub)


def _word(name: str):
    if name == "sigmoid":
        name = "sigma"
    return ("sym", name, None)


CALLABLE = FUNCTIONS | {"delta", "phi", "psi", "f", "g", "s", "S", "sig", "ln"}


def _callable(node) -> bool:
    """Whether ``name(`` is a call: functions and the letters students name functions with, not ŷ(1 − ŷ)."""
    return node[0] == "sym" and node[2] is None and (node[1] in CALLABLE or node[1].endswith("prime"))


def _prime(node):
    if node[0] == "sym" and node[1] == "sigma":
        return ("sym", "sigmaprime", None)
    if node[0] == "sym":
        return ("sym", node[1] + "prime", node[2])
    if node[0] == "group":       # (1/(1 + e^(−x)))': the derivative of what is inside, named, not a value
        return ("label", "d/dx")
    raise MathError("a prime after something that is not a name")


def _subscript(node, sub: str):
    sub = sub.replace(" ", "")
    if node[0] == "sym" and node[2] is None:
        base = node[1]
        if len(sub) == 1 and sub in INDEX_LETTERS and base not in ("D", "d", "n", "N"):
            return ("sym", base, sub)
        return ("sym", base + sub, None)
    if node[0] in ("call", "group") and len(sub) == 1 and sub in INDEX_LETTERS:
        return ("index", node, sub)
    raise MathError("a subscript %r after an expression" % sub)


def _is_derivative(tokens) -> bool:
    while tokens and tokens[0] == ("op", "{"):      # \frac{{\partial h}}{\partial x}
        tokens = tokens[1:]
    if not tokens:
        return False
    first = tokens[0]
    if first == ("cmd", r"\partial") or first == ("word", "d"):
        return True
    return first[0] == "word" and bool(re.fullmatch(r"d(?!elta)[A-Za-z]{1,6}\d*", first[1]))


def _delta_derivative(top, bottom) -> bool:
    """``\\frac{\\delta CE}{\\delta \\theta_i}``: δ written for ∂, on both sides, each before a name."""
    return (len(top) > 1 and len(bottom) > 1 and top[0] == ("cmd", r"\delta") == bottom[0]
            and top[1][1] != "_" and bottom[1][1] != "_")


def _plain(tokens) -> str:
    if tokens and tokens[0] in (("word", "d"), ("cmd", r"\partial"), ("cmd", r"\delta")):
        tokens = tokens[1:]
    elif tokens and tokens[0][0] == "word" and _is_derivative(tokens[:1]):
        tokens = [("word", tokens[0][1][1:])] + list(tokens[1:])     # "dx", kept whole as a known word
    return "".join(v.lstrip("\\") if k == "cmd" else v for k, v in tokens).replace(" ", "")


def parse_statement(text: str, words: Iterable[str] = ()) -> List[tuple]:
    """The chain of expressions ``e0 = e1 = ...`` of one statement; MathError if unreadable."""
    if len(text) > MAX_CHARS:
        raise MathError("a statement of %d characters (at most %d are read)" % (len(text), MAX_CHARS))
    tokens = tokenize(normalize(text), words)
    while tokens and tokens[-1][1] in (",", ".", ";"):
        tokens.pop()
    if not tokens:
        raise MathError("empty")
    if any(t[1] in _RELATIONS or t[1] in (":", "<", ">") for t in tokens):
        raise NotEquation("not an equation")
    pieces: List[List[Tuple[str, str]]] = [[]]
    depth = 0
    for token in tokens:
        if token[1] in ("(", "{"):
            depth += 1
        elif token[1] in (")", "}"):
            depth -= 1
        if token[1] == "=" and depth == 0:
            pieces.append([])
        else:
            pieces[-1].append(token)
    chain = []
    for k, piece in enumerate(pieces):
        if not piece:
            if k == 0:
                chain.append(None)   # a continuation line: "= ..."
                continue
            raise MathError("nothing between two = signs")
        chain.append(_Parser(piece).whole())
    return chain


def symbols_in(node, found: Optional[Dict[str, int]] = None) -> Dict[str, int]:
    """Every name the tree uses (symbols and called functions), with a count."""
    found = {} if found is None else found
    if not isinstance(node, tuple):
        return found
    if node[0] == "sym":
        found[node[1]] = found.get(node[1], 0) + 1
    elif node[0] == "call":
        found[node[1]] = found.get(node[1], 0) + 1
    for item in node[1:]:
        if isinstance(item, tuple):
            symbols_in(item, found)
        elif isinstance(item, list):
            for sub in item:
                symbols_in(sub, found)
    return found


def rename(node, table: Dict[str, str]):
    """A copy of the tree with names mapped through ``table`` (aliases -> the rubric's names)."""
    if not isinstance(node, tuple):
        return node
    if node[0] == "sym":
        return ("sym", table.get(node[1], node[1]), node[2])
    if node[0] == "call":
        return ("call", table.get(node[1], node[1]), [rename(a, table) for a in node[2]], node[3])
    return tuple(rename(item, table) if isinstance(item, tuple)
                 else [rename(s, table) for s in item] if isinstance(item, list) else item for item in node)
