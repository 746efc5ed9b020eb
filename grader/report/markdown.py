"""Markdown feedback: a summary table and, per part that lost points, why (also for $GITHUB_STEP_SUMMARY)."""
from __future__ import annotations

import re

from .. import NAME
from ..scoring import SubmissionResult
from .common import clean, decided, decision_cell, feedback_lines, pts, verdict_label

# Characters that make Markdown (CommonMark, GitHub's tables) out of text: code spans, emphasis, links
# and images, raw HTML, entities, table cells, strikethrough. Backslash-escaped, they show as typed.
# '_' only at a word's edge: inside a word (relu_grad) it is never emphasis, and stays readable.
_MARKUP = re.compile(r"[\\`*\[\]<>|&~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def inline(text) -> str:
    """Student text as literal Markdown on one line: cleaned, newlines made spaces, inline markup escaped.

    Line-start markup (headings, lists, quotes, fences) needs no escaping: in this report such text
    never starts a line (it follows '# ', '| ' or '- ').
    """
    return _MARKUP.sub(lambda m: "\\" + m.group(0), " ".join(clean(text).split("\n")))


def _fenced(text: str) -> list:
    """Lines of a code block holding ``text`` verbatim: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def render(result: SubmissionResult) -> str:
    """The feedback page; every student-controlled string goes through :func:`inline` or :func:`_fenced`."""
    lines = ["# %s: %s" % (NAME, inline(result.submission)), "",
             "**Score: %s**" % pts(result.score, result.max_score), ""]
    late = getattr(result, "lateness", None) or {}
    if late.get("late"):
        line = "Submitted late: %s." % inline(late.get("why") or late.get("source", ""))
        if late.get("penalty_percent"):
            line += " The late policy takes %g%% of the total: %s before it." % (
                late["penalty_percent"], pts(late.get("raw_score", result.score), result.max_score))
        lines += [line, ""]
    for note in getattr(result, "notes", []) or []:
        lines.append("- note: " + inline(note))
    if getattr(result, "notes", None):
        lines.append("")
    lines += ["| Question | Part | Check | Points | Reason |", "|---|---|---|---:|---|"]
    for question in result.questions:
        for part in question.parts:
            if decided(part):   # the TA's points are the ones that count; the grader's checks stay, as the grader's
                lines.append("| %s | %s | **decided by a TA** | **%s** | %s |" % (
                    inline(question.id), inline(part.id), pts(part.score, part.max_score), inline(decision_cell(part))))
            for check in part.checks:
                mark = "" if check.passed else "❌ "
                points = pts(check.score, check.max_score)
                lines.append("| %s | %s | %s%s | %s | %s |" % (
                    inline(question.id), inline(part.id), mark, inline(check.id),
                    "(grader: %s)" % points if decided(part) else points, inline(check.message)))
    for question in result.questions:
        for part in question.parts:
            extra = feedback_lines(part)
            if part.score < part.max_score or extra:
                lines += ["", "## %s %s: %s" % (inline(question.id), inline(part.title),
                                                pts(part.score, part.max_score))]
                if part.status != "graded":
                    lines.append("Status: **%s**" % inline(part.status))
                elif getattr(part, "verdict", None):
                    lines.append("Verdict: **%s**" % inline(verdict_label(part)))
                for item in extra:
                    head, _, rest = item.partition("\n")
                    lines.append("- " + inline(head))
                    if rest:
                        lines += [""] + _fenced(rest)
    return "\n".join(lines) + "\n"


def render_ungraded(student: str, error) -> str:
    """The feedback page of a submission that could not be graded (or whose feedback could not be rendered)."""
    return "# %s\n\nNot graded: %s\n" % (inline(student), inline(error or "no reason recorded"))
