"""GitHub Actions workflow commands: an ::error per lost check, pointing at the student's file."""
from __future__ import annotations

import re

from ..scoring import SubmissionResult
from .common import pts

_WHERE = re.compile(r"\(([\w.-]+\.py) line (\d+)\)")


def _escape(text: str) -> str:
    """Workflow-command data escaping: %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render(result: SubmissionResult, folder: str = "") -> str:
    """Annotations; a message naming 'file.py line N' points there, else at the part's file."""
    prefix = folder.rstrip("/") + "/" if folder else ""
    out = []
    for question in result.questions:
        for part in question.parts:
            default_file = (part.function or "").rsplit(" in ", 1)[-1] if part.function else ""
            for check in part.checks:
                if check.passed:
                    continue
                found = _WHERE.search(check.message)
                file, line = (found.group(1), found.group(2)) if found else (default_file, "")
                props = ["title=" + _prop("%s %s: %s" % (part.id, check.id, pts(check.score, check.max_score)))]
                if file:
                    props.insert(0, "file=" + _prop(prefix + file))
                if line:
                    props.insert(1, "line=" + line)
                message = check.message + ("\nhint: " + check.hint if check.hint else "")
                out.append("::error %s::%s" % (",".join(props), _escape(message)))
    out.append("::notice title=a1grader score::%s" % _escape(
        "%s scored %s" % (result.submission, pts(result.score, result.max_score))))
    return "\n".join(out) + "\n"
