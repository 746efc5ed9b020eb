"""Expression trees -> readable Unicode text: σ(z₁) ∘ (1 − h), W₂ᵀ, ∑ⱼ, ŷ.

What a student and a TA see in every output format (terminal, Markdown, HTML);
it is plain text, so it is escaped like any other text where it is shown.
"""
from __future__ import annotations

from typing import Any

GREEK = {"sigma": "σ", "delta": "δ", "theta": "θ", "omega": "ω", "alpha": "α", "beta": "β", "gamma": "γ",
         "lambda": "λ", "mu": "μ", "phi": "φ", "epsilon": "ε", "eta": "η", "tau": "τ", "rho": "ρ", "pi": "π"}
SUB = str.maketrans("0123456789aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
MAX_SHOWN = 400


def name(text: str) -> str:
    """``W1`` -> W₁, ``yhat`` -> ŷ, ``Dx`` -> Dₓ, ``sigmaprime`` -> σ′, ``delta2`` -> δ₂."""
    if text == "sigmaprime":
        return "σ′"
    if text.endswith("hat"):
        return name(text[:-3]) + "\u0302"
    if text.endswith("prime"):
        return name(text[:-5]) + "′"
    for word, letter in GREEK.items():
        if text.startswith(word):
            return letter + _sub(text[len(word):])
    if len(text) > 1 and text[0].isalpha() and (text[1:].isdigit() or text[1:] in ("x", "y")):
        return text[0] + _sub(text[1:])
    return text


def _sub(text: str) -> str:
    if text.isdigit():
        return text.translate(SUB)
    return "_" + text if text else ""


def render(node: Any) -> str:
    """One tree as text, parenthesized only where the reader needs it; shortened when huge."""
    text = _render(node)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def _render(node: Any) -> str:
    if node is None:
        return ""
    kind = node[0]
    if kind == "num":
        value = node[1]
        return str(int(value)) if float(value).is_integer() else repr(value)
    if kind == "sym":
        return name(node[1]) + (_sub(node[2]) if node[2] else "")
    if kind == "label":
        top, _, bottom = node[1][1:].partition("/d")
        return "∂%s/∂%s" % (top, bottom)
    if kind == "group":
        return "(" + _render(node[1]) + ")"
    if kind == "neg":
        return "−" + _render(node[1])
    if kind == "add":
        return _render(node[1]) + " + " + _render(node[2])
    if kind == "sub":
        return _render(node[1]) + " − " + _paren(node[2], ("add", "sub"))
    if kind == "div":
        return _paren(node[1], ("add", "sub", "prod")) + " / " + _paren(node[2], ("add", "sub", "prod", "div"))
    if kind == "pow":
        if node[1] == ("sym", "e", None):
            return "e^(" + _render(node[2]) + ")"
        return _paren(node[1], ("add", "sub", "prod", "div", "neg")) + "^" + _paren(node[2], ("add", "sub", "prod", "div", "neg"))
    if kind == "T":
        return _paren(node[1], ("add", "sub", "prod", "div", "neg")) + "ᵀ"
    if kind == "prod":
        out = _paren(node[1][0], ("add", "sub"))
        for op, factor in zip(node[2], node[1][1:]):
            out += {"had": " ∘ ", "dot": " · "}.get(op, " ") + _paren(factor, ("add", "sub"))
        return out
    if kind == "call":
        text = name(node[1]) + "(" + ", ".join(_render(a) for a in node[2]) + ")"
        return text + (_sub(node[3]) if node[3] else "")
    if kind == "index":
        return _render(node[1]) + _sub(node[2])
    if kind == "sum":
        return "∑" + _sub(node[1]) + " " + _paren(node[2], ("add", "sub"))
    if kind == "ones":
        return "𝟏"
    return "?"


def _paren(node: Any, kinds) -> str:
    text = _render(node)
    return "(" + text + ")" if node is not None and node[0] in kinds else text


def chain(members) -> str:
    """A statement ``a = b = c`` as text."""
    return " = ".join(_render(m) if m is not None else "…" for m in members)


# ---------------------------------------------------------------------------- MathML, for the review page

KINDS = {"num", "sym", "call", "label", "neg", "add", "sub", "div", "pow", "T", "prod", "sum", "group", "ones", "index"}
MAX_MATHML_NODES = 2000


def from_json(value: Any, depth: int = 0) -> Any:
    """A tree back from its JSON form (lists) to tuples; ValueError for anything else."""
    if depth > 60:
        raise ValueError("too deep")
    if isinstance(value, list) and value and isinstance(value[0], str) and value[0] in KINDS:
        return tuple([value[0]] + [from_json(v, depth + 1) for v in value[1:]])
    if isinstance(value, list):
        return [from_json(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise ValueError("not a tree")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def mathml(node: Any) -> str:
    """A tree as MathML (Chromium and Firefox render it with no script or font): every text escaped."""
    count = [0]

    def mi(text: str) -> str:
        return "<mi>%s</mi>" % _esc(text)

    def mo(text: str) -> str:
        return "<mo>%s</mo>" % _esc(text)

    def paren(n, kinds) -> str:
        inner = conv(n)
        return "<mrow>%s%s%s</mrow>" % (mo("("), inner, mo(")")) if n is not None and n[0] in kinds else inner

    def sym(name_: str, sub: Any) -> str:
        base = name(name_)
        if sub:
            return "<msub>%s%s</msub>" % (mi(base), mi(str(sub)))
        return mi(base)

    def conv(n) -> str:
        count[0] += 1
        if count[0] > MAX_MATHML_NODES:
            raise ValueError("too large")
        if n is None:
            return mi("…")
        kind = n[0]
        if kind == "num":
            value = n[1]
            return "<mn>%s</mn>" % _esc(str(int(value)) if float(value).is_integer() else repr(value))
        if kind == "sym":
            return sym(n[1], n[2])
        if kind == "group":
            return "<mrow>%s%s%s</mrow>" % (mo("("), conv(n[1]), mo(")"))
        if kind == "neg":
            return "<mrow>%s%s</mrow>" % (mo("−"), paren(n[1], ("add", "sub")))
        if kind in ("add", "sub"):
            return "<mrow>%s%s%s</mrow>" % (conv(n[1]), mo("+" if kind == "add" else "−"),
                                            paren(n[2], ("add", "sub") if kind == "sub" else ()))
        if kind == "div":
            return "<mfrac>%s%s</mfrac>" % (conv(n[1]), conv(n[2]))
        if kind == "pow":
            return "<msup>%s%s</msup>" % (paren(n[1], ("add", "sub", "prod", "div", "neg", "pow")), conv(n[2]))
        if kind == "T":
            return "<msup>%s%s</msup>" % (paren(n[1], ("add", "sub", "prod", "div", "neg")), mi("T"))
        if kind == "prod":
            out = [paren(n[1][0], ("add", "sub"))]
            for op, factor in zip(n[2], n[1][1:]):
                out.append({"had": mo("∘"), "dot": mo("·")}.get(op, mo("\u2062")))
                out.append(paren(factor, ("add", "sub")))
            return "<mrow>%s</mrow>" % "".join(out)
        if kind == "call":
            args = mo(",").join(conv(a) for a in n[2])
            out = "<mrow>%s%s%s%s</mrow>" % (mi(name(n[1])), mo("("), args, mo(")"))
            return "<msub>%s%s</msub>" % (out, mi(n[3])) if n[3] else out
        if kind == "index":
            return "<msub>%s%s</msub>" % (conv(n[1]), mi(str(n[2])))
        if kind == "sum":
            return "<mrow><munder>%s%s</munder>%s</mrow>" % (mo("∑"), mi(str(n[1])), paren(n[2], ("add", "sub")))
        if kind == "label":
            top, _, bottom = str(n[1])[1:].partition("/d")
            return "<mfrac>%s%s</mfrac>" % (mi("∂" + top), mi("∂" + bottom))
        if kind == "ones":
            return mi("𝟏")
        return mi("?")

    return '<math display="inline">%s</math>' % conv(node)
