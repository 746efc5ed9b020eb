"""Every report stays valid whatever a student's code prints or raises.

One hostile string goes everywhere student text can go (check messages and hints,
part hints, notes, printed output, function name, submission and student id), in
a short form and a 10 MB form; each output is then read back with a real parser.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from markdown_it import MarkdownIt   # rich depends on it: always installed with the grader
from rich.console import Console

from conftest import ROOT
from grader.gradebook import Gradebook, make_row
from grader.report import FORMATS, render
from grader.report.common import MAX_CHARS, clean, feedback_file
from grader.scoring import CheckOutcome, PartResult, QuestionResult, SubmissionResult

HOSTILE = ("=cmd|' /C calc'!A0 \x01 \x00 ]]> \x1b[31m red \ud800 [/] [bold] <script>alert(1)</script> &amp; "
           "| --- | %0A::error::fake\n# Heading\n```\n![img](http://example.com/i.png) `code` \ufffe\rend\\")
BIG = HOSTILE * (10_000_000 // len(HOSTILE) + 1)          # just over 10 MB
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_result(text: str) -> SubmissionResult:
    """A result tree with ``text`` in every student-controlled field, failing and passing checks, a crashed part."""
    lost = CheckOutcome(id="c1", kind="value", passed=False, score=0.0, max_score=2.0, message=text, hint=text,
                        details={"got": text, text[:20]: 1})
    empty = CheckOutcome(id="c2", kind="value", passed=False, score=0.0, max_score=1.0, message="")
    passed = CheckOutcome(id="c3", kind="value", passed=True, score=1.0, max_score=1.0, message=text)
    graded = PartResult(id="p1", title="Part one", score=1.0, max_score=4.0, status="graded",
                        function="softmax in " + text, checks=[lost, empty, passed], hints=[text], notes=[text],
                        output=text, mistakes=[{"id": "m1", "hint": text}])
    crash = CheckOutcome(id="c4", kind="value", passed=False, score=0.0, max_score=3.0, message=text)
    crashed = PartResult(id="p2", title="Part two", score=0.0, max_score=3.0, status="crashed", function=text,
                         checks=[crash], notes=[text], output=text)
    question = QuestionResult(id="q1", title="Question one", score=1.0, max_score=7.0, parts=[graded, crashed])
    return SubmissionResult(submission=text, score=1.0, max_score=7.0, grader_version="0-test",
                            rubric={"path": "a1.yaml", "sha256": "0"}, questions=[question], sandbox=text,
                            notes=[text])


FAILING = 3   # checks that lost points in hostile_result: c1, c2, c4


class Tags(HTMLParser):
    """Start tags in order, and the text inside each element kind, as a browser would read them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.open = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data):
        for tag in set(self.open) | {"*"}:
            self.text[tag] = self.text.get(tag, "") + data

    def count(self, tag):
        return sum(1 for t, _ in self.tags if t == tag)


def parse_html(text: str) -> Tags:
    parser = Tags()
    parser.feed(text)
    parser.close()
    return parser


def assert_clean(text: str):
    """What clean() promises of a whole output: encodable, no control but newline and tab, no ANSI escape."""
    text.encode("utf-8")
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in text)
    assert "[31m" not in text


# --- the helper ----------------------------------------------------------------------------------------------

def test_clean_keeps_text_and_removes_what_breaks_formats():
    cleaned = clean(HOSTILE)
    assert_clean(cleaned)
    assert "\ufffd" in cleaned and "red" in cleaned and "<script>alert(1)</script>" in cleaned
    assert cleaned.count("\n") == HOSTILE.count("\n") + 1   # the CR became a newline
    assert clean(cleaned) == cleaned


def test_clean_cuts_10_mb_and_says_so():
    cleaned = clean(BIG)
    assert len(cleaned) <= MAX_CHARS and clean(cleaned) == cleaned
    assert cleaned.endswith("more characters not shown]")
    assert "%d more characters" % (len(BIG) - (MAX_CHARS - 60)) in cleaned


