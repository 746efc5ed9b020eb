"""The result tree: check verdicts turned into points, parts, questions, a submission.

Every output format renders from :class:`SubmissionResult` and the gradebook
stores it (``to_dict``). Points come from the rubric only; a check's score is
its points times the fraction its function returned.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

STATUSES = ("graded", "missing", "error", "timeout", "crashed")


def points(value: float) -> float:
    """Scores are kept to 4 decimals so that sums and JSON are reproducible."""
    return round(float(value) + 0.0, 4)


@dataclass
class CheckOutcome:
    id: str
    kind: str
    passed: bool
    score: float
    max_score: float
    message: str
    visibility: str = "visible"
    hint: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)


@dataclass
class PartResult:
    id: str
    title: str
    score: float
    max_score: float
    status: str
    function: Optional[str] = None          # e.g. "relu in layers.py"
    checks: List[CheckOutcome] = field(default_factory=list)
    hints: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)   # loading facts: partial imports, fallbacks
    output: str = ""                        # what the student's code printed while loading
    mistakes: List[Dict[str, str]] = field(default_factory=list)   # known mistakes: {"id", "hint"}
    verdict: Optional[str] = None           # written parts: correct | incorrect | needs_review | missing
    written: Dict[str, Any] = field(default_factory=dict)   # written parts: result, reason, text, files
    fingerprint: str = ""                   # of the answer graded (its file, or its part of the write-up)
    source: str = ""                        # code parts that lost points: the function's source, for a TA
    override: Dict[str, Any] = field(default_factory=dict)   # a TA's decision, when outputs apply one
    grader_score: Optional[float] = None    # the grader's own score, when a TA's decision replaced it


@dataclass
class QuestionResult:
    id: str
    title: str
    score: float
    max_score: float
    parts: List[PartResult] = field(default_factory=list)


@dataclass
class SubmissionResult:
    submission: str
    score: float
    max_score: float
    grader_version: str
    rubric: Dict[str, str]
    questions: List[QuestionResult] = field(default_factory=list)
    timing: Dict[str, float] = field(default_factory=dict)
    sandbox: str = ""          # the isolation mode the student's code ran under
    notes: List[str] = field(default_factory=list)   # about the submission as a whole (files not read, ...)
    lateness: Dict[str, Any] = field(default_factory=dict)   # the late policy's verdict, applied when shown
    submitted: Optional[Dict[str, Any]] = None   # {"at", "source", "marked_late"}: facts lateness.show reads

    def parts(self) -> List[PartResult]:
        return [p for q in self.questions for p in q.parts]

    def to_dict(self) -> Dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """JSON-able copy: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def score_check(spec, fraction: float, message: str, details: Dict[str, Any]) -> CheckOutcome:
    """A check's outcome: its rubric points times the fraction earned."""
    fraction = min(1.0, max(0.0, float(fraction)))
    return CheckOutcome(id=spec.id, kind=spec.kind, passed=fraction >= 1.0,
                        score=points(spec.points * fraction), max_score=points(spec.points),
                        message=message, visibility=spec.visibility,
                        hint=spec.hint if fraction < 1.0 and not details.get("not_judged") else None,
                        details=dict(details))


def unscored_checks(part_spec, message: str) -> List[CheckOutcome]:
    """Every check of a part that could not run, at zero, with the one reason."""
    return [CheckOutcome(id=c.id, kind=c.kind, passed=False, score=0.0, max_score=points(c.points),
                         message=message, visibility=c.visibility) for c in part_spec.checks]


def score_part(part_spec, status: str, checks: List[CheckOutcome], **extra: Any) -> PartResult:
    """A part's result; its hints are the rubric hints of the checks that lost points."""
    hints: List[str] = []
    for c in checks:
        if c.hint and c.hint not in hints:
            hints.append(c.hint)
    return PartResult(id=part_spec.id, title=part_spec.title, status=status,
                      score=points(sum(c.score for c in checks)),
                      max_score=points(sum(c.max_score for c in checks)),
                      checks=checks, hints=hints, **extra)


def score_submission(rubric, submission: str, parts: Dict[str, PartResult], version: str,
                     timing: Dict[str, float]) -> SubmissionResult:
    """Assemble questions and totals in rubric order."""
    questions = []
    for q in rubric.questions:
        results = [parts[p.id] for p in q.parts]
        questions.append(QuestionResult(id=q.id, title=q.title, parts=results,
                                        score=points(sum(r.score for r in results)),
                                        max_score=points(sum(r.max_score for r in results))))
    return SubmissionResult(
        submission=submission, grader_version=version,
        rubric={"path": str(rubric.path), "sha256": rubric.sha256},
        score=points(sum(q.score for q in questions)),
        max_score=points(sum(q.max_score for q in questions)),
        questions=questions, timing=timing)


def _from_dict(cls, data: Dict[str, Any]):
    """A dataclass from its ``asdict`` form; unknown keys are ignored, nested trees rebuilt."""
    import dataclasses
    nested = {"questions": QuestionResult, "parts": PartResult, "checks": CheckOutcome}
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in nested and isinstance(value, list):
            value = [_from_dict(nested[f.name], v) for v in value]
        kwargs[f.name] = value
    return cls(**kwargs)


def result_from_dict(data: Dict[str, Any]) -> SubmissionResult:
    """The result tree back from its JSON form (the gradebook stores that)."""
    return _from_dict(SubmissionResult, data)
