"""Class exports from the gradebook: CSV for an LMS gradebook, JSON for scripts.

CSV columns, in order: ``student``, ``score``, ``max_score``, ``status`` (graded |
error | grader failed: <reason>), one column per question id (``q1``, ``q2``), one per
part id (``relu``, ``relu_grad``, ...), one ``<part>_verdict`` per written part (correct |
incorrect | needs_review | missing, or after a TA's decision correct | partial | incorrect), ``adjusted_by_ta`` (the TAs' decisions, applied to every
score of the row, see overrides.py), ``graded_at`` and ``error``. One row per student.
Points in the CSV are rounded as every output shows them (common.shown); the JSON keeps the
grader's four decimals, for scripts. A submission the grader itself failed on has an empty score (null in JSON), never a 0: it
is no grade, and the next batch grades it again.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List

from ..gradebook import Row
from .common import clean, clean_tree, shown

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (a student
# zip named '=cmd|...' would run on the teacher's machine). OWASP "CSV Injection": prefix a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    """A text cell: cleaned, and never read as a formula. Scores are written with '%g', not through here."""
    text = clean(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def student_row(row: Row) -> Dict[str, Any]:
    """One student as every class output shows them: the JSON export's object (see :func:`to_json`)."""
    result = row.result_dict() or {}
    failed = row.status == "grader_error"
    out: Dict[str, Any] = {"student": row.student, "score": None if failed else row.score,
                           "max_score": row.max_score,
                           "status": "grader failed: %s" % (row.error or "no reason recorded").removeprefix(
                               "the grader failed: ") if failed else row.status}
    questions, parts, verdicts, adjusted = {}, {}, {}, {}
    for question in result.get("questions", []):
        questions[question["id"]] = question["score"]
        for part in question["parts"]:
            parts[part["id"]] = part["score"]
            if part.get("verdict"):
                verdicts[part["id"]] = part["verdict"]
            if part.get("override"):
                o = part["override"]
                adjusted[part["id"]] = {"points": part["score"], "grader_score": part.get("grader_score"),
                                        "by": o["by"], "at": o["at"], "comment": o["comment"],
                                        "verdict": o.get("verdict"), "stale": o["stale"]}
    out["questions"], out["parts"], out["verdicts"] = questions, parts, verdicts
    out["adjusted"] = adjusted
    late = result.get("lateness") or {}
    out["late"] = late.get("late") if late.get("late") is None and late else bool(late.get("late"))   # None: no time
    out["late_hours"] = late.get("hours")
    out["late_penalty_percent"] = late.get("penalty_percent")
    out["graded_at"], out["error"] = row.graded_at, row.error
    return out


def _adjusted(adjusted: Dict[str, Dict[str, Any]]) -> str:
    """'part: 3 (grader 0) by ana: comment' per decided part; a stale decision says so and is not applied."""
    out = []
    for part, a in adjusted.items():
        if a["stale"]:
            out.append("%s: stale decision by %s (answer changed; not applied)" % (part, a["by"]))
        else:
            out.append("%s: %s (grader %s) by %s%s" % (part, shown(a["points"]), shown(a["grader_score"]), a["by"],
                                                       ": " + a["comment"] if a["comment"] else ""))
    return "; ".join(out)


def to_json(rows: List[Row]) -> str:
    """A list of objects: student, score (null: the grader failed), max_score, status, questions{}, parts{}, verdicts{},
    adjusted{}, graded_at, error.

    Every string is cleaned (JSON needs no formula guard: scripts read it, not spreadsheets).
    """
    return json.dumps(clean_tree([student_row(r) for r in rows]), indent=2) + "\n"


def to_csv(rows: List[Row]) -> str:
    """The CSV export: numeric cells are plain numbers, every text cell goes through :func:`_text`."""
    flat = [student_row(r) for r in rows]
    q_ids = list(dict.fromkeys(q for f in flat for q in f["questions"]))
    p_ids = list(dict.fromkeys(p for f in flat for p in f["parts"]))
    v_ids = list(dict.fromkeys(p for f in flat for p in f["verdicts"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_text(h) for h in ["student", "score", "max_score", "status"] + q_ids + p_ids
                     + [v + "_verdict" for v in v_ids] + ["adjusted_by_ta", "late", "late_hours", "late_penalty_percent",
                                                          "graded_at", "error"]])
    for f in flat:
        writer.writerow([_text(f["student"]), "" if f["score"] is None else shown(f["score"]), shown(f["max_score"]),
                         _text(f["status"])]
                        + [shown(f["questions"][q]) if q in f["questions"] else "" for q in q_ids]
                        + [shown(f["parts"][p]) if p in f["parts"] else "" for p in p_ids]
                        + [_text(f["verdicts"].get(v, "")) for v in v_ids]
                        + [_text(_adjusted(f["adjusted"])), {True: "yes", None: "unknown"}.get(f["late"], ""),
                           "" if f["late_hours"] is None else "%g" % f["late_hours"],
                           "" if f["late_penalty_percent"] is None else "%g" % f["late_penalty_percent"]]
                        + [_text(f["graded_at"]), _text(f["error"] or "")])
    return buffer.getvalue()
