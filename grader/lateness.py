"""Lateness: policy applied when grades are shown (export, feedback, report), never when code is graded.

Grading records only facts about when a submission came in (``result["submitted"]``: a time and
the source that recorded it, or an LMS's LATE marker). The policy is applied to the stored result
each time a grade is shown (:func:`show`), from what the gradebook holds now: the late policy of
the rubric the class was last graded with (read again from its file: ``late: {due, grace_hours,
percent_per_day, cap_percent}``), the extensions (``grader batch --extensions``) and the
submission times the TA gave (``grader batch --times``). So a new due date, grace or extension
takes effect on the next export or report, and no code is regraded (the rubric's hash leaves
``late:`` out: rubric.grading_bytes).

A submission time comes only from a source that records one: Gradescope's metadata, a CSV the
TA passes, or the LMS's LATE marker (no time: one day's penalty, or none with an extension).
Files' modification times are never one: they are when a TA copied or unzipped them, or what a
student set. Without a time there is no penalty, and the record says so.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from .errors import GraderError

SCHEMA = """CREATE TABLE IF NOT EXISTS lateness (assignment TEXT NOT NULL, kind TEXT NOT NULL, student TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (assignment, kind, student))"""
# Per assignment (the rubric's id, as the grades'); kinds: rubric ('' -> the path of the rubric last graded with), policy ('' -> its late policy, JSON, for when
# that file is gone), extension (student -> due), time (student -> submitted, from the TA's CSV).
NO_TIME = ("no submission time was recorded (folders and zips carry none; grader batch --times FILE gives them): "
           "lateness not assessed, no penalty")


@dataclass(frozen=True)
class LatePolicy:
    due: Optional[datetime] = None
    grace_hours: float = 0.0
    percent_per_day: float = 0.0
    cap_percent: float = 100.0

    def describe(self) -> str:
        if not self.percent_per_day:       # a rubric without late: (or with no rate) takes nothing: say that
            return "the rubric has no late penalty"
        return "%g%% a day after %g h of grace, at most %g%%" % (self.percent_per_day, self.grace_hours,
                                                                  self.cap_percent)


NO_POLICY = LatePolicy()


def parse_time(text: Any) -> datetime:
    """An ISO 8601 time (or a datetime); one without a zone is UTC. ValueError if it is not one."""
    value = text if isinstance(text, datetime) else datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def read_times(path: Path, what: str = "due") -> Dict[str, Tuple[datetime, int]]:
    """``student,<what>`` rows (a header row is allowed) -> {id: (time, line)}; GraderError naming a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GraderError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    out: Dict[str, Tuple[datetime, int]] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or row[0].strip().lower() in ("student", "id", ""):
            continue
        if len(row) < 2:
            raise GraderError("%s:%d: expected student,%s" % (path, number, what))
        try:
            out[row[0].strip()] = (parse_time(row[1]), number)
        except ValueError:
            raise GraderError("%s:%d: %r is not a date and time (e.g. 2026-12-03T23:59:00Z)" % (
                path, number, row[1])) from None
    return out


def read_extensions(path: Path) -> Dict[str, datetime]:
    return {k: v for k, (v, _) in read_times(path).items()}


def match(given: Mapping[str, Tuple[datetime, int]], students: Iterable[str], path) -> Dict[str, datetime]:
    """Each id of ``given`` as the student it names: the id itself, or the LMS user id ending it (``ana_12345``).

    GraderError naming the line of an id that is no student of the class, or more than one.
    """
    students = sorted(set(students))
    out: Dict[str, datetime] = {}
    for given_id, (when, line) in given.items():
        found = [given_id] if given_id in students else [s for s in students if s.endswith("_" + given_id)]
        if len(found) != 1:
            raise GraderError("%s:%d: %s %r (this class's ids look like %r)" % (
                path, line, "no student of this class is" if not found else "more than one student is", given_id,
                students[0] if students else "ana_12345"))
        out[found[0]] = when
    return out


def gradescope_times(metadata: Path) -> Dict[str, Optional[datetime]]:
    """``submitted`` and ``due`` from Gradescope's submission_metadata.json (either may be None)."""
    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GraderError("cannot read Gradescope's metadata %s: %s" % (metadata, exc)) from None
    return {"submitted": when(data.get("created_at")), "due": when((data.get("assignment") or {}).get("due_date"))}


def when(value: Any) -> Optional[datetime]:
    try:
        return parse_time(value) if value else None
    except (ValueError, TypeError):
        return None


