"""Class exports from the gradebook: CSV for an LMS gradebook, JSON for scripts.

CSV columns, in order: ``student``, ``score``, ``max_score``, ``status``
(graded | error), one column per question id (``q1``, ``q2``), one per part id
(``softmax``, ``sigmoid``, ...), ``graded_at`` and ``error``. One row per student.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List

from ..gradebook import Row


def _flat(row: Row) -> Dict[str, Any]:
    result = row.result_dict() or {}
    out: Dict[str, Any] = {"student": row.student, "score": row.score, "max_score": row.max_score,
                           "status": row.status}
    questions, parts = {}, {}
    for question in result.get("questions", []):
        questions[question["id"]] = question["score"]
        for part in question["parts"]:
            parts[part["id"]] = part["score"]
    out["questions"], out["parts"] = questions, parts
    out["graded_at"], out["error"] = row.graded_at, row.error
    return out


def to_json(rows: List[Row]) -> str:
    """A list of objects: student, score, max_score, status, questions{}, parts{}, graded_at, error."""
    return json.dumps([_flat(r) for r in rows], indent=2) + "\n"


def to_csv(rows: List[Row]) -> str:
    flat = [_flat(r) for r in rows]
    q_ids = list(dict.fromkeys(q for f in flat for q in f["questions"]))
    p_ids = list(dict.fromkeys(p for f in flat for p in f["parts"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "status"] + q_ids + p_ids + ["graded_at", "error"])
    for f in flat:
        writer.writerow([f["student"], "%g" % f["score"], "%g" % f["max_score"], f["status"]]
                        + ["%g" % f["questions"][q] if q in f["questions"] else "" for q in q_ids]
                        + ["%g" % f["parts"][p] if p in f["parts"] else "" for p in p_ids]
                        + [f["graded_at"], f["error"] or ""])
    return buffer.getvalue()
