"""Lateness: when a submission came in, against its due date, and what the rubric's late policy takes.

The rubric says it (``late: {due, grace_hours, percent_per_day, cap_percent}``);
``--extensions FILE`` (CSV ``student,due``) moves one student's due date. The time a
submission came in is, by preference: Gradescope's submission metadata
(``created_at``, and its assignment's ``due_date`` when the rubric gives none), an
LMS's LATE marker (no time: one day's penalty, said so), or the latest time any of
its files was written. The penalty takes ``percent_per_day`` of the total for each
started day after the grace period, at most ``cap_percent``; question and part
scores stay what the checks earned, and the feedback says why the total is lower.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from .errors import GraderError


@dataclass(frozen=True)
class LatePolicy:
    due: Optional[datetime] = None
    grace_hours: float = 0.0
    percent_per_day: float = 0.0
    cap_percent: float = 100.0

    def describe(self) -> str:
        return "%g%% a day after %g h of grace, at most %g%%" % (self.percent_per_day, self.grace_hours,
                                                                  self.cap_percent)


NO_POLICY = LatePolicy()


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC. ValueError if it is not one."""
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def read_extensions(path: Path) -> Dict[str, datetime]:
    """``student,due`` rows (a header row is allowed); GraderError naming the line of a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GraderError("cannot read the extensions file %s: %s" % (path, exc.strerror or exc)) from None
    out: Dict[str, datetime] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or row[0].strip().lower() in ("student", "id", ""):
            continue
        if len(row) < 2:
            raise GraderError("%s:%d: expected student,due" % (path, number))
        try:
            out[row[0].strip()] = parse_time(row[1])
        except ValueError:
            raise GraderError("%s:%d: %r is not a date and time (e.g. 2026-12-03T23:59:00Z)" % (
                path, number, row[1])) from None
    return out


def from_timestamp(stamp: Optional[float]) -> Optional[datetime]:
    return datetime.fromtimestamp(stamp, timezone.utc) if stamp is not None else None


def gradescope_times(metadata: Path) -> Dict[str, Optional[datetime]]:
    """``submitted`` and ``due`` from Gradescope's submission_metadata.json (either may be None)."""
    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GraderError("cannot read Gradescope's metadata %s: %s" % (metadata, exc)) from None
    def when(value):
        try:
            return parse_time(value) if value else None
        except ValueError:
            return None
    return {"submitted": when(data.get("created_at")), "due": when((data.get("assignment") or {}).get("due_date"))}


def assess(policy: LatePolicy, submitted: Optional[datetime], source: str, due: Optional[datetime] = None,
           marked_late: bool = False) -> Dict[str, Any]:
    """The lateness record of one submission ({} when on time or when there is no due date and no marker)."""
    due = due or policy.due
    if marked_late and submitted is None:
        penalty = min(policy.cap_percent, policy.percent_per_day) if policy.percent_per_day else 0.0
        return {"late": True, "source": source, "hours": None, "penalty_percent": penalty,
                "why": "late by an unknown time (%s): one day's penalty" % source}
    if due is None or submitted is None or submitted <= due:
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
    """Record lateness on a result and take its penalty from the total (the raw total is kept)."""
    if not record:
        return
    result.lateness = dict(record, raw_score=result.score)
    penalty = float(record.get("penalty_percent") or 0.0)
    if penalty:
        result.score = round(result.score * (1.0 - penalty / 100.0), 4)
