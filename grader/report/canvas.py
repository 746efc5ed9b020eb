"""The Canvas gradebook import: the roster's identity columns, one assignment column, matched by Canvas's ids.

The roster is Canvas's own gradebook export (``Student, ID, SIS User ID, SIS Login
ID, Section, ...``; an optional second row ``Points Possible``). A submission is
matched to a roster row by the Canvas user id its LMS download carries
(``name_<id>``), else by its id being the row's ID, SIS User ID or SIS Login ID.
Scores are the gradebook's with the TAs' decisions applied. Roster students with
no submission get an empty cell (Canvas leaves their grade alone) and are
reported; so are submissions no roster row claims. A submission that is no grade
(the grader failed on it, or it could not be read) gets an empty cell too, never a 0.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import GraderError
from ..gradebook import Row
from .common import shown
from .export import _text

IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def read_roster(text: str) -> Tuple[List[Dict[str, str]], List[str]]:
    """The roster's student rows and its header; GraderError if it is not a Canvas gradebook export."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    if "Student" not in header or "ID" not in header:
        raise GraderError("the roster is not a Canvas gradebook export: it needs the columns Student and ID "
                          "(found: %s)" % ", ".join(header[:8]))
    students = [row for row in reader if row.get("Student", "").strip() and
                not row["Student"].strip().startswith(("Points Possible", "Test Student"))]
    return students, header


def assignment_column(roster_text: str, given: Optional[str], new: str) -> Tuple[str, Optional[str]]:
    """(the column to write the scores to, a note for the TA or None).

    ``given`` (--column) wins. Without it, the roster's one assignment column is used: Canvas names
    those 'Title (assignment id)', and its computed columns (Current Score, Final Grade, ...) carry no
    id. A roster with none gets a new column named ``new`` (the rubric's name; Canvas creates it on
    import), said; one
    with several is a GraderError naming them: the TA must choose.
    """
    _, header = read_roster(roster_text)
    found = [c for c in header if c not in IDENTITY and re.search(r"\(\d+\)\s*$", c)]
    if given:
        return given, None if given in header else (
            "the roster has no column %r: Canvas will create a new assignment of that name on import" % given)
    if len(found) == 1:
        return found[0], "scores go to the roster's assignment column %r" % found[0]
    if not found:
        return new, ("the roster has no assignment column: Canvas will create a new assignment %r on import "
                     "(--column names another)" % new)
    raise GraderError("the roster has %d assignment columns (%s): name the one to fill with --column" % (
        len(found), ", ".join(repr(c) for c in found)))


def _canvas_id(student: str) -> str:
    match = re.search(r"_(\d+)$", student)
    return match.group(1) if match else ""


def to_canvas(rows: Sequence[Row], roster_text: str, column: str) -> Tuple[str, List[str], List[str]]:
    """(the import CSV, roster students without a submission, submissions without a roster row)."""
    roster, header = read_roster(roster_text)
    identity = [c for c in IDENTITY if c in header]
    by_key: Dict[str, Row] = {}
    for row in rows:
        for key in filter(None, (_canvas_id(row.student), row.student)):
            by_key.setdefault(key, row)
    matched, missing = set(), []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(identity + [column])
    top = max((r.max_score for r in rows), default=0.0)
    writer.writerow(["Points Possible"] + [""] * (len(identity) - 1) + ["%g" % top])
    for entry in roster:
        found = None
        for key in ("ID", "SIS User ID", "SIS Login ID"):
            value = (entry.get(key) or "").strip()
            if value and value in by_key:
                found = by_key[value]
                break
        cells = [_text(entry.get(c, "")) for c in identity]
        if found is None:
            missing.append("%s (ID %s)" % (entry.get("Student", "").strip(), entry.get("ID", "").strip()))
            writer.writerow(cells + [""])
            continue
        matched.add(found.student)
        writer.writerow(cells + [shown(found.score) if found.status == "graded" else ""])
    unmatched = [r.student for r in rows if r.student not in matched]
    return out.getvalue(), missing, unmatched
