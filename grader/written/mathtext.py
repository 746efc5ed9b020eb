"""A part's text -> its math statements, in order, each parsed (or the reason it could not be).

Math is found in ``$$..$$``, ``\\[..\\]``, ``\\(..\\)``, ``$..$`` and the display
environments (equation, align, gather, multline, eqnarray, split, aligned; their
starred forms); in plain text (``.txt``, a PDF's text layer) a line that reads
as a formula is math too. Rows split at ``\\\\``; ``&``, ``\\tag{..}`` and an
equation number left by a converter (``(12)``) are dropped. A statement that
starts with ``=`` continues the one before it, across blocks, as a converter
breaks one derivation into several.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .latex import MathError, NotEquation, parse_statement

MAX_STATEMENTS = 400

_ENVS = r"(?:equation|align|alignat|gather|multline|eqnarray|displaymath|math|flalign)\*?"
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<br>.+?)\\\]|\\begin\{(?P<env>" + _ENVS + r")\}(?:\{\d+\})?(?P<body>.+?)\\end\{(?P=env)\}"
    r"|\\\((?P<pa>.+?)\\\)|(?<![\\$])\$(?P<d>[^$]+?)\$", re.S)
_INNER_ENV = re.compile(r"\\(begin|end)\{(split|aligned|gathered|alignedat|array|align|equation|gather|eqnarray"
                        r"|multline|flalign)\*?\}(\{[^}]*\})?")
_CASES = re.compile(r"\\begin\{(cases|pmatrix|bmatrix|matrix)\}.*?\\end\{\1\}", re.S)
# softmax(x + c) = [⋮ ; e^(x_j + c)/Σ ; ⋮]: the definition written out as a column; the component chain follows
_ELIDED_VECTOR = re.compile(r"=?\s*\\begin\{([pbv]?matrix)\}(?=(?:(?!\\end\{\1\}).)*\\[vcd]dots).*?\\end\{\1\}", re.S)
_EQUALS_BEFORE = re.compile(r"(?:^|\n)[ \t]*=[ \t]*\Z")
_PROSE_TEXT = re.compile(r"\\(?:text|mbox|textrm|mathrm|textit)\s*\{\s*[A-Za-z,]+\s+[A-Za-z]")
_EQNUMBER = re.compile(r"(\\qquad|\\quad|\s)*\(\s*\d{1,3}(\.\d+)?\s*\)\s*$")
_CODE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_PROSE_SPLIT = re.compile(r"\s(?:where|with|since|because|and|so|thus|hence|then|for|if|which|as)\s", re.I)


@dataclass
class Statement:
    """One math statement: its text, its chain (None if unreadable) and whether it was displayed."""

    text: str
    chain: Optional[list] = None
    error: Optional[str] = None
    display: bool = True
    where: int = 0            # the statement's position in the part's text
    given: bool = False       # the question's own statement, restated: not an answer

    @property
    def ok(self) -> bool:
        return self.chain is not None


def _rows(body: str) -> List[str]:
    body = _INNER_ENV.sub(" ", body)
    body = _ELIDED_VECTOR.sub(" ", body)
    if not body.strip() or re.fullmatch(r"[^=]*=\s*", body.strip()):
        return []
    if _CASES.search(body):
        return [body]          # piecewise definitions are kept whole: unreadable, so a TA looks
    rows = re.split(r"\\\\(?:\[[^\]]*\])?|\\q?quad(?![A-Za-z])|;", body)
    rows = [_PROSE_TEXT.split(row)[0] for row in rows]        # "z₂ = x W₁ + b₁ \text{with dimensions …}"
    rows = [piece for row in rows for piece in _split_commas(row)]
    out = []
    for row in rows:
        row = _EQNUMBER.sub("", row.replace("&", " ")).strip()
        row = _cells(row)
        row = row.rstrip(".,;").strip()
        if row:
            out.append(row)
    return out


def _cells(row: str) -> str:
    """Pandoc's aligned rows, ``{z_2 = x W_1}   {= …}``: every cell a brace group; their contents, joined."""
    if not row.startswith("{"):
        return row
    parts, depth, start = [], 0, None
    for k, ch in enumerate(row):
        if ch == "{" and row[k - 1:k] != "\\":
            if depth == 0:
                if row[start or 0:k].strip() and start is not None:
                    return row          # text between the groups: not a row of cells
                start = k + 1
            depth += 1
        elif ch == "}" and row[k - 1:k] != "\\":
            depth -= 1
            if depth == 0:
                parts.append(row[start:k])
                start = k + 1
        elif depth == 0 and not ch.isspace():
            return row
    return " ".join(parts) if depth == 0 and parts else row


def _split_commas(row: str) -> List[str]:
    """``z = a, h = b`` -> two equations; a comma inside brackets (CE(y, ŷ)) stays."""
    if row.count("=") < 2:
        return [row]
    pieces, depth, start = [], 0, 0
    for k, ch in enumerate(row):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(row[start:k])
            start = k + 1
    pieces.append(row[start:])
    return pieces if all("=" in p for p in pieces if p.strip()) else [row]


