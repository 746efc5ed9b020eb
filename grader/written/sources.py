"""A submission's files -> the documents that may hold written answers, as text.

``.md``, ``.tex``, ``.txt`` as text; ``.ipynb`` its Markdown (and raw) cells;
``.pdf`` its text layer (pypdf). Which names count is the rubric's
(``writeup: {include: [...], exclude: [...]}``); whether a document is a
write-up at all is decided later, by whether any part is found in it (a README
about running the code has none). Whatever cannot be read says why, per file.
"""
from __future__ import annotations

import fnmatch
import io
import json
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

MAX_TEXT = 1_000_000          # characters of one document that are read
PLAIN_SUFFIXES = (".txt", ".pdf")
DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.tex", "*.txt", "*.ipynb", "*.pdf")
DEFAULT_EXCLUDE = ("requirements*.txt", "LICENSE*", "*.egg-info/*", "CMakeLists.txt")


@dataclass
class Document:
    """One file's text; ``plain`` when formulas are written without $ (text files, PDFs)."""

    name: str
    text: str
    plain: bool
    problem: Optional[str] = None     # why it could not be read (then text is empty)


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
    try:
        if lower.endswith(".pdf"):
            text = _pdf_text(data)
        elif lower.endswith(".ipynb"):
            text = _notebook_text(data)
        else:
            text = _decode(data)
    except _Unreadable as exc:
        return Document(name, "", plain, "%s could not be read: %s" % (name, exc))
    except Exception as exc:  # noqa: BLE001 - a parser's bug on a hostile file is that file's problem
        return Document(name, "", plain, "%s could not be read (%s)" % (name, type(exc).__name__))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    return Document(name, text, plain)


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
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("markdown", "raw"):
            continue
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(out)


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
        pages = [page.extract_text() or "" for page in reader.pages[:60]]
    except PdfReadError as exc:
        raise _Unreadable("not a readable PDF (%s)" % exc) from None
    text = "\n".join(pages)
    if not text.strip():
        raise _Unreadable("the PDF has no text layer (a scan?)")
    return text
