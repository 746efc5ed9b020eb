"""Compare LaTeX-to-math parsers on the statements of the written samples.

    python benchmarks/parser_candidates.py [--repeats 5] [--failures NAME] [--json PATH]

Candidates: ours (``grader.written.latex.parse_statement`` with the rubric's
notation words), sympy's ``parse_latex`` with the lark backend and with the
antlr backend, ``latex2sympy2_extended.latex2sympy`` and ``math_verify.parse``.
A candidate whose package is missing is reported as not installed.

Measures, printed as Markdown tables:

 (a) parse success over every math statement of every sample write-up
     (``sample_submissions/written/*/`` plus the converter-shaped ``pdfconv_2c_inner_product``
     when it exists), found the way the grader finds them (``math_segments``);
 (b) milliseconds per statement (mean, max) after one warm-up call, and the
     import time / time to a first result in a fresh interpreter (median of runs);
 (c) faithfulness on hand-labelled key expressions: the output and a yes/no
     from a check coded per expression (see ITEMS).

Every candidate gets the same text: ``\\tag{..}``, ``\\label{..}``, ``\\nonumber``,
``\\notag`` and a trailing equation number ``(12)`` are removed first. Ours reads
a chain ``a = b = c`` whole; the others get each side of a top-level ``=``
separately, and a statement counts as read only when every side is read.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import cmath
import importlib.util
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "sample_submissions" / "written"
RUBRIC = ROOT / "rubrics" / "a1-full.yaml"
TIMEOUT = 10.0          # seconds for one statement (our own alarm; math-verify uses its own)

warnings.filterwarnings("ignore")


# ---------------------------------------------------------------------------- statements

def sample_statements() -> List[Tuple[str, str]]:
    """(sample name, statement text) for every math statement the grader finds in the samples."""
    from grader.written.mathtext import math_segments
    from grader.written.sources import documents

    out = []
    for folder in sorted(f for f in SAMPLES.iterdir() if f.is_dir()):
        name = folder.name
        files = [(str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]
        for doc in documents(files):
            for _position, row, _displayed in math_segments(doc.text, doc.plain):
                out.append((name, row))
    return out


_TAG = re.compile(r"\\(?:tag|label)\*?\s*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z])")
_EQNUMBER = re.compile(r"(\\qquad|\\quad|\s)*\(\s*\d{1,3}(\.\d+)?\s*\)\s*$")


def clean(text: str) -> str:
    """The same for every candidate: tags, labels and a trailing equation number removed."""
    return _EQNUMBER.sub("", _TAG.sub(" ", text)).strip()


def sides(text: str) -> List[str]:
    """``a = b = c`` -> [a, b, c], split at ``=`` outside brackets; a leading empty side
    (a continuation line ``= ...``) is dropped, any other empty side is kept (and fails)."""
    out, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0 and text[k - 1:k] not in ("<", ">", "!", ":", "=") \
                and text[k + 1:k + 2] != "=":
            out.append(text[start:k].strip())
            start = k + 1
    out.append(text[start:].strip())
    if len(out) > 1 and not out[0]:
        out = out[1:]
    return out


# ---------------------------------------------------------------------------- candidates

class Candidate:
    """One parser: ``parse(side or statement)`` -> its result; ``chains`` when it reads ``a = b = c`` whole."""

    def __init__(self, key: str, label: str, modules: List[str], packages: List[str], chains: bool,
                 import_code: str, first_code: str, make: Callable[[], Callable[[str], Any]],
                 own_timeout: bool = False, note: str = ""):
        self.key, self.label, self.modules, self.packages = key, label, modules, packages
        self.chains, self.import_code, self.first_code, self.make = chains, import_code, first_code, make
        self.own_timeout, self.note = own_timeout, note
        self.parse: Optional[Callable[[str], Any]] = None
        self.problem: Optional[str] = None

    def load(self) -> bool:
        missing = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if missing:
            self.problem = "not installed (%s)" % ", ".join(missing)
            return False
        try:
            self.parse = self.make()
        except Exception as exc:  # noqa: BLE001 - a broken install is reported, not raised
            self.problem = "not usable: %s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:120] if str(exc) else "")
            return False
        return True


def _words() -> Tuple[str, ...]:
    from grader.rubric import load_rubric
    return tuple(load_rubric(str(RUBRIC)).written_parts()[0].written.notation.words)


def _make_ours():
    from grader.written.latex import parse_statement
    words = _words()
    return lambda text: parse_statement(text, words)


def _make_lark():
    from sympy.parsing.latex import parse_latex
    parse_latex("x + 1", backend="lark")
    return lambda text: parse_latex(text, backend="lark")


def _make_antlr():
    from sympy.parsing.latex import parse_latex
    parse_latex("x + 1", backend="antlr")      # raises ImportError when antlr4 is missing or the wrong version
    return lambda text: parse_latex(text, backend="antlr")


def _make_l2s():
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, NormalizationConfig
    # lowercase_symbols=False: the default folds H (hidden size) into h (hidden layer), W into w.
    # The normalization math-verify uses (less unit stripping) reads 17 more sample statements
    # than latex2sympy's default (basic_latex only).
    config = ConversionConfig(lowercase_symbols=False)
    normal = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=True,
                                 boxed="all", equations=False)
    return lambda text: latex2sympy(text, normalization_config=normal, conversion_config=config)


def _make_mv():
    import logging
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    # Only the LaTeX extractor, on the side wrapped in $..$ (the plain-expression extractor
    # picks a lone number out of "(Dx + 1) * H + ..."); no fallback, so a failed parse is [].
    # units=False: its unit stripping only loses statements here (549 read with it, 554 without).
    config = [LatexExtractionConfig(normalization_config=NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all", equations=False))]
    return lambda text: parse("$" + text + "$", extraction_config=config, fallback_mode="no_fallback")


CANDIDATES = [
    Candidate("ours", "ours (grader.written.latex)", ["grader"], ["a1grader"], True,
              "from grader.written.latex import parse_statement",
              "parse_statement('x + 1')", _make_ours),
    Candidate("lark", "sympy parse_latex (lark)", ["sympy", "lark"], ["sympy", "lark"], False,
              "from sympy.parsing.latex import parse_latex",
              "parse_latex('x + 1', backend='lark')", _make_lark),
    Candidate("antlr", "sympy parse_latex (antlr)", ["sympy", "antlr4"], ["sympy", "antlr4-python3-runtime"], False,
              "from sympy.parsing.latex import parse_latex",
              "parse_latex('x + 1', backend='antlr')", _make_antlr),
    Candidate("l2s", "latex2sympy2_extended", ["latex2sympy2_extended"], ["latex2sympy2_extended"], False,
              "from latex2sympy2_extended import latex2sympy",
              "latex2sympy('x + 1')", _make_l2s),
    Candidate("mv", "math-verify parse", ["math_verify", "latex2sympy2_extended"], ["math-verify"], False,
              "from math_verify import parse",
              "parse('$x + 1$')", _make_mv, own_timeout=True),
]


# ---------------------------------------------------------------------------- running one parse

class _Timeout(BaseException):
    """Not an Exception, so a library's own ``except Exception`` does not swallow it."""


