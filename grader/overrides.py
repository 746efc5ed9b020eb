"""Human decisions, kept in the gradebook beside the grader's: one per assignment, student and part.

An override sets a part's points (or a verdict: ``correct`` means full points,
``incorrect`` none), with a comment for the student, who decided, when, and the
fingerprint of the answer it was made for. The grader's own result is never
changed: every output that shows a score applies the overrides when it reads the
gradebook (:func:`apply`) and says so. A regrade (``batch --force``, a new rubric)
keeps them; when the student's answer has changed since, the override is *stale*:
kept, not applied, and listed for a person to look at again.

Two TAs at once: each override has a version; a change names the version it
was made from, and a different one raises :class:`Conflict` instead of
overwriting a colleague's decision.
"""
from __future__ import annotations

import copy
import getpass
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .errors import GraderError

SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    assignment TEXT NOT NULL,         -- the rubric's assignment id, as the grades' (gradebook.py)
    student TEXT NOT NULL,
    part TEXT NOT NULL,
    points REAL,                      -- null: the verdict decides
    verdict TEXT,                     -- correct | incorrect | null
    comment TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- of the answer it was made for (the part's, when decided)
    version INTEGER NOT NULL,
    PRIMARY KEY (assignment, student, part)
)
"""
COLUMNS = ("student", "part", "points", "verdict", "comment", "by", "at", "fingerprint", "version")
VERDICTS = ("correct", "incorrect")
BY_ENV = "A1GRADER_TA"


class Conflict(GraderError):
    """Someone else changed this decision since it was read."""


@dataclass
class Override:
    student: str
    part: str
    points: Optional[float]
    verdict: Optional[str]
    comment: str
    by: str
    at: str
    fingerprint: str
    version: int

    def points_for(self, max_score: float) -> float:
        if self.points is not None:
            return float(self.points)
        return float(max_score) if self.verdict == "correct" else 0.0


def who(by: Optional[str] = None) -> str:
    """The name a decision is recorded under: ``--by``, else $A1GRADER_TA, else the login name."""
    if by:
        return by
    if os.environ.get(BY_ENV):
        return os.environ[BY_ENV]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container): still record something
        return "unknown"


def load(db, assignment: str) -> Dict[Tuple[str, str], Override]:
    """Every override of one assignment in an open gradebook's connection, by (student, part)."""
    rows = db.execute("SELECT %s FROM overrides WHERE assignment = ?" % ", ".join(COLUMNS), (assignment,)).fetchall()
    return {(r[0], r[1]): Override(*r) for r in rows}


def decide(db, assignment: str, student: str, part: str, fingerprint: str, points: Optional[float] = None,
           verdict: Optional[str] = None, comment: str = "", by: Optional[str] = None,
           seen: Optional[int] = None) -> Override:
    """Record one decision now. ``seen``: the version the decider saw (0: none); another one is a Conflict."""
    return decide_many(db, assignment, [(student, part, fingerprint, seen)], points, verdict, comment, by)[0]


def decide_many(db, assignment: str, items: Iterable[Tuple[str, str, str, Optional[int]]],
                points: Optional[float] = None, verdict: Optional[str] = None, comment: str = "",
                by: Optional[str] = None) -> List[Override]:
    """One decision of ``assignment`` for several (student, part, fingerprint, seen version), all or none."""
    if points is None and verdict is None:
        raise GraderError("a decision needs points or a verdict")
    if verdict is not None and verdict not in VERDICTS:
        raise GraderError("verdict must be one of %s, not %r" % (", ".join(VERDICTS), verdict))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    name = who(by)
    made: List[Override] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for student, part, fingerprint, seen in items:
            row = db.execute("SELECT version, by, at FROM overrides WHERE assignment = ? AND student = ? AND part = ?",
                             (assignment, student, part)).fetchone()
            current = row[0] if row else 0
            if seen is not None and seen != current:
                raise Conflict("%s / %s was decided meanwhile by %s at %s: reload and decide again"
                               % (student, part, row[1], row[2]) if row else
                               "%s / %s: its decision was removed meanwhile: reload" % (student, part))
            override = Override(student, part, None if points is None else float(points), verdict, comment or "",
                                name, now, fingerprint, current + 1)
            db.execute("INSERT OR REPLACE INTO overrides (assignment, %s) VALUES (?, %s)" % (
                ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))), (assignment,) + tuple(getattr(override, c) for c in COLUMNS))
            made.append(override)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return made


def remove(db, assignment: str, student: str, part: str) -> bool:
    """Forget one decision; False if there was none."""
    with db:
        return db.execute("DELETE FROM overrides WHERE assignment = ? AND student = ? AND part = ?",
                          (assignment, student, part)).rowcount > 0


def part_of(result: Mapping[str, Any], part_id: str) -> Optional[Dict[str, Any]]:
    for question in result.get("questions", []):
        for part in question.get("parts", []):
            if part.get("id") == part_id:
                return part
    return None


def apply(result: Optional[Dict[str, Any]], overrides: Mapping[str, Override]) -> Optional[Dict[str, Any]]:
    """A copy of a stored result with the TA's decisions (``part id -> Override``) applied, and said.

    Each decided part gets ``override`` (the decision, and ``stale`` when the answer changed since);
    a current one replaces the part's score, keeping the grader's as ``grader_score``, and a written
    part's verdict (the grader's kept as ``override["grader_verdict"]``): every output that reads the
    verdict (feedback, the CSV's ``<part>_verdict``, the report's counts) shows the TA's. Totals follow.
    """
    if result is None or not overrides:
        return result
    result = copy.deepcopy(result)
    for question in result.get("questions", []):
        for part in question.get("parts", []):
            override = overrides.get(part.get("id"))
            if override is None:
                continue
            stale = override.fingerprint != part.get("fingerprint", "")
            part["override"] = dict(asdict(override), stale=stale)
            if not stale:
                part["grader_score"] = part["score"]
                part["score"] = round(min(max(override.points_for(part["max_score"]), 0.0), part["max_score"]), 4)
                if part.get("verdict"):
                    part["override"]["grader_verdict"] = part["verdict"]
                    part["verdict"] = decided_verdict(part["score"], part["max_score"])
        question["score"] = round(sum(p["score"] for p in question.get("parts", [])), 4)
    result["score"] = round(sum(q["score"] for q in result.get("questions", [])), 4)
    return result


def decided_verdict(points: float, max_score: float) -> str:
    """A written part's verdict after a TA's decision: correct (full points), incorrect (none), else partial."""
    return "correct" if points >= max_score else "incorrect" if points <= 0 else "partial"


def by_student(overrides: Mapping[Tuple[str, str], Override]) -> Dict[str, Dict[str, Override]]:
    out: Dict[str, Dict[str, Override]] = {}
    for (student, part), override in overrides.items():
        out.setdefault(student, {})[part] = override
    return out


def describe(override: Mapping[str, Any], grader_score: Optional[float], max_score: float) -> str:
    """One line for the student: what a TA decided, and why."""
    if override.get("stale"):
        return ("a TA's decision (%s, %s) was for an earlier version of this answer: it is not applied until "
                "a TA looks again" % (override["by"], override["at"][:10]))
    points = override["points"] if override.get("points") is not None else (
        max_score if override.get("verdict") == "correct" else 0.0)
    # Rounded as every output shows points (report.common.shown), so feedback and export agree.
    text = "adjusted by a TA (%s, %s): %g/%g" % (override["by"], override["at"][:10], round(points, 2), max_score)
    if grader_score is not None:
        text += " (the grader gave %g)" % round(grader_score, 2)
    if override.get("comment"):
        text += ": " + override["comment"]
    return text
