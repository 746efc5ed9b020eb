"""LMS in and out: a Canvas-style download graded with every student accounted for, and Canvas's import file."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile

import pytest

from conftest import SAMPLES, sample_dir
from test_cli import grader


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    """A flat download as Canvas (and one as Moodle) gives it, with the shapes that lost students before."""
    root = tmp_path_factory.mktemp("lms") / "download"
    root.mkdir()
    correct = sorted(sample_dir("correct").glob("*.py"))
    for path in correct:
        shutil.copy(path, root / ("müllerjosé_LATE_100329_500470_" + path.name))        # accents, LATE
        shutil.copy(path, root / ("smithann_100400_500471_" + path.name))
    shutil.copy(sample_dir("softmax_no_shift") / "q1_softmax.py", root / "smithann_100400_500471_q1_softmax-1.py")
    with zipfile.ZipFile(root / "leebo_100500_500472_assignment1.zip", "w") as archive:
        for path in correct:
            archive.write(path, "assignment1/" + path.name)
    notebook = {"cells": [{"cell_type": "markdown", "source": ["## 2d\n", "$(D_x+1)H + (H+1)D_y$"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "ngoan_100600_500473_written.ipynb").write_text(json.dumps(notebook))       # only a notebook
    for path in correct:
        shutil.copy(path, root / ("Kim Lee_100700_assignsubmission_file_" + path.name))  # Moodle
    (root / "instructions.txt").write_text("not a student's file")
    db = root.parent / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--quiet")
    assert run.returncode == 0, run.stderr
    rows = {r["student"]: r for r in json.loads(grader("export", "--db", str(db), "--format", "json").stdout)}
    return root, db, rows


def test_every_student_of_a_download_is_accounted_for(download):
    _, db, rows = download
    assert set(rows) == {"müllerjosé_100329", "smithann_100400", "leebo_100500", "ngoan_100600", "Kim Lee_100700",
                         "(unattributed) instructions.txt"}
    assert rows["müllerjosé_100329"]["late"] is True and rows["smithann_100400"]["late"] is False
    assert rows["müllerjosé_100329"]["score"] == rows["leebo_100500"]["score"] == rows["Kim Lee_100700"]["score"] == 40
    assert rows["smithann_100400"]["parts"]["softmax"] < 10          # the newest upload (-1) was graded
    assert rows["ngoan_100600"]["status"] == "graded" and rows["ngoan_100600"]["score"] == 0
    assert rows["(unattributed) instructions.txt"]["status"] == "error"
    assert "cannot be attributed" in rows["(unattributed) instructions.txt"]["error"]
    feedback = db.parent / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert "the newest, q1_softmax-1.py, was graded" in (feedback / "smithann_100400.md").read_text()
    assert "Submitted late" in (feedback / "müllerjosé_100329.md").read_text()


def test_the_canvas_import_matches_the_roster_and_reports_the_rest(download, tmp_path):
    _, db, rows = download
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Assignment 1 (777)\n"
                      "    Points Possible,,,,,40\n"
                      "\"Müller, José\",100329,S1,jmuller,CS224n,\n"
                      "\"Smith, Ann\",100400,S2,asmith,CS224n,\n"
                      "\"Lee, Bo\",100500,S3,blee,CS224n,\n"
                      "\"Nobody, Ned\",100999,S9,nned,CS224n,\n", encoding="utf-8")
    run = grader("export", "--db", str(db), "--format", "canvas", "--roster", str(roster),
                 "--column", "Assignment 1 (777)")
    assert run.returncode == 0, run.stderr
    table = list(csv.reader(io.StringIO(run.stdout)))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 1 (777)"]
    assert table[1][0] == "Points Possible" and table[1][-1] == "40"
    grades = {row[1]: row[-1] for row in table[2:]}
    assert grades == {"100329": "40", "100400": "%g" % round(rows["smithann_100400"]["score"], 2), "100500": "40", "100999": ""}
    assert "on the roster, no submission: Nobody, Ned (ID 100999)" in run.stderr
    assert "a submission no roster row claims: ngoan_100600" in run.stderr
    assert "Kim Lee_100700" in run.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nx,1\n")
    run = grader("export", "--db", str(db), "--format", "canvas", "--roster", str(bad))
    assert run.returncode == 2 and "not a Canvas gradebook export" in run.stderr


def test_a_regrade_request_grades_only_that_student(download):
    root, db, _ = download
    run = grader("batch", str(root), "--db", str(db), "--quiet", "--student", "smithann_100400")
    assert run.returncode == 0 and "graded 1, unchanged 0" in run.stderr, run.stderr
    run = grader("batch", str(root), "--db", str(db), "--quiet", "--student", "nobody_1")
    assert run.returncode == 2 and "no submission for nobody_1" in run.stderr


def test_the_needs_a_look_list_is_complete_one_row_per_student(tmp_path):
    from rich.console import Console
    from grader.gradebook import Gradebook, make_row
    from grader.report.summary import render_terminal
    db = tmp_path / "g.db"
    with Gradebook(db) as book:
        for i in range(12):
            book.put(make_row("dropped_%02d" % i, "h%d" % i, "r", "0.1.0", None, "the zip cannot be read", max_score=40))
        book.put(make_row("crasher", "hc", "r", "0.1.0", None, "the grader failed: ZygoteFailure", max_score=40,
                          status="grader_error"))
    console = Console(record=True, width=200)
    render_terminal(db, console)
    text = console.export_text()
    assert text.count("needs a look:") == 10 and "... and 3 more lines (grader report lists them all)" in text
    report = tmp_path / "r.html"
    assert grader("report", "--db", str(db), "--out", str(report)).returncode == 0
    page = report.read_text()
    assert page.count("<li class='bad'>") == 13 and "crasher" in page and "ZygoteFailure" in page


@pytest.mark.parametrize("level", ["mistake", "none"])
def test_a_course_decides_how_much_a_hint_may_say(tmp_path, level):
    from conftest import ROOT
    text = (ROOT / "rubrics" / "a1.yaml").read_text().replace("  cost: either", "  cost: either\n  hints: %s" % level)
    rubric = tmp_path / "a1.yaml"
    rubric.write_text(text.replace("reference: ../reference", "reference: %s" % (ROOT / "reference")))
    run = grader("check", str(sample_dir("softmax_no_shift")), "--rubric", str(rubric), "--format", "markdown")
    assert run.returncode == 0, run.stderr
    full = grader("check", str(sample_dir("softmax_no_shift")), "--format", "markdown").stdout
    assert "Subtract each row's maximum" in full                   # the default names the fix
    assert "Subtract" not in run.stdout and "exp(1000)" not in run.stdout
    if level == "mistake":
        assert "hint: softmax overflows." in run.stdout
    else:
        assert "hint:" not in run.stdout


def test_the_whole_sample_set_as_a_canvas_download(tmp_path):
    """Every code sample, flattened as Canvas names files, graded with every student accounted for."""
    import yaml
    from test_batch import expected_parts
    manifest = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
    root = tmp_path / "download"
    root.mkdir()
    ids = {}
    manifest = {k: v for k, v in manifest.items() if "timeout" not in v}     # a sample that hangs on purpose
    for k, sample in enumerate(sorted(manifest)):
        name = "%s_%d" % (sample.replace("_", ""), 200000 + k)
        ids[name] = sample
        for path in sorted(sample_dir(sample).iterdir()):
            if path.is_file():
                shutil.copy(path, root / ("%s_%d_%d_%s" % (sample.replace("_", ""), 200000 + k, 900000 + k, path.name)))
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--quiet", "--jobs", "2")
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["student"]: r for r in json.loads(grader("export", "--db", str(db), "--format", "json").stdout)}
    assert set(rows) == set(ids)
    for student, sample in ids.items():
        assert rows[student]["parts"] == pytest.approx(expected_parts(sample)), (student, sample)