def math_segments(text: str, plain: bool) -> List[Tuple[int, str, bool]]:
    """(position, math text, displayed) in document order."""
    text = _CODE.sub(lambda m: " " * len(m.group(0)), text)
    found: List[Tuple[int, str, bool]] = []
    last = 0
    for match in _MATH.finditer(text):
        if plain:
            found.extend(_plain_lines(text[last:match.start()], last))
        last = match.end()
        kind = match.lastgroup
        body = match.group(kind if kind != "env" else "body")
        if kind == "env":
            body = match.group("body")
        displayed = kind in ("dd", "br", "env", "body")
        rows = _rows(body)
        if rows and _EQUALS_BEFORE.search(text, 0, match.start()) and not rows[0].startswith("="):
            # "= $(1 + e^{-x})^{-2}(-e^{-x})$ \\[6pt]": the = of a derivation written outside the math
            rows[0] = "= " + rows[0]
        for row in rows:
            found.append((match.start(), row, displayed))
    if plain:
        found.extend(_plain_lines(text[last:], last))
    elif not found:
        found = _plain_lines(text, 0)      # a result stated in prose: "The number of parameters is (Dx + 1)H + ..."
    found.sort(key=lambda item: item[0])
    return found


_WORD = re.compile(r"[A-Za-z]{3,}")
MATHWORDS = {"sigma", "sigmoid", "softmax", "exp", "log", "yhat", "delta", "theta", "diag", "tanh", "CE", "sum", "max"}


def _plain_lines(text: str, offset: int) -> List[Tuple[int, str, bool]]:
    """Lines of plain text that read as formulas, with prose before or after them cut off."""
    out = []
    pos = offset
    for line in text.split("\n"):
        start = pos
        pos += len(line) + 1
        for piece in _pieces(line):
            candidate = _formula_in(piece)
            if candidate:
                out.append((start, candidate, True))
    return out


_SENTENCE = re.compile(r"(?<=[A-Za-z)\]])\.\s+(?=[A-Z])")


def _pieces(line: str) -> List[str]:
    """A line of prose cut where a sentence or a clause ends: "with d1 = a and d2 = b" holds two formulas."""
    if ":" in line:
        head, _, tail = line.rpartition(":")
        if not re.search(r"[=+*/^]", head) or _is_prose(head.split()[-1] if head.split() else head):
            line = tail
    out = []
    for sentence in _SENTENCE.split(line):
        for piece in _PROSE_SPLIT.split(" " + sentence + " "):
            if piece.strip():
                out.extend(_NEXT_EQUATION.split(piece) if piece.count("=") > 1 else [piece])
    return out


# "h = sigmoid(x W1 + b1) ˆy = softmax(h W2 + b2)": a PDF's line holding two equations, split where a name is defined
_NEXT_EQUATION = re.compile(r"(?<=[)\w])\s+(?=[ˆ^]?[A-Za-z]{1,4}\d?\s*=(?!=))")


def _formula_in(line: str) -> Optional[str]:
    line = re.sub(r"^\s*(\d{1,2}[.)]|\([a-h0-9]\))\s+", "", line)     # a list item's number
    line = line.strip().lstrip("-*> ").strip()
    if not line or not re.search(r"[=+*/^]", line):
        return None
    if ":" in line:
        head, _, tail = line.rpartition(":")
        if not re.search(r"[=+*/^]", head) or _is_prose(head):
            line = tail.strip()
    line = re.sub(r"\(\s*[*o]?\s*=?\s*([A-Za-z][A-Za-z ]{3,})\)\s*$",
                  lambda m: m.group(0) if m.group(1).strip() in MATHWORDS else "", line.rstrip(".,;")).strip()   # "(* = elementwise)"
    words = line.split()
    dropped = False
    while words and _is_prose(words[0]) and len(words) > 1:
        words.pop(0)
        dropped = True
    line = " ".join(words)
    if dropped and line.startswith("="):
        line = line[1:].strip()      # "total parameters = ...": the prose was the left side
    line = _EQNUMBER.sub("", line).rstrip(".,;").strip()
    if len(line) < 3 or not re.search(r"[=+*/^]", line):
        return None
    prose = [w for w in _WORD.findall(line) if w not in MATHWORDS and not w.startswith(("sigma", "softmax"))
             and not (w[0] == "d" and (w[1:] in MATHWORDS or len(w) <= 3))]      # dCE/dtheta: a derivative
    if len(prose) > 1 and not re.search(r"[()^=]", line):
        return None
    if len(prose) > 2:
        return None
    return line


def _is_prose(word: str) -> bool:
    word = word.strip(",.;")
    return bool(re.fullmatch(r"[A-Za-z]{2,}|[A-Za-z]", word)) and word not in MATHWORDS and \
        word.lower() not in ("h", "x", "y", "c", "e") and not re.fullmatch(r"[A-Z][a-z]?\d*|[A-Za-z]\d+", word) \
        and not word.startswith(("sigma", "softmax"))


def statements(text: str, plain: bool = False, notation=None) -> List[Statement]:
    """Every statement of ``text``, parsed in ``notation`` (the rubric's spellings);
    continuations (``= ...``) joined to the one before."""
    out: List[Statement] = []
    for position, row, displayed in math_segments(text, plain)[:MAX_STATEMENTS]:
        try:
            chain = notation.parse(row) if notation is not None else parse_statement(row)
        except NotEquation:
            continue
        except MathError as exc:
            out.append(Statement(row, None, str(exc), displayed, position))
            continue
        except RecursionError:
            out.append(Statement(row, None, "nested too deeply", displayed, position))
            continue
        if chain[0] is None:
            # "= ..." continues the last displayed statement (inline math in the prose between is a remark)
            previous = next((st for st in reversed(out) if st.display or not displayed), None)
            if previous is not None and previous.ok:
                previous.chain = previous.chain + chain[1:]
                previous.text += " " + row
                continue
            chain = chain[1:]
        out.append(Statement(row, chain, None, displayed, position))
    return out
