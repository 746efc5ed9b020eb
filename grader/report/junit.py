"""JUnit XML: one testsuite per part, one testcase per check (CI systems read this)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .. import NAME
from ..scoring import SubmissionResult
from .common import check_text, clean, feedback_lines, pts

# What XML 1.0 forbids (its Char production) that clean() lets through: the noncharacters U+FFFE and
# U+FFFF (clean() already removed the controls and lone surrogates, which it also forbids).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text) -> str:
    """Text that ElementTree can write as well-formed XML; ElementTree then escapes &, <, > and quotes.

    No CDATA is used, so ']]>' is just text (its '>' is written '&gt;').
    """
    return _NOT_XML.sub("\ufffd", clean(text))


def render(result: SubmissionResult) -> str:
    """A JUnit XML document; a check that lost points is a <failure> with its message."""
    suites = ET.Element("testsuites", name=NAME, tests=str(sum(len(p.checks) for p in result.parts())),
                        failures=str(sum(1 for p in result.parts() for c in p.checks if not c.passed)))
    for question in result.questions:
        for part in question.parts:
            suite = ET.SubElement(suites, "testsuite", name=_x("%s.%s" % (question.id, part.id)),
                                  tests=str(len(part.checks)),
                                  failures=str(sum(1 for c in part.checks if not c.passed)))
            props = ET.SubElement(suite, "properties")
            for key, value in (("score", pts(part.score, part.max_score)), ("status", part.status)):
                ET.SubElement(props, "property", name=key, value=_x(value))
            for check in part.checks:
                case = ET.SubElement(suite, "testcase", classname=_x("%s.%s" % (question.id, part.id)),
                                     name=_x("%s (%s)" % (check.id, pts(check.score, check.max_score))))
                if check.details.get("after_submission"):    # the kit's hidden checks: not run here
                    ET.SubElement(case, "skipped", message="graded after submission")
                elif not check.passed:
                    first = (_x(check.message).splitlines() or [""])[0]   # an empty message has no line
                    failure = ET.SubElement(case, "failure", message=first[:500], type=_x(part.status))
                    failure.text = _x(check_text(part, check))
            extra = feedback_lines(part)
            if extra:
                ET.SubElement(suite, "system-out").text = _x("\n".join(extra))
    ET.indent(suites) if hasattr(ET, "indent") else None
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
