r"""A submission's files -> the documents that may hold written answers, as text.

``.md``, ``.tex``, ``.txt`` as text; ``.ipynb`` its Markdown cells; ``.html`` and
``.docx`` converted to Markdown by pandoc (its equations, MathJax's TeX and Word's
equation objects, become TeX); ``.pdf`` its text layer (pypdf). What a reader
cannot see is not an answer and is removed: comments (HTML, Markdown, LaTeX ``%``
and ``\iffalse``), struck-through text, hidden notebook cells and HTML elements,
invisible or white PDF text. A PDF whose text layer is scrambled (a glyph per
line, unmapped symbols) is read but flagged, so that nothing is decided
``incorrect`` from it. Which names count is the rubric's
(``writeup: {include: [...], exclude: [...]}``); whether a document is a
write-up at all is decided later, by whether any part is found in it (a README
about running the code has none). Whatever cannot be read says why, per file.
"""
from __future__ import annotations

import fnmatch
import io
import json
import re
import subprocess
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .macros import expand_macros

MAX_TEXT = 1_000_000          # characters of one document that are read
PLAIN_SUFFIXES = (".txt", ".pdf")
SUFFIXES = (".md", ".markdown", ".tex", ".txt", ".ipynb", ".pdf", ".html", ".htm", ".docx")   # what is read
DEFAULT_INCLUDE = tuple("*" + suffix for suffix in SUFFIXES)
PANDOC_SECONDS = 20
DEFAULT_EXCLUDE = ("requirements*.txt", "LICENSE*", "*.egg-info/*", "CMakeLists.txt")


@dataclass
class Document:
    """One file's text; ``plain`` when formulas are written without $ (text files, PDFs)."""

    name: str
    text: str
    plain: bool
    problem: Optional[str] = None     # why it could not be read (then text is empty)
    scrambled: Optional[str] = None   # why its text cannot be trusted to say an answer is wrong
    loose: bool = False               # only its formulas are in pieces (headings and prose read well)


def wanted(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether the rubric's patterns take ``name`` (a path inside the submission)."""
    base = name.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatch(base, p) or fnmatch.fnmatch(name, p) for p in exclude):
        return False
    return any(fnmatch.fnmatch(base.lower(), p.lower()) for p in include)


def documents(files: Sequence[Tuple[str, bytes]], include: Sequence[str] = DEFAULT_INCLUDE,
              exclude: Sequence[str] = DEFAULT_EXCLUDE) -> List[Document]:
    """Every file the patterns take, read as text, in name order."""
    return [read_document(name, data) for name, data in sorted(files) if wanted(name, include, exclude)]


def read_document(name: str, data: bytes) -> Document:
    """One file as a :class:`Document`; never raises for what the file contains."""
    lower = name.lower()
    plain = lower.endswith(PLAIN_SUFFIXES)
    scrambled = None
    try:
        if lower.endswith(".pdf"):
            text = _pdf_text(data)
            scrambled = scrambled_layer(text)
        elif lower.endswith(".ipynb"):
            text = visible_markdown(_notebook_text(data))
        elif lower.endswith((".html", ".htm")):
            text = visible_markdown(_pandoc(_visible_html(_decode(data)).encode("utf-8"), "html"))
        elif lower.endswith(".docx"):
            text = visible_markdown(_pandoc(data, "docx"))
        elif lower.endswith(".tex"):
            text = visible_latex(_decode(data))
        elif lower.endswith(".txt"):
            text = _decode(data)
        else:
            text = visible_markdown(_decode(data))
    except _Unreadable as exc:
        return Document(name, "", plain, "%s could not be read: %s" % (name, exc))
    except Exception as exc:  # noqa: BLE001 - a parser's bug on a hostile file is that file's problem
        return Document(name, "", plain, "%s could not be read (%s)" % (name, type(exc).__name__))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    return Document(name, text, plain, scrambled=scrambled, loose=bool(scrambled and "split" in scrambled))


# ---------------------------------------------------------------------------- what a reader sees

