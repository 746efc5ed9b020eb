r"""A write-up's own LaTeX macros, expanded as LaTeX would: ``\newcommand{\yh}{\hat{y}}`` makes ``\yh`` ŷ.

``\newcommand``, ``\renewcommand``, ``\providecommand`` (with ``[n]`` arguments), ``\def`` (with
``#1``… parameters) and ``\DeclareMathOperator``. A definition is removed where it stands and every
use after it is replaced, up to ``DEPTH`` levels of macros inside macros and ``MAX_GROWTH`` times
the text's length: a write-up that defines a macro in terms of itself is read as written.
"""
from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

DEPTH = 8
MAX_GROWTH = 4

_NEWCOMMAND = re.compile(r"\\(?:re|provide)?newcommand\*?\s*\{?\s*(\\[A-Za-z]+)\s*\}?\s*(?:\[(\d)\])?\s*(?:\[[^\]]*\])?\s*\{")
_DEF = re.compile(r"\\def\s*(\\[A-Za-z]+)((?:#\d)*)\s*\{")
_OPERATOR = re.compile(r"\\DeclareMathOperator\*?\s*\{\s*(\\[A-Za-z]+)\s*\}\s*\{")


def _group(text: str, open_at: int) -> Optional[int]:
    """The index of the brace closing the one at ``open_at``, or None."""
    depth = 0
    for k in range(open_at, len(text)):
        ch = text[k]
        if ch == "{" and text[k - 1:k] != "\\":
            depth += 1
        elif ch == "}" and text[k - 1:k] != "\\":
            depth -= 1
            if depth == 0:
                return k
    return None


def _definitions(text: str) -> Tuple[str, Dict[str, Tuple[int, str]]]:
    """The text without its definitions, and {\\name: (number of arguments, body)}."""
    macros: Dict[str, Tuple[int, str]] = {}
    for pattern, kind in ((_NEWCOMMAND, "new"), (_DEF, "def"), (_OPERATOR, "op")):
        out, pos = [], 0
        for match in pattern.finditer(text):
            if match.start() < pos:
                continue
            close = _group(text, match.end() - 1)
            if close is None:
                continue
            body = text[match.end():close]
            if kind == "new":
                count = int(match.group(2) or 0)
            elif kind == "def":
                count = len(match.group(2)) // 2
            else:
                count, body = 0, r"\operatorname{%s}" % body
            macros[match.group(1)] = (count, body)
            out.append(text[pos:match.start()])
            pos = close + 1
        out.append(text[pos:])
        text = "".join(out)
    return text, macros


def expand_macros(text: str) -> str:
    """``text`` with the macros it defines expanded (unchanged if it defines none)."""
    if "newcommand" not in text and "\\def" not in text and "DeclareMathOperator" not in text:
        return text
    text, macros = _definitions(text)
    if not macros:
        return text
    limit = MAX_GROWTH * len(text) + 1000
    names = sorted(macros, key=len, reverse=True)
    use = re.compile("(%s)(?![A-Za-z])" % "|".join(re.escape(n) for n in names))
    for _ in range(DEPTH):
        out, pos, changed = [], 0, False
        for match in use.finditer(text):
            if match.start() < pos:
                continue
            count, body = macros[match.group(1)]
            end = match.end()
            for k in range(1, count + 1):
                at = end + len(text[end:]) - len(text[end:].lstrip())
                if at < len(text) and text[at] == "{":
                    close = _group(text, at)
                    if close is None:
                        break
                    argument, end = text[at + 1:close], close + 1
                elif at < len(text):
                    argument, end = text[at], at + 1
                else:
                    break
                body = body.replace("#%d" % k, argument)
            out.append(text[pos:match.start()] + " " + body + " ")
            pos, changed = end, True
        out.append(text[pos:])
        text = "".join(out)
        if not changed or len(text) > limit:
            break
    return text