# --- every --format ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["short", "10MB"])
def hostile(request):
    text = HOSTILE if request.param == "short" else BIG
    return text, hostile_result(text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_and_encodes(hostile, fmt):
    _, result = hostile
    out = render(result, fmt, folder="subs/x", width=5000)
    assert_clean(out)
    assert len(out) < 40 * MAX_CHARS   # the 10 MB message was cut, not copied


def test_json_parses_and_keeps_the_text(hostile):
    text, result = hostile
    data = json.loads(render(result, "json"))
    assert data["submission"] == clean(text)
    check = data["questions"][0]["parts"][0]["checks"][0]
    assert check["details"]["got"] == clean(text) and len(check["message"]) <= MAX_CHARS
    assert "<script>alert(1)</script>" in check["message"]


def test_gradescope_results_parse(hostile):
    _, result = hostile
    data = json.loads(render(result, "gradescope").encode("utf-8"))   # as Gradescope reads results.json
    assert isinstance(data["score"], float) and isinstance(data["output"], str)
    assert len(data["tests"]) == 4 and sum(t["status"] == "failed" for t in data["tests"]) == FAILING
    assert all(isinstance(t["output"], str) and isinstance(t["name"], str) for t in data["tests"])
    assert "<script>alert(1)</script>" in data["tests"][0]["output"]   # JSON carries text as data


def test_junit_is_well_formed_xml(hostile):
    _, result = hostile
    root = ET.fromstring(render(result, "junit").encode("utf-8"))
    failures = root.findall(".//failure")
    assert len(failures) == FAILING == int(root.get("failures"))
    assert len(root.findall(".//testcase")) == 4
    assert "]]>" in failures[0].text and "<script>alert(1)</script>" in failures[0].text   # read back as text
    assert failures[0].get("message").startswith("=cmd|' /C calc'!A0")
    assert failures[1].get("message") == ""   # an empty message is not an IndexError
    assert len(root.findall(".//system-out")) == 2


def test_github_commands_stay_one_per_line(hostile):
    _, result = hostile
    lines = render(result, "github", folder="subs/x").split("\n")
    assert lines.pop() == ""
    assert len(lines) == FAILING + 1
    assert all(line.startswith("::error ") for line in lines[:-1]) and lines[-1].startswith("::notice ")
    for line in lines:
        props, sep, data = line.split(" ", 1)[1].partition("::")
        assert sep
        assert_clean(line)
        pairs = [p.split("=", 1) for p in props.split(",")]
        assert {k for k, _ in pairs} <= {"file", "line", "title"} and all(":" not in v for _, v in pairs)
    assert "%250A::error::fake" in lines[0]                 # shown as typed, not a newline and a command
    assert "file=subs/x/" in lines[0]


def test_markdown_renders_without_faked_structure(hostile):
    text, result = hostile
    source = render(result, "markdown")
    page = parse_html(MarkdownIt("commonmark", {"html": True}).enable("table").render(source))
    assert page.count("script") == 0 and page.count("img") == 0 and page.count("a") == 0
    assert page.count("h1") == 1 and page.count("h2") == 2            # the title and the two parts only
    assert page.count("table") == 1 and page.count("tr") == 1 + 4      # header and one row per check
    assert page.count("td") == 5 * 4                                   # '|' in a message added no cell
    assert page.count("pre") == 5    # the rest of each multi-line note, hint, output (3 + 2): every fence held
    assert "<script>alert(1)</script>" in page.text["table"] and "| --- |" in page.text["table"]
    if text is HOSTILE:
        assert clean(HOSTILE.strip()) in page.text["pre"]                # verbatim inside its fence


def test_text_shows_markup_literally(hostile):
    text, result = hostile
    out = render(result, "text", width=5000)
    assert "Total: 1/7" in out
    if text is HOSTILE:
        assert "[/] [bold] <script>" in out


# --- exports, feedback and the class report from a gradebook -------------------------------------------------

STUDENTS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "<b>", "[/]"]


@functools.lru_cache(maxsize=None)
def rows_for(text: str):
    """Gradebook rows: hostile student ids graded with the hostile result, and one that could not be graded.

    The first student's result and the error carry ``text``; the others the short string (10 MB in every
    row only makes the test slow).
    """
    rows = [make_row(s, "h", "r", "v", hostile_result(text if i == 0 else HOSTILE).to_dict())
            for i, s in enumerate(STUDENTS)]
    rows.append(make_row("error" + text[:40], "h", "r", "v", None, error=text, max_score=7))
    return rows


@pytest.mark.parametrize("text", [HOSTILE, BIG], ids=["short", "10MB"])
def test_csv_export_has_no_formula_cells(text):
    from grader.report.export import to_csv
    table = list(csv.reader(io.StringIO(to_csv(rows_for(text)))))
    assert len(table) == 1 + len(STUDENTS) + 1
    for row in table:
        assert len(row) == len(table[0])
        for cell in row:
            if cell.startswith(FORMULA_START):
                float(cell)   # a number ('-2') may start with '-'; anything else would be a formula
    assert table[1][0] == "'" + STUDENTS[0] and table[1][1:3] == ["1", "7"]
    assert [r[0] for r in table[1:]][:4] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)"]
    assert len(table[-1][-1]) <= MAX_CHARS and table[-1][-1].startswith("'=cmd")


@pytest.mark.parametrize("text", [HOSTILE, BIG], ids=["short", "10MB"])
def test_json_export_parses(text):
    from grader.report.export import to_json
    data = json.loads(to_json(rows_for(text)))
    assert [d["student"] for d in data][:len(STUDENTS)] == [clean(s) for s in STUDENTS]
    assert data[-1]["error"] == clean(text) and data[0]["parts"] == {"p1": 1.0, "p2": 0.0}