_HTML_COMMENT = re.compile(r"<!--.*?(-->|\Z)", re.S)
_STRUCK = re.compile(r"~~(?!~).+?~~|<(del|s|strike)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TEX_COMMENT = re.compile(r"(?<!\\)%.*")
_TEX_HIDDEN = re.compile(r"\\iffalse\b.*?\\fi\b|\\begin\{comment\}.*?\\end\{comment\}", re.S)
_TEX_STRUCK = re.compile(r"\\(sout|st|xout)\s*\{[^{}]*\}")
_HIDDEN_HTML = re.compile(
    r"<(\w+)\b[^>]*?(?:\bhidden\b(?!\s*=\s*[\"']?false)|style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:"
    r"\s*hidden|(?<![-\w])color\s*:\s*(?:white|#fff\b|#ffffff\b)))[^>]*>.*?</\1\s*>", re.S | re.I)
_DATA_IMAGE = re.compile(r"!\[([^\]]*)\]\(data:[^)]*\)")


def visible_markdown(text: str) -> str:
    """Markdown as a reader sees it: no comments, no struck-through text, pictures kept as markers,
    the write-up's own macros expanded."""
    text = expand_macros(_HTML_COMMENT.sub(" ", text))
    text = _STRUCK.sub(" ", text)
    return _DATA_IMAGE.sub(r"![\1](image)", text)


def visible_latex(text: str) -> str:
    """LaTeX as it prints: no ``%`` comments, ``\\iffalse`` blocks, comment environments or struck text,
    the write-up's own macros expanded."""
    text = _TEX_HIDDEN.sub(" ", text)
    text = "\n".join(_TEX_COMMENT.sub("", line) for line in text.split("\n"))
    return _lettered_items(expand_macros(_TEX_STRUCK.sub(" ", text)))


_ENUMERATE = re.compile(r"\\begin\{enumerate\}(\s*\[[^\]]*\])?|\\end\{enumerate\}|\\item\b(?!\s*\[)")


def _lettered_items(text: str) -> str:
    """``\\item`` as LaTeX prints it where it prints a letter: ``\\item[(b)]`` in an enumerate labelled
    ``(\\alph*)`` (or ``(a)``), or in one inside another (LaTeX's second level)."""
    stack, out, pos = [], [], 0
    for match in _ENUMERATE.finditer(text):
        token = match.group(0)
        if token.startswith("\\begin"):
            option = match.group(1) or ""
            stack.append([bool(re.search(r"\\alph|\(a\)|\ba\)", option)) or (len(stack) == 1 and not option), 0])
        elif token.startswith("\\end"):
            if stack:
                stack.pop()
        elif stack and stack[-1][0]:
            out.append(text[pos:match.start()] + "\\item[(%s)]" % "abcdefghij"[min(stack[-1][1], 9)])
            stack[-1][1] += 1
            pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _visible_html(text: str) -> str:
    for _ in range(20):            # nested hidden elements: the outermost first, until none is left
        text, count = _HIDDEN_HTML.subn(" ", text)
        if not count:
            break
    return _STRUCK.sub(" ", _HTML_COMMENT.sub(" ", text))


def _pandoc(data: bytes, kind: str) -> str:
    """``data`` (HTML or .docx) as Markdown with TeX math, by pandoc (the pypandoc-binary wheel)."""
    try:
        import pypandoc
        binary = pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        raise _Unreadable("pandoc is not installed (pip install pypandoc-binary)") from None
    source = "html+tex_math_dollars+tex_math_single_backslash" if kind == "html" else "docx"
    target = "markdown-raw_html-native_divs-native_spans-raw_attribute-bracketed_spans-fenced_divs-link_attributes-header_attributes"
    try:
        run = subprocess.run([binary, "-f", source, "-t", target, "--wrap=none", "--sandbox"],
                             input=data, capture_output=True, timeout=PANDOC_SECONDS)
    except subprocess.TimeoutExpired:
        raise _Unreadable("pandoc took over %d s" % PANDOC_SECONDS) from None
    if run.returncode != 0:
        raise _Unreadable("pandoc: %s" % run.stderr.decode("utf-8", "replace").strip()[:200])
    return run.stdout.decode("utf-8", "replace")


def scrambled_layer(text: str) -> Optional[str]:
    """Why a PDF's text layer cannot be trusted, or None: a glyph per line, or symbols left unmapped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    unmapped = text.count("\x00") + text.count("\ufffd") + text.count("(cid:")
    if unmapped >= 3:
        return "the PDF's text layer is scrambled (%d symbols without a character)" % unmapped
    short = sum(1 for line in lines if len(line) <= 2)
    if len(lines) >= 20 and short > 0.5 * len(lines):
        return "the PDF's text layer is scrambled (%d of %d lines hold one or two characters)" % (short, len(lines))
    split = sum(1 for line in lines if _SPLIT_MATH.fullmatch(line))
    if split >= 5:
        # a typeset fraction or sum comes out a piece per line: what is read there is not what was written
        return "the PDF's formulas are split over lines in its text layer (%d pieces)" % split
    return None


_SPLIT_MATH = re.compile(r"[∑∏∂=+−\-ˆ^·∗∫√(){}\[\]|]{1,2}|.{0,3}[∑∂ˆ].{0,3}|[a-zA-Z]?\d?[∑∂ˆ]")


class _Unreadable(ValueError):
    pass


def _decode(data: bytes) -> str:
    if b"\0" in data[:4096]:
        raise _Unreadable("it is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t\f") > 40:
        raise _Unreadable("it is a binary file, not text")
    return text


def _notebook_text(data: bytes) -> str:
    try:
        notebook = json.loads(_decode(data))
    except ValueError:
        raise _Unreadable("not a notebook (invalid JSON)") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        # nbformat 3 kept cells in worksheets
        sheets = notebook.get("worksheets") if isinstance(notebook, dict) else None
        cells = [c for s in sheets or [] if isinstance(s, dict) for c in s.get("cells", [])]
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown" or _hidden_cell(cell):
            continue
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(out)


def _visible_text(page) -> str:
    """A page's text without what it does not show: render mode 3 (invisible) or a white fill."""
    state = {"white": False, "mode": 0}
    stack, shown, pending = [], [], []

    def before(operator, operands, cm, tm):
        if operator == b"q":
            stack.append(dict(state))
        elif operator == b"Q" and stack:
            state.update(stack.pop())
        elif operator == b"Tr" and operands:
            state["mode"] = int(operands[0])
        elif operator in (b"rg", b"g", b"sc", b"scn") and operands:
            values = [float(v) for v in operands if isinstance(v, (int, float))]
            state["white"] = bool(values) and all(v >= 0.97 for v in values)
        elif operator == b"k" and len(operands) == 4:
            state["white"] = all(float(v) <= 0.03 for v in operands)
        elif operator in (b"Tj", b"TJ", b"'", b'"'):
            pending.append(state["mode"] in (3, 7) or state["white"])

    def text(value, cm, tm, font, size):
        # pypdf hands text over when a line ends, after the operators that drew it
        if pending and all(pending):
            shown.append("\n" if "\n" in value else "")
        else:
            shown.append(value)
        pending.clear()

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    return "".join(shown)


def _hidden_cell(cell: dict) -> bool:
    """A cell the notebook does not show: its source hidden, or folded under a collapsed heading."""
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    jupyter = meta.get("jupyter") if isinstance(meta.get("jupyter"), dict) else {}
    return bool(jupyter.get("source_hidden") or meta.get("hidden") is True)


def _pdf_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise _Unreadable("pypdf is not installed") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise _Unreadable("the PDF is encrypted")
        pages = [_visible_text(page) for page in reader.pages[:60]]
    except PdfReadError as exc:
        raise _Unreadable("not a readable PDF (%s)" % exc) from None
    text = "\n".join(pages)
    if len(text.strip()) < 80 * len(pages):
        raise _Unreadable("the PDF has almost no text layer (a scan or pictures?): a TA reads it")
    return text