def _alarm(signum, frame):
    raise _Timeout()


def run_one(cand: Candidate, text: str) -> Tuple[bool, str, Any]:
    """(read, why not, result) for one side or statement; never raises."""
    use_alarm = hasattr(signal, "setitimer") and not cand.own_timeout
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        if not text.strip():
            return False, "empty side", None
        result = cand.parse(text)
    except _Timeout:
        return False, "timeout", None
    except Exception as exc:  # noqa: BLE001 - every failure of a candidate is a data point (RecursionError too)
        return False, type(exc).__name__, None
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return judge_result(cand, result)


def judge_result(cand: Candidate, result: Any) -> Tuple[bool, str, Any]:
    if cand.key == "ours":
        if not result or all(node is None for node in result):
            return False, "empty", result
        return True, "", result
    import sympy
    if cand.key == "mv":
        found = [r for r in (result or []) if isinstance(r, sympy.Basic)]
        if not found:
            return False, "empty", result
        return True, "", found[0]
    if result is None:
        return False, "None", result
    if not isinstance(result, sympy.Basic):
        # the lark backend returns a lark Tree('_ambig', [...]) when it cannot choose
        kind = "ambiguous" if "_ambig" in str(result)[:20] else "%s (not an expression)" % type(result).__name__
        return False, kind, result
    return True, "", result


