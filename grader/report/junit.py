"""JUnit XML: one testsuite per part, one testcase per check (CI systems read this)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..scoring import SubmissionResult
from .common import check_text, feedback_lines, pts


def render(result: SubmissionResult) -> str:
    """A JUnit XML document; a check that lost points is a <failure> with its message."""
    suites = ET.Element("testsuites", name="a1grader", tests=str(sum(len(p.checks) for p in result.parts())),
                        failures=str(sum(1 for p in result.parts() for c in p.checks if not c.passed)))
    for question in result.questions:
        for part in question.parts:
            suite = ET.SubElement(suites, "testsuite", name="%s.%s" % (question.id, part.id),
                                  tests=str(len(part.checks)),
                                  failures=str(sum(1 for c in part.checks if not c.passed)))
            props = ET.SubElement(suite, "properties")
            for key, value in (("score", pts(part.score, part.max_score)), ("status", part.status)):
                ET.SubElement(props, "property", name=key, value=value)
            for check in part.checks:
                case = ET.SubElement(suite, "testcase", classname="%s.%s" % (question.id, part.id),
                                     name="%s (%s)" % (check.id, pts(check.score, check.max_score)))
                if not check.passed:
                    failure = ET.SubElement(case, "failure", message=check.message.splitlines()[0][:500],
                                            type=part.status)
                    failure.text = check_text(part, check)
            extra = feedback_lines(part)
            if extra:
                ET.SubElement(suite, "system-out").text = "\n".join(extra)
    ET.indent(suites) if hasattr(ET, "indent") else None
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
