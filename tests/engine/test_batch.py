"""Grading a whole class: discovery, parallel grading, the gradebook, resuming, shards, exports."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import pytest
import yaml

from grader.discover import check_zip, discover, shard_of

from conftest import ROOT, SAMPLES, sample_dir

MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
FULL = 40.0


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kwargs)


def zip_folder(folder, target, inner=None):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.glob("*.py")):
            archive.write(path, "%s/%s" % (inner, path.name) if inner else path.name)


@pytest.fixture
def klass(tmp_path):
    """A class of 6: folders, a folder wrapping an inner folder, a zip, a zip wrapping a folder, a bad zip."""
    root = tmp_path / "class"
    root.mkdir()
    for name in ("correct", "softmax_no_shift", "network_both_mean"):
        shutil.copytree(sample_dir(name), root / name)
    shutil.copytree(sample_dir("gradcheck_no_abs"), root / "nested" / "assignment1")
    zip_folder(sample_dir("sigmoid_unstable"), root / "zipped.zip")
    zip_folder(sample_dir("correct_two_file"), root / "zipwrapped.zip", inner="hw1")
    (root / "broken.zip").write_bytes(b"this is not a zip")
    return root


EXPECTED = {"correct": "correct", "softmax_no_shift": "softmax_no_shift", "network_both_mean": "network_both_mean",
            "nested": "gradcheck_no_abs", "zipped": "sigmoid_unstable", "zipwrapped": "correct_two_file"}


def rows(db):
    with sqlite3.connect(str(db)) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT student, score, status, result, graded_at FROM grades")}


def expected_parts(sample):
    scores = {"softmax": 10.0, "sigmoid": 3.0, "sigmoid_grad": 4.0, "ce_grad": 3.0, "gradcheck_naive": 4.0,
              "forward_backward_prop": 16.0}
    scores.update(MANIFEST[sample]["scores"])
    return scores


def test_batch_grades_every_shape_like_check(klass, tmp_path):
    db = tmp_path / "grades.db"
    run = cli("batch", str(klass), "--db", str(db), "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    got = rows(db)
    assert set(got) == set(EXPECTED) | {"broken"}
    assert got["broken"][1] == "error"
    for student, sample in EXPECTED.items():
        result = json.loads(got[student][2])
        parts = {p["id"]: p["score"] for q in result["questions"] for p in q["parts"]}
        assert parts == pytest.approx(expected_parts(sample)), student
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # Unchanged: nothing is graded again. --force regrades everything gradable.
    before = {s: r[3] for s, r in rows(db).items()}
    time.sleep(1.1)
    assert "graded 0, unchanged 7" in cli("batch", str(klass), "--db", str(db), "--quiet").stderr
    assert {s: r[3] for s, r in rows(db).items()} == before
    (klass / "correct" / "q1_softmax.py").write_text((sample_dir("softmax_no_shift") / "q1_softmax.py").read_text())
    assert "graded 1, unchanged 6" in cli("batch", str(klass), "--db", str(db), "--quiet").stderr
    assert rows(db)["correct"][0] < FULL
    assert "graded 6, unchanged 0, could not grade 1" in cli("batch", str(klass), "--db", str(db), "--quiet",
                                                               "--force").stderr

    # Exports and feedback.
    table = list(csv.DictReader(io.StringIO(cli("export", "--db", str(db)).stdout)))
    assert [r["student"] for r in table] == sorted(set(EXPECTED) | {"broken"})
    by_student = {r["student"]: r for r in table}
    assert list(table[0])[:6] == ["student", "score", "max_score", "status", "q1", "q2"]
    assert by_student["softmax_no_shift"]["softmax"] == "6.17" and by_student["broken"]["max_score"] == "40"
    data = json.loads(cli("export", "--db", str(db), "--format", "json").stdout)
    assert {"student", "score", "max_score", "parts"} <= set(data[0])
    out = tmp_path / "feedback"
    assert cli("feedback", "--db", str(db), "--out", str(out)).returncode == 0
    assert sorted(p.stem for p in out.glob("*.md")) == sorted(set(EXPECTED) | {"broken"})
    assert "cost_convention" in (out / "network_both_mean.md").read_text()


@pytest.mark.parametrize("name,problem", [("../evil.py", "leaves its folder"), ("/etc/evil.py", "absolute path")])
def test_dangerous_zips_are_refused(tmp_path, name, problem):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("q1_softmax.py", "x = 1\n")
        archive.writestr(name, "print('escaped')\n")
    found = discover(tmp_path, tmp_path / "cache")
    assert found[0].path is None and problem in found[0].error
    assert not (tmp_path / "evil.py").exists()


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("q1_softmax.py", b"0" * (60 * 1024 * 1024))
    with zipfile.ZipFile(path) as archive:
        assert "limit" in check_zip(archive)
    assert discover(tmp_path, tmp_path / "cache")[0].path is None


def test_shards_cover_everyone_once_and_merge_back(klass, tmp_path):
    students = [s.student for s in discover(klass, tmp_path / "c")]
    shards = [[s for s in students if shard_of(s, 3) == k] for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(students)
    dbs = []
    for k in (1, 2, 3):
        db = tmp_path / ("s%d.db" % k)
        assert cli("batch", str(klass), "--db", str(db), "--shard", "%d/3" % k, "--quiet").returncode == 0
        assert set(rows(db)) == set(shards[k - 1])
        dbs.append(str(db))
    merged = tmp_path / "all.db"
    assert cli("merge", *dbs, "--into", str(merged)).returncode == 0
    whole = tmp_path / "whole.db"
    cli("batch", str(klass), "--db", str(whole), "--quiet")
    assert {s: r[0] for s, r in rows(merged).items()} == {s: r[0] for s, r in rows(whole).items()}


@pytest.mark.alone      # kills a batch mid-run and holds every score exact: beside the hostile samples' load, a part can time out
def test_killed_batch_resumes_without_loss_or_duplicates(tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    samples = ["correct", "softmax_no_shift", "sigmoid_unstable", "network_both_mean", "gradcheck_one_sided",
               "correct_two_file"]
    for i in range(12):
        shutil.copytree(sample_dir(samples[i % len(samples)]), root / ("student%02d" % i))
    db = tmp_path / "grades.db"
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", str(root), "--db", str(db), "--jobs", "1",
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if 1 <= len(rows(db)) < 12:
                    break
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = rows(db)
    assert 1 <= len(partial) < 12, "the batch was not killed in the middle"
    run = cli("batch", str(root), "--db", str(db), "--jobs", "1", "--quiet")
    assert run.returncode == 0
    assert "graded %d, unchanged %d" % (12 - len(partial), len(partial)) in run.stderr
    final = rows(db)
    assert len(final) == 12
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT student) FROM grades").fetchone() == (12, 12)
    for student, (score, status, _, graded_at) in partial.items():
        assert final[student][3] == graded_at       # kept, not graded twice
    for i in range(12):
        sample = samples[i % len(samples)]
        assert final["student%02d" % i][0] == pytest.approx(FULL - (40 - sum(expected_parts(sample).values())))


def test_bad_batch_arguments():
    for args, needle in ((["batch", "nope"], "submissions folder not found"),
                         (["batch", "sample_submissions", "--shard", "4/3"], "--shard"),
                         (["export", "--db", "missing.db"], "gradebook not found")):
        run = cli(*args)
        assert run.returncode == 2 and needle in run.stderr and "Traceback" not in run.stderr


def test_a_grader_failure_is_not_kept_as_the_students_grade(tmp_path):
    """A row the grader failed to produce is regraded on the next run; the gradebook is private."""
    from grader.gradebook import Gradebook, make_row
    db = tmp_path / "g.db"
    with Gradebook(db) as book:
        book.put(make_row("ann", "h1", "r1", "v1", None, "the grader failed: boom", status="grader_error"))
        book.put(make_row("bob", "h2", "r1", "v1", None, "a.zip: the zip holds a link: x"))
        assert not book.is_current("ann", "h1", "r1", "v1")      # ours: graded again
        assert book.is_current("bob", "h2", "r1", "v1")          # the submission's: kept
    assert oct(db.stat().st_mode & 0o777) == "0o600"


# The sandbox fails on every submission, as when its zygote stops answering: patched in the
# `grader` process itself, whose forked workers inherit it.
FAILING_SANDBOX = ("import sys; from grader import runner\n"
                   "def fail(self, *args): raise runner.ZygoteFailure('simulated: the sandbox did not answer')\n"
                   "runner.Grader._grade_files = fail\n"
                   "from grader.cli import entry; entry()\n")


def test_a_batch_the_grader_failed_on_exits_3_and_exports_no_zero(tmp_path):
    """A grader failure is no grade: exit 3, an empty score in every export, and an earlier grade stays."""
    from grader.gradebook import Gradebook
    from grader.report.canvas import to_canvas
    root = tmp_path / "class"
    shutil.copytree(sample_dir("correct"), root / "ann_100400")
    shutil.copytree(sample_dir("softmax_no_shift"), root / "bob_100500")
    db = tmp_path / "grades.db"
    assert cli("batch", str(root), "--db", str(db), "--quiet", "--student", "ann_100400").returncode == 0
    before = rows(db)["ann_100400"]

    run = subprocess.run([sys.executable, "-c", FAILING_SANDBOX, "batch", str(root), "--db", str(db), "--quiet",
                          "--force", "--jobs", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, run.stderr
    assert "graded 0, unchanged 0, could not grade 2" in run.stderr and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("grader: error:")]
    assert len(errors) == 1 and "the grader itself failed on 2 of 2 submissions" in errors[0], run.stderr
    assert "simulated: the sandbox did not answer" in errors[0] and "an earlier grade stays for 1" in errors[0]
    assert rows(db)["ann_100400"] == before                     # the grade it had, not the failure
    assert rows(db)["bob_100500"][:2] == (0.0, "grader_error")

    table = {r["student"]: r for r in csv.DictReader(io.StringIO(cli("export", "--db", str(db)).stdout))}
    assert table["ann_100400"]["score"] == "40" and table["ann_100400"]["status"] == "graded"
    assert table["bob_100500"]["score"] == "" and table["bob_100500"]["softmax"] == ""
    assert table["bob_100500"]["status"].startswith("grader failed: GraderFault: the sandbox failed")
    data = {d["student"]: d for d in json.loads(cli("export", "--db", str(db), "--format", "json").stdout)}
    assert data["bob_100500"]["score"] is None and data["bob_100500"]["status"].startswith("grader failed: ")
    with Gradebook(db) as book:
        text, _, _ = to_canvas(book.adjusted_rows(), "Student,ID\nAnn,100400\nBob,100500\n", "A1")
    assert text.splitlines()[2:] == ["Ann,100400,40", "Bob,100500,"]

    # The sandbox answers again: only the submission without a grade is graded.
    run = cli("batch", str(root), "--db", str(db), "--quiet")
    assert run.returncode == 0 and "graded 1, unchanged 1, could not grade 0" in run.stderr, run.stderr
    assert rows(db)["bob_100500"][1] == "graded"


def test_a_batch_with_nothing_readable_exits_2(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "broken.zip").write_bytes(b"this is not a zip")
    run = cli("batch", str(tmp_path / "class"), "--db", str(tmp_path / "g.db"), "--quiet")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].startswith("grader: error: none of the 1 submissions under")


def test_a_grader_failure_never_replaces_a_grade(tmp_path):
    """Neither in a regrade nor in a merge: a grade (or the submission's own error) stays, a failure gives way."""
    from grader.gradebook import Gradebook, make_row, merge
    from grader.rubric import default_rubric_path, load_rubric
    from grader.scoring import score_check, score_part, score_submission
    rubric = load_rubric(default_rubric_path())
    # A result merge can verify: the rubric's, adding up to its 40 points.
    graded = score_submission(rubric, "ann", {p.id: score_part(p, "graded", [score_check(c, 1.0, "", {}) for c in p.checks])
                                              for _, p in rubric.parts()}, "v", {}).to_dict()
    sha = rubric.sha256
    failure = dict(error="the grader failed: boom", max_score=40, status="grader_error")
    with Gradebook(tmp_path / "a.db") as book:
        book.put(make_row("ann", "h1", sha, "v", graded))
        stored = book.put(make_row("ann", "h2", sha, "v", None, **failure))
        book.put(make_row("bob", "h1", sha, "v", None, **failure))
        book.put(make_row("bob", "h2", sha, "v", None, **failure))   # a newer failure replaces a failure
        assert [(r.student, r.status, r.content_hash) for r in book.rows()] == [("ann", "graded", "h1"),
                                                                               ("bob", "grader_error", "h2")]
        assert stored is False
    with Gradebook(tmp_path / "b.db") as book:
        book.put(make_row("ann", "h3", sha, "v", None, **failure))
        book.put(make_row("bob", "h3", sha, "v", graded))
    time.sleep(1.1)   # graded_at has whole seconds: the failures below are the newest rows
    with Gradebook(tmp_path / "c.db") as book:
        book.put(make_row("bob", "h4", sha, "v", None, **failure))
    merged = merge([tmp_path / "b.db", tmp_path / "c.db"], tmp_path / "a.db")
    assert (merged.rows, merged.refused) == (1, [])
    with Gradebook(tmp_path / "a.db") as book:
        assert [(r.student, r.status, r.content_hash) for r in book.rows()] == [("ann", "graded", "h1"),
                                                                               ("bob", "graded", "h3")]