def run_statement(cand: Candidate, text: str) -> Tuple[bool, str, float, list]:
    """(read, why not, milliseconds, results) for one statement: whole for chain readers, else side by side."""
    start = time.perf_counter()
    if cand.chains:
        ok, why, result = run_one(cand, text)
        results = [result]
    else:
        ok, why, results = True, "", []
        for side in sides(text):
            side_ok, side_why, result = run_one(cand, side)
            if not side_ok:
                ok, why = False, side_why
                break
            results.append(result)
    return ok, why, (time.perf_counter() - start) * 1000, results


# LaTeX command words (and ^T) that a reader should never leave behind as names
LEFTOVERS = {"hat", "widehat", "boldsymbol", "mathbf", "bm", "circ", "odot", "prime", "top", "intercal",
             "cdot", "times", "left", "right", "text", "mathrm", "partial", "tag", "label", "quad"}


def leftover(cand: Candidate, result) -> bool:
    """Whether a read result visibly misreads: a LaTeX command word kept as a name, or ``W**T``."""
    if cand.key == "ours":
        return any(n[0] == "sym" and n[1] in LEFTOVERS for tree in result if tree for n in tnodes(tree))
    sp = _sp()
    if not isinstance(result, sp.Basic):
        return False
    names = {str(getattr(x, "name", x)).strip("\\") for x in result.free_symbols}
    names |= {str(f.func.__name__).strip("\\") for f in result.atoms(sp.core.function.AppliedUndef)}
    if names & LEFTOVERS:
        return True
    return any(isinstance(node, sp.Pow) and isinstance(node.exp, sp.Symbol)
               and str(node.exp.name).strip("\\") in LEFTOVERS | {"T"} for node in sp.preorder_traversal(result))


# ---------------------------------------------------------------------------- import time

def import_times(cand: Candidate, repeats: int) -> Tuple[Optional[float], Optional[float]]:
    """Median seconds, in a fresh interpreter, for the import and for import + a first parse."""
    code = ("import time, warnings; warnings.filterwarnings('ignore'); t0 = time.perf_counter(); %s; "
            "t1 = time.perf_counter(); %s; t2 = time.perf_counter(); print(t1 - t0, t2 - t0)"
            % (cand.import_code, cand.first_code))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    imports, firsts = [], []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0:
            return None, None
        a, b = proc.stdout.strip().splitlines()[-1].split()
        imports.append(float(a))
        firsts.append(float(b))
    return statistics.median(imports), statistics.median(firsts)


# ---------------------------------------------------------------------------- faithfulness helpers

def canon(name: Any) -> str:
    """A symbol's or function's name without typefaces, braces, backslashes, underscores: W_{1} -> W1, \\hat{y} -> yhat."""
    n = str(name)
    n = re.sub(r"\\?(mathbf|boldsymbol|bm|mathrm|vec|operatorname)", "", n)
    n = re.sub(r"[\\{}_ ]", "", n)
    m = re.fullmatch(r"(?:hat|widehat)(.+)", n)
    return m.group(1) + "hat" if m else n


ENV = {"x": 0.3, "z1": 0.4, "yhat": 0.7, "y": 0.2, "H": 3.0, "Dx": 5.0, "Dy": 2.0}


def _logistic(v):
    return 1 / (1 + cmath.exp(-v))


def _dlogistic(v):
    return _logistic(v) * (1 - _logistic(v))


NUM_FUNCS = {"sigma": _logistic, "sigmoid": _logistic, "sigma'": _dlogistic, "sigmaprime": _dlogistic,
             "exp": cmath.exp, "log": cmath.log}


# sympy outputs --------------------------------------------------------------

def _sp():
    import sympy
    return sympy


def sym_names(e) -> set:
    return {canon(getattr(s, "name", s)) for s in e.free_symbols}


def applied(e) -> List[Tuple[str, tuple]]:
    """(canonical name, args) of every function application: undefined functions and sympy's own."""
    sp = _sp()
    from sympy.core.function import AppliedUndef
    out = []
    for node in sp.preorder_traversal(e):
        if isinstance(node, AppliedUndef):
            out.append((canon(node.func.__name__), node.args))
        elif isinstance(node, (sp.exp, sp.log)):
            out.append((node.func.__name__, node.args))
    return out


