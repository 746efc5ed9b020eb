"""A minimal PDF writer for the tests: one text line per row, Helvetica, as a word processor's export.

Enough for a real text layer (pypdf reads it back); no dependency, no fonts to ship.
"""
from __future__ import annotations

from typing import List


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


HIDDEN = {"[[white]]": ("1 1 1 rg ", " 0 0 0 rg"), "[[invisible]]": ("3 Tr ", " 0 Tr")}


def _row(line: str) -> str:
    """One row's operators; a row starting ``[[white]]`` or ``[[invisible]]`` is drawn so no one sees it."""
    for mark, (before, after) in HIDDEN.items():
        if line.startswith(mark):
            return "%s(%s) Tj%s T*" % (before, _escape(line[len(mark):]), after)
    return "(%s) Tj T*" % _escape(line)


def make_pdf(text: str, lines_per_page: int = 50) -> bytes:
    """The bytes of a PDF whose pages show ``text`` (latin-1 characters), one line per row."""
    rows = text.splitlines() or [""]
    pages = [rows[i:i + lines_per_page] for i in range(0, len(rows), lines_per_page)]
    objects: List[bytes] = []
    kids = " ".join("%d 0 R" % (4 + 2 * k) for k in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(("<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))).encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for k, page in enumerate(pages):
        stream = "BT /F1 10 Tf 12 TL 40 800 Td " + " ".join(_row(r) for r in page) + " ET"
        data = stream.encode("latin-1", "replace")
        objects.append(("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                        "/Contents %d 0 R >>" % (5 + 2 * k)).encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
