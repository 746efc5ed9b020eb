"""The class picture from a gradebook: distribution, means, check pass rates, common hints.

``class_summary`` computes it once; the terminal (end of ``grader batch``) and
the HTML report render it.
"""
from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from ..gradebook import Row, iter_results
from .common import clean

VERDICTS = ("correct", "partial", "incorrect", "needs_review", "missing")   # partial: a TA gave some points
# What needs a look, most urgent first: incidents (a loop, a crash, the grader's own failure, an upload that
# could not be read, code that did not load) each on their own line; then the common kinds (a missing part).
KINDS = {"timeout": "timed out (an infinite loop, or a very slow call)", "crashed": "crashed",
         "grader_error": "the grader failed", "unreadable": "could not be read", "error": "did not load",
         "missing": "missing"}
INCIDENTS = ("timeout", "crashed", "grader_error", "unreadable", "error")
COMMON = 3          # a reason this many students share is one line, with a count


@dataclass
class ClassSummary:
    count: int = 0
    graded: int = 0
    max_score: float = 0.0
    scores: Dict[str, float] = field(default_factory=dict)          # student -> score
    part_means: Dict[str, Tuple[float, float]] = field(default_factory=dict)     # part -> (mean, max)
    question_means: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    check_pass: Dict[str, Tuple[int, int]] = field(default_factory=dict)         # "part/check" -> (passed, total)
    hints: List[Tuple[str, int]] = field(default_factory=list)                   # most frequent first
    attention: List[Tuple[str, str]] = field(default_factory=list)               # (student, why)
    verdicts: Dict[str, Counter] = field(default_factory=dict)                   # written part -> verdict counts
    review: List[Tuple[str, str, str, str]] = field(default_factory=list)        # (student, part, reason, answer)
    meta: Dict[str, List[str]] = field(default_factory=dict)   # rubric, its hash, grader version, isolation, last graded
    adjusted: int = 0                                                            # parts a TA decided (applied)
    stale: List[Tuple[str, str, str]] = field(default_factory=list)              # (student, part, by): answer changed since
    looks: List[Tuple[str, str, str, str]] = field(default_factory=list)         # (kind, student, part, why)

    def look_lines(self, width: int = 0) -> List[str]:
        """'Needs a look', grouped by reason: incidents first, one line per student; a reason shared by
        ``COMMON`` students or more is one line with their count. ``width``: lines shortened to about that
        many characters, only ever between words (0: whole)."""
        groups: Dict[Tuple[str, str], List[Tuple[str, str]]] = {}
        for kind, student, part, why in self.looks:
            groups.setdefault((kind, _reason(why)), []).append((student, part))
        order = sorted(groups.items(), key=lambda g: (g[0][0] not in INCIDENTS, -len(g[1]) * (g[0][0] not in
                                                      INCIDENTS), list(KINDS).index(g[0][0]) if g[0][0] in KINDS else 9))
        lines = []
        for (kind, reason), members in order:
            label = KINDS.get(kind, kind)
            if kind in INCIDENTS or len(members) < COMMON:
                lines += ["%s: %s%s: %s" % (label, clean(s, 200), " (%s)" % clean(p, 80) if p else "", reason)
                          for s, p in members]
                continue
            students = sorted({s for s, _ in members})
            parts = sorted({p for _, p in members if p})
            lines.append("%s: %d students%s: %s: %s" % (label, len(students), " (%s)" % ", ".join(parts) if parts
                                                         else "", reason, ", ".join(clean(s, 200) for s in students)))
        return [textwrap.shorten(line, width, placeholder=" ...") if width else line for line in lines]

    @property
    def mean(self) -> float:
        return sum(self.scores.values()) / len(self.scores) if self.scores else 0.0

    def histogram(self, bins: int = 10) -> List[Tuple[float, float, int]]:
        """(low, high, count) over [0, max_score]."""
        top = self.max_score or 1.0
        width = top / bins
        counts = [0] * bins
        for score in self.scores.values():
            counts[min(bins - 1, int(score / width))] += 1
        return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def class_summary(rows: List[Row]) -> ClassSummary:
    summary = ClassSummary(count=len(rows))
    parts: Dict[str, List[float]] = {}
    part_max: Dict[str, float] = {}
    questions: Dict[str, List[float]] = {}
    q_max: Dict[str, float] = {}
    hints: Counter = Counter()
    reasons: Dict[str, List[str]] = {}
    for row in rows:
        try:
            result = row.result_dict()
            readable = result is None or (isinstance(result.get("questions"), list)
                                          and all(isinstance(q.get("parts"), list) for q in result["questions"]))
        except (ValueError, TypeError, AttributeError):
            readable = False
        if not readable:
            # A damaged row must not take the class report down with it.
            summary.attention.append((row.student, "its stored result cannot be read: grade it again"))
            summary.looks.append(("grader_error", row.student, "", summary.attention[-1][1]))
            continue
        if result is None:
            summary.attention.append((row.student, row.error or "could not be graded"))
            summary.looks.append(("grader_error" if row.status == "grader_error" else "unreadable", row.student, "",
                                  summary.attention[-1][1]))
            continue
        summary.graded += 1
        for key, value in (("rubric", (result.get("rubric") or {}).get("path")),
                           ("rubric sha256", (result.get("rubric") or {}).get("sha256")),
                           ("grader version", result.get("grader_version")), ("isolation", result.get("sandbox")),
                           ("last graded", row.graded_at)):
            if value and value not in summary.meta.setdefault(key, []):
                summary.meta[key].append(str(value))
        summary.max_score = max(summary.max_score, float(result["max_score"]))
        summary.scores[row.student] = float(result["score"])
        for question in result["questions"]:
            questions.setdefault(question["id"], []).append(question["score"])
            q_max[question["id"]] = question["max_score"]
            for part in question["parts"]:
                parts.setdefault(part["id"], []).append(part["score"])
                part_max[part["id"]] = part["max_score"]
                override = part.get("override") or {}
                if override.get("stale"):
                    summary.stale.append((row.student, part["id"], str(override.get("by", ""))))
                decided = bool(override) and not override.get("stale")
                summary.adjusted += decided
                if part["status"] != "graded" and not decided:
                    why = part["checks"][0]["message"] if part["checks"] else ""
                    reasons.setdefault(row.student, []).append("%s: %s (%s)" % (part["id"], part["status"], why))
                    summary.looks.append((part["status"], row.student, part["id"],
                                          why.replace(str(part.get("title") or part["id"]), "", 1)))
                if part.get("verdict"):
                    summary.verdicts.setdefault(part["id"], Counter())[part["verdict"]] += 1
                    if part["verdict"] == "needs_review" and not decided:
                        written = part.get("written") or {}
                        summary.review.append((row.student, part["id"], str(written.get("reason", "")),
                                               str(written.get("result", ""))))
                for check in part["checks"]:
                    key = "%s/%s" % (part["id"], check["id"])
                    passed, total = summary.check_pass.get(key, (0, 0))
                    summary.check_pass[key] = (passed + bool(check["passed"]), total + 1)
                for mistake in part.get("mistakes", []) or []:
                    hints["%s: %s" % (part["id"], mistake.get("hint", mistake.get("id")))] += 1
                if not part.get("mistakes"):
                    for hint in part.get("hints", []):
                        hints["%s: %s" % (part["id"], hint)] += 1
    # One row per student: every part that went wrong, in one line.
    summary.attention += [(student, "; ".join(why)) for student, why in reasons.items()]
    if "last graded" in summary.meta:
        summary.meta["last graded"] = [max(summary.meta["last graded"])]
    summary.part_means = {p: (sum(v) / len(v), part_max[p]) for p, v in parts.items()}
    summary.question_means = {q: (sum(v) / len(v), q_max[q]) for q, v in questions.items()}
    summary.hints = hints.most_common()
    return summary