def sympy_value(e) -> Optional[complex]:
    """The number ``e`` means with ENV bound (e as Euler's number, sigma the logistic function);
    None when a name or function is left unbound (a misreading such as sigma*x or D*x)."""
    sp = _sp()
    from sympy.core.function import AppliedUndef
    if not isinstance(e, sp.Expr):
        return None
    funcs = {"sigma": lambda t: 1 / (1 + sp.exp(-t)), "sigmoid": lambda t: 1 / (1 + sp.exp(-t)),
             "sigma'": lambda t: sp.exp(-t) / (1 + sp.exp(-t)) ** 2,
             "sigmaprime": lambda t: sp.exp(-t) / (1 + sp.exp(-t)) ** 2}
    reps = {}
    for f in e.atoms(AppliedUndef):
        name = canon(f.func.__name__)
        if name not in funcs or len(f.args) != 1:
            return None
        reps[f] = funcs[name](f.args[0])
    try:
        e = e.xreplace(reps).doit()
        values = {}
        for s in e.free_symbols:
            name = canon(getattr(s, "name", s))
            if name == "e":
                values[s] = sp.E
            elif name in ENV:
                values[s] = sp.Float(ENV[name])
            else:
                return None
        v = e.xreplace(values).evalf()
        return complex(v)
    except Exception:  # noqa: BLE001
        return None


def _is_transpose(node) -> bool:
    from sympy.functions.elementary.complexes import transpose
    from sympy.matrices.expressions import Transpose
    return isinstance(node, (Transpose, transpose))


def transposes(e) -> List[Any]:
    """The arguments of every transpose in ``e`` (a power ``W**T`` is not one)."""
    sp = _sp()
    return [node.args[0] for node in sp.preorder_traversal(e) if _is_transpose(node)]


def transpose_of(e, name: str) -> bool:
    return any(canon(getattr(a, "name", a)) == name for a in transposes(e))


def has_hadamard(e) -> bool:
    sp = _sp()
    from sympy.matrices.expressions import HadamardProduct
    return any(isinstance(node, HadamardProduct) for node in sp.preorder_traversal(e))


def ordered(e, first: Callable[[Any], bool], second: Callable[[Any], bool]) -> bool:
    """Whether a non-commutative product in ``e`` has a factor ``first`` before a factor ``second``."""
    sp = _sp()
    from sympy.matrices.expressions import MatMul
    for node in sp.preorder_traversal(e):
        if isinstance(node, MatMul) or (isinstance(node, sp.Mul) and node.is_commutative is False):
            args = list(node.args)
            for i, a in enumerate(args):
                if first(a) and any(second(b) for b in args[i + 1:]):
                    return True
    return False


def contains(name: str) -> Callable[[Any], bool]:
    return lambda sub: name in sym_names(sub)


def transposed(name: str) -> Callable[[Any], bool]:
    return lambda sub: transpose_of(sub, name)


def sigma_prime_at(e, arg: str) -> bool:
    """sigma' applied to ``arg``: a function named sigma', or a derivative of sigma taken at ``arg``."""
    sp = _sp()
    if any(name in ("sigma'", "sigmaprime") and len(a) == 1 and canon(a[0]) == arg for name, a in applied(e)):
        return True
    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.Derivative) and any(n == "sigma" for n, _ in applied(node.expr)):
            if arg in sym_names(node):
                return True
        if isinstance(node, sp.Subs) and isinstance(node.expr, sp.Derivative) \
                and any(n == "sigma" for n, _ in applied(node.expr.expr)) and arg in sym_names(node):
            return True
    return False


def sigma_at(e, arg: str) -> bool:
    return any(name in ("sigma", "sigmoid") and len(a) == 1 and canon(a[0]) == arg for name, a in applied(e))


def derivative_of(e, top: str, var: str) -> bool:
    sp = _sp()
    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.Derivative):
            expr = node.expr
            names = sym_names(expr) | {n for n, _ in applied(expr)}
            if top in names and var in {canon(v) for v in node.variables}:
                return True
    return False


def sums_over(e, index: str, body_has: Optional[str] = None) -> bool:
    sp = _sp()
    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.Sum) and any(canon(lim[0]) == index for lim in node.limits):
            if body_has is None or any(n == body_has for n, _ in applied(node.function)):
                return True
    return False


# our trees -------------------------------------------------------------------

def tnodes(node):
    if not isinstance(node, tuple):
        return
    yield node
    for item in node[1:]:
        if isinstance(item, tuple):
            yield from tnodes(item)
        elif isinstance(item, list):
            for sub in item:
                yield from tnodes(sub)


def tname(node) -> str:
    return node[1] + (node[2] or "") if node[0] == "sym" else ""


