"""What every renderer shows the same way: points, a check's verdict, a part's feedback."""
from __future__ import annotations

from typing import List

from ..scoring import CheckOutcome, PartResult, SubmissionResult

OUTPUT_SHOWN = 2000   # characters of the student's own printed output shown in feedback


def pts(score: float, max_score: float) -> str:
    return "%g/%g" % (score, max_score)


def check_name(part: PartResult, check: CheckOutcome) -> str:
    """A stable, readable name for one check: 'softmax / stable_large_inputs'."""
    return "%s / %s" % (part.id, check.id)


def feedback_lines(part: PartResult) -> List[str]:
    """The part's explanation beyond its checks: loading notes, hints, the student's output."""
    lines = ["note: " + n for n in part.notes]
    lines += ["hint: " + h for h in part.hints]
    output = part.output.strip()
    if output:
        shown = output[:OUTPUT_SHOWN] + ("\n[...]" if len(output) > OUTPUT_SHOWN else "")
        lines.append("your code printed while loading:\n" + shown)
    return lines


def part_summary(part: PartResult) -> str:
    """One line: 'softmax: 8/10 (graded)'."""
    return "%s: %s%s" % (part.title, pts(part.score, part.max_score),
                        "" if part.status == "graded" else " (%s)" % part.status)


def check_text(part: PartResult, check: CheckOutcome) -> str:
    """A check's message, plus the part's hints when it lost points."""
    text = check.message
    if not check.passed and check.hint:
        text += "\nhint: " + check.hint
    return text


def iter_checks(result: SubmissionResult):
    """(question, part, check) in rubric order."""
    for question in result.questions:
        for part in question.parts:
            for check in part.checks:
                yield question, part, check