def render_terminal(db_path, console=None, assignment=None) -> None:
    """A compact table and a text histogram, for the end of ``grader batch`` (on ``console``, default stdout).

    Student ids, reasons and part ids reach rich as cleaned ``Text``, never as markup: '[/]' is shown, not parsed.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    summary = class_summary(list(iter_results(Path(db_path), assignment=assignment)))
    console = console or Console()
    table = Table(title="class: %d submissions, mean %.2f/%g" % (summary.count, summary.mean, summary.max_score))
    table.add_column("part")
    table.add_column("mean", justify="right")
    for part, (mean, top) in summary.part_means.items():
        table.add_row(Text(clean(part)), "%.2f/%g" % (mean, top))
    console.print(table)
    peak = max((c for _, _, c in summary.histogram()), default=0) or 1
    for low, high, count in summary.histogram():
        console.print("%5.1f-%5.1f | %s %d" % (low, high, "#" * round(30 * count / peak), count))
    for part, counts in summary.verdicts.items():
        console.print(Text("%s: %s" % (clean(part), ", ".join("%d %s" % (counts[v], v.replace("_", " "))
                                                               for v in VERDICTS if counts[v]))))
    if summary.review:
        console.print(Text("%d written answers need review (grader report lists them)" % len(summary.review)))
    lines = summary.look_lines(width=300)   # a reason may be a whole traceback: shortened between words
    for line in lines[:10]:
        console.print(Text("needs a look: " + line))
    if len(lines) > 10:
        console.print(Text("... and %d more lines (grader report lists them all)" % (len(lines) - 10)))


def _reason(why: str) -> str:
    """A reason as students share it: on one line, without the file names in it ('(ana.md)', '(.md, .tex)')."""
    text = " ".join(clean(why, 2000).split())
    return re.sub(r" ?\([^()]*\.\w{1,5}\b[^()]*\)", "", text).strip(" :") or "no reason recorded"