def tree_value(node) -> complex:
    kind = node[0]
    if kind == "num":
        return complex(node[1])
    if kind == "sym":
        name = tname(node)
        if name == "e":
            return complex(math.e)
        return complex(ENV[name])           # KeyError: an unbound name
    if kind == "group":
        return tree_value(node[1])
    if kind == "neg":
        return -tree_value(node[1])
    if kind in ("add", "sub", "div", "pow"):
        a, b = tree_value(node[1]), tree_value(node[2])
        return {"add": a + b, "sub": a - b, "div": a / b if b else float("nan"), "pow": a ** b}[kind]
    if kind == "prod":
        out = complex(1)
        for f in node[1]:
            out *= tree_value(f)
        return out
    if kind == "call" and len(node[2]) == 1:
        return NUM_FUNCS[node[1]](tree_value(node[2][0]))
    raise KeyError(kind)


def t_value(chain) -> Optional[complex]:
    try:
        return tree_value(chain[0])
    except Exception:  # noqa: BLE001
        return None


def t_call(tree, name: str, arg: Optional[str] = None) -> bool:
    return any(n[0] == "call" and n[1] == name and (arg is None or (len(n[2]) == 1 and tname(n[2][0]) == arg))
               for n in tnodes(tree))


def t_T(tree, name: Optional[str] = None, inner_call: Optional[str] = None) -> bool:
    for n in tnodes(tree):
        if n[0] == "T":
            if name is not None and tname(n[1]) == name:
                return True
            if inner_call is not None and t_call(n[1], inner_call):
                return True
    return False


def t_had(tree) -> bool:
    return any(n[0] == "prod" and "had" in n[2] for n in tnodes(tree))


def t_ordered(tree, first: Callable[[Any], bool], second: Callable[[Any], bool]) -> bool:
    for n in tnodes(tree):
        if n[0] == "prod":
            fs = n[1]
            for i, a in enumerate(fs):
                if first(a) and any(second(b) for b in fs[i + 1:]):
                    return True
    return False


def t_has_sym(name: str) -> Callable[[Any], bool]:
    return lambda sub: any(tname(n) == name for n in tnodes(sub))


def t_is_T(name: str) -> Callable[[Any], bool]:
    return lambda sub: sub[0] == "T" and tname(sub[1]) == name


# ---------------------------------------------------------------------------- the labelled expressions

def _close(v: Optional[complex], expected: float) -> bool:
    return v is not None and abs(v - expected) < 1e-9 * max(1.0, abs(expected))


S = _logistic(0.3).real
S1 = _logistic(0.4).real


def value_item(expected: float):
    """A scalar expression: right when, with ENV bound, it evaluates to ``expected``."""
    return (lambda e: _close(sympy_value(e), expected)), (lambda t: _close(t_value(t), expected))


