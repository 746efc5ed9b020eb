"""What every renderer shows the same way: points, a check's verdict, a part's feedback.

Student-controlled text (check messages, hints, notes, what the student's code
printed, the function and file names, the student id) reaches every report.
:func:`clean` is the one gate it goes through first; each format then adds the
escaping only it needs (XML, HTML, Markdown, rich markup, CSV formulas).
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from typing import Any, List

from ..scoring import CheckOutcome, PartResult, SubmissionResult

OUTPUT_SHOWN = 2000   # characters of the student's own printed output shown in feedback
MAX_CHARS = 20_000    # any one student-controlled string (a 10 MB message is not feedback)

_SURROGATE = re.compile("[\ud800-\udfff]")   # in a str, always lone halves: UTF-8 cannot encode them
# Terminal escape sequences (CSI like "\x1b[31m", OSC like "\x1b]0;title\x07", two-byte ESC x) go
# whole: removing only the ESC byte would leave "[31m" behind.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # C0 and C1 controls except tab and newline
_CUT_NOTE = "\n[... %d more characters not shown]"


def encodable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: always encodable as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def clean(text: Any, limit: int = MAX_CHARS) -> str:
    """Student-controlled text made safe to put in any report (before the format's own escaping).

    Contract: the result is a str that encodes as UTF-8; it holds no control character but
    newline and tab (CR and CRLF become newline, ANSI escape sequences are removed, other
    controls including NUL become U+FFFD); it is at most ``limit`` characters, a longer text
    being cut with a note saying how many characters were left out. ``None`` becomes "".
    Idempotent: ``clean(clean(x)) == clean(x)``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if limit and len(text) > limit:
        # Cut before the regexes (cheap on 10 MB), leaving room for the note so a second pass keeps it.
        keep = max(limit - 60, 0)
        text = text[:keep] + _CUT_NOTE % (len(text) - keep)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    return encodable(_CONTROL.sub("\ufffd", text))


def clean_tree(value: Any) -> Any:
    """A JSON-able tree (dicts, lists, scalars) with every string, keys included, passed through :func:`clean`."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_tree(v) for v in value]
    return value


def _default_mode() -> int:
    """The mode a plain open() would give a new file: 0666 minus the umask (read by setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, all or nothing; raises OSError.

    The bytes go to a temporary file in the same folder (created if missing), which then
    replaces ``path``: a crash or a full disk leaves the old file or none, never an empty
    or half-written one. Lone surrogates become U+FFFD first, so no content can make the
    encoding fail. A symlink is followed (its target is replaced); a path that exists but
    is not a regular file (/dev/stdout, a pipe) cannot be replaced and is written in place.
    An existing file keeps its permissions.
    """
    data = encodable(text).encode("utf-8")
    target = os.path.realpath(path)
    if os.path.exists(target) and not os.path.isfile(target):
        with open(target, "wb") as stream:
            stream.write(data)
        return
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else _default_mode()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(target)[:40], suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())   # the data is on disk before the rename makes it the file
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def feedback_file(student) -> str:
    """The name of a student's feedback file: ``grader feedback`` writes it, the class report links to it.

    The cleaned id plus '.md'; a '/' (never in a folder or zip name) is replaced, so the file stays in its folder.
    """
    return clean(student).replace("/", "\ufffd") + ".md"


SHOWN_DECIMALS = 2   # every output rounds points here: a late penalty's 38.80416 is 38.8 in feedback, CSV and report


def shown(points: float) -> str:
    """Points as every output shows them: rounded to SHOWN_DECIMALS, no trailing zeros ('38.8', '40')."""
    return "%g" % round(float(points), SHOWN_DECIMALS)


def pts(score: float, max_score: float) -> str:
    return "%s/%s" % (shown(score), shown(max_score))


def check_name(part: PartResult, check: CheckOutcome) -> str:
    """A stable, readable name for one check: 'relu / large_inputs'."""
    return "%s / %s" % (clean(part.id), clean(check.id))


def verdict_label(part: PartResult) -> str:
    """A written part's verdict in words ("" for code parts)."""
    verdict = getattr(part, "verdict", None)
    return {"needs_review": "needs review: a TA will read it", "partial": "partial credit",
            "read": "read: graded after you submit"}.get(verdict, verdict or "")


def written_lines(part: PartResult) -> List[str]:
    """What the grader read as a written part's answer, and why a person must look (cleaned; never the expected result)."""
    written = getattr(part, "written", None) or {}
    lines = []
    if written.get("result"):
        lines.append("your answer, as read: " + clean(written["result"]))
    if part.verdict == "needs_review" and written.get("reason"):
        lines.append("needs review: " + clean(written["reason"]))
    if written.get("unread"):
        lines.append("note: %d formula(s) of this part could not be read" % written["unread"])
    return lines


def override_lines(part: PartResult) -> List[str]:
    """What a TA decided about this part, for the student (cleaned)."""
    override = getattr(part, "override", None)
    if not override:
        return []
    from ..overrides import describe
    return [clean(describe(override, getattr(part, "grader_score", None), part.max_score))]


def decided(part: PartResult) -> bool:
    """A TA's current decision replaced the grader's score of this part (a stale one does not)."""
    override = getattr(part, "override", None)
    return bool(override) and not override.get("stale")


def decision_cell(part: PartResult) -> str:
    """The TA's decision as one table cell: 'decided by a TA (Ana, 2026-12-01): 3/6: right idea' (cleaned)."""
    text = override_lines(part)[0]
    return text[0].upper() + text[1:]


def feedback_lines(part: PartResult) -> List[str]:
    """The part's explanation beyond its checks: loading notes, hints, the student's output (all cleaned)."""
    lines = override_lines(part) + written_lines(part) + ["note: " + clean(n) for n in part.notes]
    lines += ["hint: " + clean(h) for h in part.hints]
    output = clean(part.output.strip(), OUTPUT_SHOWN)
    if output:
        lines.append("your code printed while loading:\n" + output)
    return lines


def part_summary(part: PartResult) -> str:
    """One line: 'relu: 8/10 (graded)'."""
    state = verdict_label(part) or ("" if part.status == "graded" else part.status)
    if getattr(part, "override", None) and not part.override.get("stale"):
        state = (state + "; " if state else "") + "adjusted by a TA"
    return "%s: %s%s" % (clean(part.title), pts(part.score, part.max_score), " (%s)" % state if state else "")


def check_text(part: PartResult, check: CheckOutcome) -> str:
    """A check's message, plus the part's hints when it lost points (cleaned)."""
    text = clean(check.message)
    if not check.passed and check.hint:
        text += "\nhint: " + clean(check.hint)
    return text


def iter_checks(result: SubmissionResult):
    """(question, part, check) in rubric order."""
    for question in result.questions:
        for part in question.parts:
            for check in part.checks:
                yield question, part, check
