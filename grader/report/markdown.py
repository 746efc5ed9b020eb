"""Markdown feedback: a summary table and, per part that lost points, why (also for $GITHUB_STEP_SUMMARY)."""
from __future__ import annotations

from ..scoring import SubmissionResult
from .common import feedback_lines, pts


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: SubmissionResult) -> str:
    lines = ["# a1grader: %s" % result.submission, "",
             "**Score: %s**" % pts(result.score, result.max_score), "",
             "| Question | Part | Check | Points | Reason |", "|---|---|---|---:|---|"]
    for question in result.questions:
        for part in question.parts:
            for check in part.checks:
                mark = "" if check.passed else "❌ "
                lines.append("| %s | %s | %s%s | %s | %s |" % (
                    question.id, part.id, mark, check.id, pts(check.score, check.max_score), _cell(check.message)))
    for question in result.questions:
        for part in question.parts:
            extra = feedback_lines(part)
            if part.score < part.max_score or extra:
                lines += ["", "## %s %s: %s" % (question.id, part.title, pts(part.score, part.max_score))]
                if part.status != "graded":
                    lines.append("Status: **%s**" % part.status)
                for item in extra:
                    head, _, rest = item.partition("\n")
                    lines.append("- " + head)
                    if rest:
                        lines += ["", "```", rest, "```"]
    return "\n".join(lines) + "\n"