ITEMS: List[Tuple[str, str, Callable, Callable]] = [
    (r"\sigma(x)(1-\sigma(x))", "sigma applied to x (not sigma times x); a product; value s(1-s)",
     *value_item(S * (1 - S))),
    (r"\sigma'(x)", "a derivative of sigma applied to x (not sigma * ' * x); value s(1-s)",
     *value_item(S * (1 - S))),
    (r"\sigma^{\prime}(z_1)", "the same with ^{\\prime}, at z_1; value s(z1)(1-s(z1))",
     *value_item(S1 * (1 - S1))),
    (r"\frac{d\sigma}{dx}", "a derivative of sigma with respect to x, not a quotient d*sigma/(d*x)",
     lambda e: derivative_of(e, "sigma", "x"),
     lambda t: any(n[0] == "label" and "sigma" in n[1] and n[1].endswith("/dx") for n in tnodes(t[0]))),
    (r"\sigma(x) - \sigma(x)^2", "sigma applied; value s - s^2",
     *value_item(S - S * S)),
    (r"sigmoid(x) * (1 - sigmoid(x))", "sigmoid as one function name applied to x (not s*i*g*m*o*i*d)",
     *value_item(S * (1 - S))),
    (r"e^{-x}/(1+e^{-x})^2", "the quotient with e read as Euler's number; value e^-x/(1+e^-x)^2",
     *value_item(math.exp(-0.3) / (1 + math.exp(-0.3)) ** 2)),
    (r"softmax(\theta) - y", "softmax as one function applied to theta, minus y",
     lambda e: any(n == "softmax" and len(a) == 1 and canon(a[0]) == "theta" for n, a in applied(e))
     and sym_names(e) == {"theta", "y"},
     lambda t: t_call(t[0], "softmax", "theta") and t[0][0] == "sub" and tname(t[0][2]) == "y"),
    (r"\hat{y}(1-\hat{y})", "yhat times (1 - yhat): a product, not a call; value 0.21",
     *value_item(0.7 * 0.3)),
    (r"\hat{\boldsymbol{y}} - \boldsymbol{y}", "two names, yhat and y (typeface ignored); value 0.5",
     *value_item(0.7 - 0.2)),
    (r"-\sum_i y_i \log \hat{y}_i", "a sum over i whose body has a log",
     lambda e: sums_over(e, "i", "log"),
     lambda t: any(n[0] == "sum" and n[1] == "i" and t_call(n[2], "log") for n in tnodes(t[0]))),
    (r"\frac{e^{x_i + c}}{\sum_{j} e^{x_j + c}}", "a sum over j in the denominator",
     lambda e: sums_over(e, "j"),
     lambda t: any(n[0] == "sum" and n[1] == "j" for n in tnodes(t[0]))),
    (r"\frac{\partial J}{\partial x}", "a derivative of J with respect to x, not a fraction of products",
     lambda e: derivative_of(e, "J", "x"),
     lambda t: any(n[0] == "label" and n[1] == "dJ/dx" for n in tnodes(t[0]))),
    (r"x W_1 + b_1", "x before W_1 in a product that does not commute (row vector times matrix)",
     lambda e: ordered(e, contains("x"), contains("W1")),
     lambda t: t_ordered(t[0], t_has_sym("x"), t_has_sym("W1"))),
    (r"(\hat{y} - y) W_2^T \circ h \circ (1 - h)",
     "W_2 transposed; the elementwise product kept; (yhat - y) before W_2^T, not commuted",
     lambda e: transpose_of(e, "W2") and has_hadamard(e) and ordered(e, contains("yhat"), transposed("W2")),
     lambda t: t_T(t[0], "W2") and t_had(t[0]) and t_ordered(t[0], t_has_sym("yhat"), t_is_T("W2"))),
    (r"\delta_1 W_2^T \odot \sigma'(z_1)",
     "W_2 transposed; elementwise product kept; sigma' applied to z_1; delta_1 before W_2^T",
     lambda e: transpose_of(e, "W2") and has_hadamard(e) and sigma_prime_at(e, "z1")
     and ordered(e, contains("delta1"), transposed("W2")),
     lambda t: t_T(t[0], "W2") and t_had(t[0]) and t_call(t[0], "sigmaprime", "z1")
     and t_ordered(t[0], t_has_sym("delta1"), t_is_T("W2"))),
    (r"\delta_2 W_1^{\top}", "W_1 transposed (^\\top); delta_2 before W_1^T, not commuted",
     lambda e: transpose_of(e, "W1") and ordered(e, contains("delta2"), transposed("W1")),
     lambda t: t_T(t[0], "W1") and t_ordered(t[0], t_has_sym("delta2"), t_is_T("W1"))),
    (r"W_1^{\intercal}", "a transpose of W_1 (not a power W_1^intercal)",
     lambda e: transpose_of(e, "W1"),
     lambda t: t[0][0] == "T" and tname(t[0][1]) == "W1"),
    (r"\sigma(z_1)\{1 - \sigma(z_1)\}^T",
     "the transpose of the bracket kept (this is the 1 x 1 inner-product mistake); sigma applied to z_1",
     lambda e: sigma_at(e, "z1") and any(sigma_at(a, "z1") for a in transposes(e)),
     lambda t: t_call(t[0], "sigma", "z1") and t_T(t[0], inner_call="sigma")),
    (r"W_1^T(\sigma'(z_1) \circ W_2^T(\hat{y} - y))",
     "column convention: W_1^T times the bracket (not a call); both transposes, the elementwise product, sigma'(z_1)",
     lambda e: transpose_of(e, "W1") and transpose_of(e, "W2") and has_hadamard(e) and sigma_prime_at(e, "z1")
     and not any(n in ("W1", "W2") for n, _ in applied(e)),
     lambda t: t_T(t[0], "W1") and t_T(t[0], "W2") and t_had(t[0]) and t_call(t[0], "sigmaprime", "z1")
     and not t_call(t[0], "W1") and t_ordered(t[0], t_is_T("W1"), lambda s: s[0] == "group")),
    (r"H(D_x + D_y + 1) + D_y", "H times the bracket (not a function H); D_x, D_y single names; value 26",
     *value_item(3 * (5 + 2 + 1) + 2)),
    (r"(Dx + 1) * H + (H + 1) * Dy", "ASCII: Dx and Dy single names (not D*x); value 26",
     *value_item((5 + 1) * 3 + (3 + 1) * 2)),
]