@pytest.mark.parametrize("text", [HOSTILE, BIG], ids=["short", "10MB"])
def test_class_report_html_has_no_injected_elements(text):
    from grader.report.html import SORT_JS, render as render_html
    from grader.report.summary import class_summary
    summary = class_summary(rows_for(text))
    assert summary.attention and summary.hints   # the hostile text reaches the page's lists
    page = parse_html(render_html(summary, feedback_dir="feedback"))
    assert page.count("script") == 1 and page.text["script"] == SORT_JS   # only the page's own sorting code
    students = [a for t, a in page.tags if "data-student" in a]
    assert [a["data-student"] for a in students] == sorted(clean(s) for s in STUDENTS)
    links = {a["href"] for t, a in page.tags if t == "a"}
    assert "feedback/" + quote(feedback_file("<b>"), safe="") in links
    assert all(not h.split("/", 1)[1].count("/") for h in links)   # '[/]' links inside feedback/
    assert "<script>alert(1)</script>" in page.text["table"]


def hostile_gradebook(path, broken: bool = True):
    """A gradebook a real batch could hold: sqlite refuses lone surrogates in a column, not in the result JSON.

    ``broken``: also two rows whose result cannot be rendered (not JSON; not a result tree), first in order.
    """
    storable = HOSTILE.replace("\ud800", "")
    with Gradebook(path) as book:
        bad_json = make_row("+bad json", "h", "r", "v", {"score": 0, "max_score": 7})
        bad_json.result = "{not json"
        if broken:
            book.put(bad_json)
            book.put(make_row("-bad tree", "h", "r", "v", {"score": 0, "max_score": 7, "questions": 5}))
        for student in ("=cmd|' /C calc'!A0", "<b>", "[/]", "ok \x1b[31m"):
            book.put(make_row(student, "h", "r", "v", hostile_result(HOSTILE).to_dict()))
        book.put(make_row("zz error", "h", "r", "v", None, error=storable, max_score=7))
        return [r.student for r in book.rows()]


def test_terminal_summary_prints_markup_literally(tmp_path):
    from grader.report.summary import render_terminal
    hostile_gradebook(tmp_path / "grades.db", broken=False)
    buffer = io.StringIO()
    render_terminal(tmp_path / "grades.db", console=Console(file=buffer, width=300, color_system=None))
    out = buffer.getvalue()
    assert_clean(out)
    assert "needs a look: could not be read: zz error: =cmd" in out and "[/] [bold]" in out   # incidents: per student


def test_feedback_command_writes_every_student(tmp_path):
    students = hostile_gradebook(tmp_path / "grades.db")
    out = tmp_path / "feedback"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "feedback", "--db", str(tmp_path / "grades.db"),
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(out)) == sorted(feedback_file(s) for s in students)   # no temporary file left
    assert "wrote %d feedback files" % len(students) in run.stdout
    assert "not rendered or not written for 2 students" in run.stderr
    for broken in ("+bad json", "-bad tree"):
        assert "could not be rendered" in (out / feedback_file(broken)).read_text(encoding="utf-8")
    text = (out / feedback_file("=cmd|' /C calc'!A0")).read_text(encoding="utf-8")
    assert_clean(text)
    assert "\ufffd" in text and "Part two" in text          # the surrogate the student printed did not stop it
    page = parse_html(MarkdownIt("commonmark", {"html": True}).enable("table").render(text))
    assert page.count("script") == 0 and page.count("h1") == 1
    ungraded = (out / feedback_file("zz error")).read_text(encoding="utf-8")
    assert "Not graded" in ungraded and parse_html(MarkdownIt("commonmark", {"html": True}).render(ungraded)
                                                   ).count("script") == 0


# --- writing ---------------------------------------------------------------------------------------------------

def test_write_gives_a_whole_utf8_file(tmp_path):
    from grader.cli import _write
    target = tmp_path / "new" / "result.json"
    _write(render(hostile_result(HOSTILE), "json") + "\ud800", str(target))   # even a surrogate left over
    assert json.loads(target.read_text(encoding="utf-8").rstrip("\ufffd"))["score"] == 1.0
    assert os.listdir(target.parent) == ["result.json"]


def test_write_failure_leaves_the_old_file(tmp_path, monkeypatch):
    from grader.cli import _write
    from grader.errors import GraderError
    target = tmp_path / "result.json"
    target.write_text("old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(GraderError, match="No space left"):
        _write("new", str(target))
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["result.json"]


def test_write_to_stdout_survives_a_surrogate(capsys):
    from grader.cli import _write
    _write("a\ud800b\n", None)
    assert capsys.readouterr().out == "a\ufffdb\n"


def test_the_gradebook_and_class_report_survive_what_students_name_and_raise(tmp_path):
    """A lone surrogate in an id or an error is stored (as U+FFFD); a damaged row is named, not fatal."""
    from grader.gradebook import Gradebook, make_row
    from grader.report.summary import class_summary
    db = tmp_path / "g.db"
    with Gradebook(db) as book:
        book.put(make_row("stud\udcff", "h", "r", "v", None, "raised ValueError: \ud800"))
        book.put(make_row("damaged", "h", "r", "v", None))
        book.db.execute("UPDATE grades SET result = '{\"questions\": 3}', status = 'graded' WHERE student = 'damaged'")
        rows = book.rows()
    assert {r.student for r in rows} == {"stud\ufffd", "damaged"}
    summary = class_summary(rows)
    assert ("damaged", "its stored result cannot be read: grade it again") in summary.attention
