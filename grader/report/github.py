"""GitHub Actions workflow commands: an ::error per lost check, pointing at the student's file."""
from __future__ import annotations

import re

from .. import NAME
from ..scoring import SubmissionResult
from .common import clean, pts

_WHERE = re.compile(r"\(([\w.-]+\.py) line ([0-9]+)\)")  # ASCII digits: line= takes a number


def _escape(text) -> str:
    """Workflow-command data: cleaned, then %, CR and LF escaped, so the command stays on its one line.

    A student's '%0A::error::fake' becomes '%250A::error::fake': shown as typed, never a new command.
    """
    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text) -> str:
    """A property value (file=, title=): data escaping plus ':' and ',', which would end the value."""
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render(result: SubmissionResult, folder: str = "") -> str:
    """Annotations; a message naming 'file.py line N' points there, else at the part's file.

    One command per line, every student-controlled string escaped by :func:`_escape` or :func:`_prop`.
    """
    prefix = folder.rstrip("/") + "/" if folder else ""
    out = []
    for question in result.questions:
        for part in question.parts:
            default_file = (part.function or "").rsplit(" in ", 1)[-1] if part.function else ""
            for check in part.checks:
                if check.passed:
                    continue
                found = _WHERE.search(clean(check.message))
                file, line = (found.group(1), found.group(2)) if found else (default_file, "")
                props = ["title=" + _prop("%s %s: %s" % (part.id, check.id, pts(check.score, check.max_score)))]
                if file:
                    props.insert(0, "file=" + _prop(prefix + file))
                if line:
                    props.insert(1, "line=" + line)
                message = clean(check.message) + ("\nhint: " + clean(check.hint) if check.hint else "")
                out.append("::error %s::%s" % (",".join(props), _escape(message)))
    out.append("::notice title=" + NAME + " score::%s" % _escape(
        "%s scored %s" % (clean(result.submission), pts(result.score, result.max_score))))
    return "\n".join(out) + "\n"