def faithfulness(cand: Candidate) -> List[Tuple[str, bool]]:
    """(output, faithful) per labelled expression."""
    out = []
    for text, _must, sympy_check, tree_check in ITEMS:
        ok, why, result = run_one(cand, text)
        if not ok:
            shown = "%s: %s" % (why, result) if result not in (None, []) else why
            out.append((shown, False))
            continue
        try:
            good = bool(tree_check(result) if cand.key == "ours" else sympy_check(result))
        except Exception:  # noqa: BLE001 - a check that trips over an odd output: not faithful
            good = False
        out.append((show(result), good))
    return out


def show(result) -> str:
    if isinstance(result, list):
        return " = ".join("None" if n is None else tree_str(n) for n in result)
    return str(result)


def tree_str(node) -> str:
    """A compact one-line form of our tree."""
    kind = node[0]
    if kind == "sym":
        return node[1] + ("_" + node[2] if node[2] else "")
    if kind == "num":
        v = node[1]
        return str(int(v)) if float(v).is_integer() else str(v)
    if kind == "call":
        return "%s(%s)" % (node[1], ", ".join(tree_str(a) for a in node[2]))
    if kind == "prod":
        sign = {"juxt": " ", "dot": " . ", "had": " o "}
        out = tree_str(node[1][0])
        for op, f in zip(node[2], node[1][1:]):
            out += sign[op] + tree_str(f)
        return "prod[%s]" % out
    if kind in ("add", "sub", "div", "pow"):
        return "%s(%s, %s)" % (kind, tree_str(node[1]), tree_str(node[2]))
    if kind in ("neg", "group", "T"):
        return "%s(%s)" % (kind, tree_str(node[1]))
    if kind == "sum":
        return "sum_%s(%s)" % (node[1], tree_str(node[2]))
    if kind == "label":
        return "label(%s)" % node[1]
    if kind == "index":
        return "%s_%s" % (tree_str(node[1]), node[2])
    return str(node)


# ---------------------------------------------------------------------------- report