def assess(policy: LatePolicy, submitted: Optional[datetime], source: Optional[str], due: Optional[datetime] = None,
           marked_late: Optional[str] = None, extended: bool = False) -> Dict[str, Any]:
    """The lateness record of one submission; {} when on time or when there is no due date and no marker."""
    due = due or policy.due
    if submitted is None and marked_late:
        if extended:
            return {"late": False, "source": marked_late, "hours": None, "penalty_percent": 0.0,
                    "why": "%s against the course's due date, with no time; an extension to %s applies: no penalty"
                           % (marked_late, due.isoformat())}
        penalty = min(policy.cap_percent, policy.percent_per_day) if policy.percent_per_day else 0.0
        return {"late": True, "source": marked_late, "hours": None, "penalty_percent": penalty,
                "why": "late by an unknown time (%s): %s" % (marked_late, "one day's penalty" if penalty
                                                              else policy.describe())}
    if due is None:
        return {}
    if submitted is None:
        return {"late": None, "source": None, "hours": None, "penalty_percent": 0.0, "why": NO_TIME}
    if submitted <= due:
        return {}
    hours = (submitted - due).total_seconds() / 3600.0
    if hours <= policy.grace_hours:
        return {"late": True, "source": source, "hours": round(hours, 2), "penalty_percent": 0.0,
                "why": "within the %g h grace period" % policy.grace_hours}
    days = math.ceil((hours - policy.grace_hours) / 24.0)
    penalty = min(policy.cap_percent, days * policy.percent_per_day)
    return {"late": True, "source": source, "hours": round(hours, 2), "penalty_percent": penalty,
            "why": "%.1f hours after the due date (%s): %d day(s) late, %s" % (hours, source, days, policy.describe())}


def apply(result, record: Mapping[str, Any]) -> None:
    """Record lateness on a result object and take its penalty from the total (the raw total is kept)."""
    if record:
        result.lateness = dict(record, raw_score=result.score)
        result.score = _penalized(result.score, record)


def _penalized(score: float, record: Mapping[str, Any]) -> float:
    penalty = float(record.get("penalty_percent") or 0.0)
    return round(score * (1.0 - penalty / 100.0), 4) if penalty else score


# The gradebook's side: what batch records, and what every output applies.

def record(db, rubric, extensions: Optional[Mapping[str, datetime]] = None,
           times: Optional[Mapping[str, datetime]] = None) -> None:
    """Keep the rubric graded with (path and late policy) and, when given, replace the extensions or the times.

    All of them the rubric's assignment's: another assignment's in the same gradebook stay as they are.
    """
    policy = rubric.late
    stored = dict(asdict(policy), due=policy.due.isoformat() if policy.due else None)
    assignment = rubric.assignment
    with db:
        db.execute("INSERT OR REPLACE INTO lateness VALUES (?, 'rubric', '', ?)",
                   (assignment, str(Path(rubric.path).resolve())))
        db.execute("INSERT OR REPLACE INTO lateness VALUES (?, 'policy', '', ?)", (assignment, json.dumps(stored)))
        for kind, given in (("extension", extensions), ("time", times)):
            if given is not None:
                db.execute("DELETE FROM lateness WHERE assignment = ? AND kind = ?", (assignment, kind))
                db.executemany("INSERT INTO lateness VALUES (?, ?, ?, ?)",
                               [(assignment, kind, s, t.isoformat()) for s, t in given.items()])


@dataclass
class Inputs:
    policy: LatePolicy
    extensions: Dict[str, datetime]
    times: Dict[str, datetime]


def load(db, assignment: str) -> Inputs:
    """The policy (of the rubric file as it is now, else as recorded), extensions and times of one assignment."""
    rows = db.execute("SELECT kind, student, value FROM lateness WHERE assignment = ?", (assignment,)).fetchall()
    single = {k: v for k, s, v in rows if not s}
    policy = _current_policy(single.get("rubric"), assignment) or _stored_policy(single.get("policy"))
    return Inputs(policy, {s: parse_time(v) for k, s, v in rows if k == "extension"},
                  {s: parse_time(v) for k, s, v in rows if k == "time"})


def _current_policy(path: Optional[str], assignment: str) -> Optional[LatePolicy]:
    if not path or not Path(path).is_file():
        return None
    from .rubric import load_rubric
    try:
        rubric = load_rubric(Path(path))
    except GraderError:
        return None      # a rubric being edited: the policy recorded when it last loaded
    # The file now grades another assignment: its policy is not this one's.
    return rubric.late if rubric.assignment == assignment else None


def _stored_policy(text: Optional[str]) -> LatePolicy:
    if not text:
        return NO_POLICY
    data = json.loads(text)
    return LatePolicy(**dict(data, due=parse_time(data["due"]) if data.get("due") else None))


def show(result: Dict[str, Any], student: str, inputs: Inputs) -> Dict[str, Any]:
    """``result`` (a stored result tree, changed in place and returned) with today's late policy applied.

    A result graded before submission facts were recorded keeps the lateness applied then.
    """
    facts = result.get("submitted")
    if facts is None:
        return result
    given = inputs.times.get(student)
    at = given or when(facts.get("at"))
    source = "the submission times the TA gave" if given else facts.get("source")
    due = inputs.extensions.get(student)
    late = assess(inputs.policy, at, source, due, None if given else facts.get("marked_late"), due is not None)
    result.pop("lateness", None)
    if late:
        result["lateness"] = dict(late, raw_score=result["score"])
        result["score"] = _penalized(result["score"], late)
    return result