def versions() -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": sys.version.split()[0]}
    try:                                    # read-only: which commit of the grader was measured
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "grader"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if head:
            out["grader commit"] = head + (" (grader/ modified)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    for pkg in ("a1grader", "sympy", "lark", "antlr4-python3-runtime", "latex2sympy2_extended", "math-verify"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def md_table(header: List[str], rows: List[List[str]]) -> str:
    esc = lambda c: str(c).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh interpreters per import-time figure")
    parser.add_argument("--failures", metavar="KEY", help="also list the statements this candidate could not read")
    parser.add_argument("--json", metavar="PATH", help="also write every figure and output as JSON here")
    args = parser.parse_args(argv)

    statements = sample_statements()
    from grader.written.latex import NotEquation, parse_statement
    words = _words()
    not_equation = set()
    for k, (_name, row) in enumerate(statements):
        try:
            parse_statement(clean(row), words)
        except NotEquation:
            not_equation.add(k)
        except Exception:  # noqa: BLE001
            pass
    n_all, n_eq = len(statements), len(statements) - len(not_equation)
    samples = len({name for name, _ in statements})

    results: Dict[str, Any] = {"versions": versions(), "statements": n_all, "samples": samples,
                               "not_equations": len(not_equation), "candidates": {}}
    for cand in CANDIDATES:
        entry: Dict[str, Any] = {"label": cand.label}
        results["candidates"][cand.key] = entry
        if not cand.load():
            entry["problem"] = cand.problem
            print("%s: %s" % (cand.label, cand.problem), file=sys.stderr)
            continue
        print("%s: running" % cand.label, file=sys.stderr)
        t0 = time.perf_counter()
        run_one(cand, "x + 1")                       # warm-up (grammar building, caches)
        entry["warmup_ms"] = (time.perf_counter() - t0) * 1000
        per, ms, whys, failed, misread = [], [], {}, [], []
        for k, (name, row) in enumerate(statements):
            ok, why, took, outs = run_statement(cand, clean(row))
            per.append(ok)
            ms.append(took)
            if not ok:
                whys[why] = whys.get(why, 0) + 1
                failed.append((name, row, why))
            elif any(leftover(cand, out) for out in outs):
                misread.append((name, row, " = ".join(show(o) for o in outs)))
        entry["read"] = sum(per)
        entry["misread"] = misread
        entry["read_equations"] = sum(ok for k, ok in enumerate(per) if k not in not_equation)
        entry["mean_ms"] = statistics.mean(ms)
        entry["median_ms"] = statistics.median(ms)
        entry["max_ms"] = max(ms)
        entry["max_ms_statement"] = statements[ms.index(max(ms))][1][:80]
        entry["why"] = whys
        entry["failed"] = failed
        entry["import_s"], entry["first_s"] = import_times(cand, args.repeats)
        entry["faithful"] = faithfulness(cand)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))

    cands = [c for c in CANDIDATES if "problem" not in results["candidates"][c.key]]
    print("# Parser candidates\n")
    print("%d statements from %d samples; %d of them are not equations to our parser "
          "(`\\in`, `\\to`, `:` ...)\n" % (n_all, samples, len(not_equation)))
    for c in CANDIDATES:
        if "problem" in results["candidates"][c.key]:
            print("- %s: %s" % (c.label, results["candidates"][c.key]["problem"]))
    print("\n## (a) parse success\n")
    rows = []
    for c in cands:
        e = results["candidates"][c.key]
        rows.append([c.label, "%d / %d (%.1f%%)" % (e["read"], n_all, 100 * e["read"] / n_all),
                     "%d / %d (%.1f%%)" % (e["read_equations"], n_eq, 100 * e["read_equations"] / n_eq),
                     "%d" % len(e["misread"]),
                     ", ".join("%s %d" % kv for kv in sorted(e["why"].items(), key=lambda kv: -kv[1]))])
    print(md_table(["candidate", "all statements", "equations only", "of the read: a command word or ^T left as a name",
                    "why the rest failed"], rows))
    print("\n## (b) time\n")
    rows = []
    for c in cands:
        e = results["candidates"][c.key]
        fmt = lambda v: "n/a" if v is None else "%.0f" % (v * 1000)
        rows.append([c.label, "%.2f" % e["mean_ms"], "%.2f" % e["median_ms"], "%.1f" % e["max_ms"],
                     fmt(e["import_s"]), fmt(e["first_s"])])
    print(md_table(["candidate", "mean ms/statement", "median ms", "max ms",
                    "import (ms)", "import + first parse (ms)"], rows))
    print("\nSlowest statement per candidate:\n")
    for c in cands:
        e = results["candidates"][c.key]
        print("- %s: %.1f ms, `%s`" % (c.key, e["max_ms"], e["max_ms_statement"].replace("`", "'")))
    print("\n## (c) faithfulness\n")
    header = ["#", "expression", "must keep"] + [c.key for c in cands]
    rows = []
    for i, (text, must, _s, _t) in enumerate(ITEMS):
        rows.append([str(i + 1), "`%s`" % text, must] +
                    ["yes" if results["candidates"][c.key]["faithful"][i][1] else "no" for c in cands])
    rows.append(["", "total", ""] + ["%d / %d" % (sum(f for _, f in results["candidates"][c.key]["faithful"]),
                                               len(ITEMS)) for c in cands])
    print(md_table(header, rows))
    print("\n### outputs\n")
    rows = []
    for i, (text, _must, _s, _t) in enumerate(ITEMS):
        rows.append([str(i + 1)] + ["`%s`" % results["candidates"][c.key]["faithful"][i][0][:70] for c in cands])
    print(md_table(["#"] + [c.key for c in cands], rows))
    print("\n## versions\n")
    print(", ".join("%s %s" % kv for kv in results["versions"].items()))
    if args.failures and args.failures in results["candidates"]:
        print("\n## statements %s could not read\n" % args.failures)
        for name, row, why in results["candidates"][args.failures].get("failed", []):
            print("- [%s] %s: `%s`" % (name, why, row[:120]))
        print("\n## statements %s read with a command word or ^T left as a name\n" % args.failures)
        for name, row, out in results["candidates"][args.failures].get("misread", []):
            print("- [%s] `%s` -> `%s`" % (name, row[:100], out[:140]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
