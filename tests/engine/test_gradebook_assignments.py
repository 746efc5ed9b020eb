"""The gradebook keyed by assignment (issue 26): an old gradebook is upgraded without losing a row, and two
assignments graded into one file never touch each other's rows, whatever command runs on one of them."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES

# The tables as the grader created them before assignments (grader/gradebook.py, overrides.py and lateness.py
# of that time), copied as they were: what an existing gradebook holds.
OLD_SCHEMA = [
    """
CREATE TABLE IF NOT EXISTS grades (
    student TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,            -- graded | error (the submission's) | grader_error (ours: regraded next run)
    error TEXT,
    result TEXT,                     -- the result tree as JSON (null for an error)
    seconds REAL NOT NULL,
    graded_at TEXT NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS overrides (
    student TEXT NOT NULL,
    part TEXT NOT NULL,
    points REAL,                      -- null: the verdict decides
    verdict TEXT,                     -- correct | incorrect | null
    comment TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- of the answer it was made for (the part's, when decided)
    version INTEGER NOT NULL,
    PRIMARY KEY (student, part)
)
""",
    "CREATE TABLE IF NOT EXISTS prints (student TEXT PRIMARY KEY, data TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS similar (a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL,
    details TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (a, b))""",
    "CREATE TABLE IF NOT EXISTS shards (k INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (k, n))",
    """CREATE TABLE IF NOT EXISTS lateness (kind TEXT NOT NULL, student TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (kind, student))""",
]
TABLES = ("grades", "overrides", "prints", "similar", "shards", "lateness")


def grader(*args):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def one_line_error(run) -> str:
    assert run.returncode == 2 and "Traceback" not in run.stderr, (run.returncode, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.startswith("grader: error:")]
    assert len(lines) == 1, run.stderr
    return lines[0]


def dump(db: Path, assignment=None) -> dict:
    """Every row of every table (of one assignment, or all), as SQLite stores them, in a fixed order."""
    with sqlite3.connect(str(db)) as conn:
        out = {}
        for table in TABLES:
            where = "" if assignment is None else " WHERE assignment = '%s'" % assignment
            width = len(conn.execute("PRAGMA table_info(%s)" % table).fetchall())
            out[table] = conn.execute("SELECT * FROM %s%s ORDER BY %s" % (
                table, where, ", ".join(str(i) for i in range(1, width + 1)))).fetchall()
    return out


def export(db: Path, rubric=None) -> dict:
    run = grader("export", "--db", str(db), "--format", "json", *(["--rubric", str(rubric)] if rubric else []))
    assert run.returncode == 0, run.stderr
    return {row["student"]: row for row in json.loads(run.stdout)}


def second_rubric(folder: Path, assignment: str = "a2") -> Path:
    """rubrics/a1.yaml under another assignment id, written into ``folder``: what a course's next homework is."""
    from grader.rubric import default_rubric_path, load_rubric
    source = default_rubric_path()
    text = source.read_text(encoding="utf-8")
    assert re.search(r"^assignment: a1\b", text, re.M), "rubrics/a1.yaml names its assignment"
    # The copy lives elsewhere: its reference (and a plug-in given as a file) by absolute path.
    text = re.sub(r"^reference:.*\n", "", text, flags=re.M)
    text = re.sub(r"^assignment: a1\b.*$", "assignment: %s\nreference: %s" % (
        assignment, json.dumps(str(load_rubric(source).reference))), text, count=1, flags=re.M)
    text = re.sub(r"^(plugin:\s*)([^\s#]+\.py)\s*$", lambda m: m.group(1) + json.dumps(str(
        (source.parent / m.group(2)).resolve())), text, flags=re.M)
    text = re.sub(r"^default:.*\n", "", text, flags=re.M)
    path = folder / ("hw_%s.yaml" % assignment)
    path.write_text(text, encoding="utf-8")
    rubric = load_rubric(path)
    assert rubric.assignment == assignment and rubric.sha256 != load_rubric(source).sha256
    return path


# ---------------------------------------------------------------------------------------------- the rubric key

def test_a_rubric_names_its_assignment_else_its_files_stem(tmp_path):
    from grader.errors import RubricError
    from grader.rubric import load_rubric
    assert load_rubric(ROOT / "rubrics" / "a1.yaml").assignment == "a1"
    assert load_rubric(ROOT / "rubrics" / "a1-full.yaml").assignment == "a1"      # the same homework
    text = second_rubric(tmp_path).read_text(encoding="utf-8")
    unnamed = re.sub(r"^assignment: a2\n", "", text, flags=re.M)
    assert unnamed != text
    (tmp_path / "hw3.yaml").write_text(unnamed)
    assert load_rubric(tmp_path / "hw3.yaml").assignment == "hw3"
    (tmp_path / "my rubric.yaml").write_text(unnamed)
    with pytest.raises(RubricError, match=r"my rubric\.yaml:\d+: assignment: not given, and the file's name"):
        load_rubric(tmp_path / "my rubric.yaml")
    line = 1 + text.splitlines().index("assignment: a2")
    for bad, why in (("'a 2'", "got a string"), ("../a2", "got a string"), ("12", "got a number \\(12\\); quote it"),
                     ("[a2]", "got a list"), ("''", "got a string")):
        (tmp_path / "bad.yaml").write_text(text.replace("assignment: a2\n", "assignment: %s\n" % bad))
        with pytest.raises(RubricError, match=r"bad\.yaml:%d: assignment: an assignment id is 1 to 64 letters.*%s"
                           % (line, why)):
            load_rubric(tmp_path / "bad.yaml")


# ---------------------------------------------------------------------------------------------- the upgrade

def old_gradebook(path: Path) -> dict:
    """A gradebook as the grader wrote it before assignments: two students, a decision, fingerprints, a pair,
    a shard, lateness. Returns its rows, table by table."""
    from grader.rubric import default_rubric_path, load_rubric
    from grader.scoring import score_check, score_part, score_submission
    rubric = load_rubric(default_rubric_path())

    def tree(student, fraction):
        return json.dumps(score_submission(rubric, student, {
            p.id: score_part(p, "graded", [score_check(c, fraction, "", {}) for c in p.checks])
            for _, p in rubric.parts()}, "v", {}).to_dict())

    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in OLD_SCHEMA:
        conn.execute(statement)
    conn.executemany("INSERT INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("ann", "h1", rubric.sha256, "v", 40.0, 40.0, "graded", None, tree("ann", 1.0), 1.5, "2025-01-02T03:04:05Z"),
        ("bob", "h2", rubric.sha256, "v", 0.0, 40.0, "graded", None, tree("bob", 0.0), 2.5, "2025-01-02T03:04:06Z"),
        ("cy", "h3", rubric.sha256, "v", 0.0, 40.0, "error", "a.zip: not a zip", None, 0.0, "2025-01-02T03:04:07Z")])
    conn.execute("INSERT INTO overrides VALUES ('bob', 'softmax', 7, NULL, 'right idea', 'Ana', "
                 "'2025-01-03T00:00:00Z', '', 1)")
    conn.executemany("INSERT INTO prints VALUES (?, ?)", [("ann", "{}"), ("bob", "{}")])
    conn.execute("INSERT INTO similar VALUES ('ann', 'bob', 0.9, '{\"a\": \"ann\", \"b\": \"bob\", \"score\": 0.9}', "
                 "'2025-01-03T00:00:00Z')")
    conn.execute("INSERT INTO shards VALUES (1, 1)")
    conn.executemany("INSERT INTO lateness VALUES (?, ?, ?)", [("extension", "bob", "2030-01-01T00:00:00+00:00"),
                                                               ("time", "ann", "2025-01-01T00:00:00+00:00")])
    conn.close()
    return dump(path)


def columns(db: Path, table: str):
    with sqlite3.connect(str(db)) as conn:
        return [r[1] for r in conn.execute("PRAGMA table_info(%s)" % table)]


def test_an_old_gradebook_is_upgraded_on_open_every_row_under_the_assignment_decisions_kept(tmp_path):
    db = tmp_path / "grades.db"
    before = old_gradebook(db)
    assert all(before[t] for t in TABLES) and "assignment" not in columns(db, "grades")
    # Opened by the default rubric's command: every row is a1's, exactly as it was, the decision applied.
    rows = export(db)
    assert set(rows) == {"ann", "bob", "cy"}
    assert rows["bob"]["parts"]["softmax"] == 7 and rows["bob"]["adjusted"]["softmax"]["by"] == "Ana"
    assert rows["ann"]["score"] == 40 and rows["cy"]["status"] != "graded" and "not a zip" in json.dumps(rows["cy"])
    after = dump(db)
    for table in TABLES:
        assert columns(db, table)[0] == "assignment", table
        assert after[table] == [("a1",) + row for row in before[table]], table
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%before%'").fetchall()
    listed = grader("override", "--db", str(db), "--list")
    assert listed.returncode == 0 and listed.stdout.startswith("bob\tsoftmax\t7\tAna"), listed.stderr
    # Opened again: nothing changes.
    assert export(db) == rows and dump(db) == after


def test_the_upgrade_gives_the_old_rows_the_assignment_of_the_rubric_in_use(tmp_path):
    db = tmp_path / "grades.db"
    before = old_gradebook(db)
    rubric = second_rubric(tmp_path)
    rows = export(db, rubric)
    assert set(rows) == {"ann", "bob", "cy"} and rows["bob"]["parts"]["softmax"] == 7
    assert dump(db, "a2") == {t: [("a2",) + row for row in before[t]] for t in TABLES}
    run = grader("export", "--db", str(db))          # a1's: none; the note says where the rows are
    assert run.returncode == 0 and run.stdout.startswith("student,") and len(run.stdout.splitlines()) == 1, run.stdout
    assert "holds no grades of assignment a1, only of a2 (3)" in run.stderr


CRASH = """
import os, sys
from grader import gradebook
real, done = gradebook._upgrade_table, []
def crash(*args):
    real(*args)
    done.append(args[1])
    if len(done) == 3:
        os._exit(9)          # killed in the middle: no rollback, no close
gradebook._upgrade_table = crash
gradebook.Gradebook(sys.argv[1], "a1")
"""


def test_a_crash_in_the_middle_of_the_upgrade_leaves_the_old_gradebook_whole(tmp_path):
    db = tmp_path / "grades.db"
    before = old_gradebook(db)
    run = subprocess.run([sys.executable, "-c", CRASH, str(db)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 9, run.stderr
    assert dump(db) == before and "assignment" not in columns(db, "grades")
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%before%'").fetchall()
    assert set(export(db)) == {"ann", "bob", "cy"}        # the next open upgrades it
    assert dump(db) == {t: [("a1",) + row for row in before[t]] for t in TABLES}


def test_a_gradebook_of_a_newer_grader_is_refused_in_one_line(tmp_path):
    db = tmp_path / "grades.db"
    old_gradebook(db)
    with sqlite3.connect(str(db)) as conn:
        conn.execute("PRAGMA user_version = 7")
    line = one_line_error(grader("export", "--db", str(db)))
    assert "written by a newer grader (gradebook version 7" in line
    line = one_line_error(grader("merge", str(db), "--into", str(tmp_path / "m.db")))
    assert "written by a newer grader" in line


def test_merge_reads_a_shard_graded_before_assignments_as_the_rubrics(tmp_path):
    source = tmp_path / "old.db"
    before = old_gradebook(source)
    run = grader("merge", str(source), "--into", str(tmp_path / "merged.db"))
    assert run.returncode == 0, run.stderr
    assert "merged 3 rows" in run.stdout
    assert dump(source) == before                        # a source is read, never upgraded
    merged = dump(tmp_path / "merged.db")
    assert [r[:2] for r in merged["grades"]] == [("a1", "ann"), ("a1", "bob"), ("a1", "cy")]
    assert merged["overrides"] == [("a1",) + before["overrides"][0]]


# ---------------------------------------------------------------------------------------------- two assignments

@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """One gradebook: a1 graded for ann (correct) and bob (softmax_no_shift), then a2 for bob alone."""
    tmp = tmp_path_factory.mktemp("two")
    root = tmp / "class"
    for student, sample in (("ann", "correct"), ("bob", "softmax_no_shift")):
        shutil.copytree(SAMPLES / "correct", root / student)
        shutil.copytree(SAMPLES / sample, root / student, dirs_exist_ok=True)    # a sample holds what it changes
    db = tmp / "grades.db"
    options = ("--jobs", "2", "--quiet", "--timeout", "20")
    run = grader("batch", str(root), "--db", str(db), *options)
    assert run.returncode == 0, run.stderr
    run = grader("override", "--db", str(db), "bob", "softmax", "10", "--by", "Ana", "--comment", "a1's decision")
    assert run.returncode == 0, run.stderr
    first = dump(db, "a1")
    assert [r[1] for r in first["grades"]] == ["ann", "bob"] and len(first["overrides"]) == 1
    rubric = second_rubric(tmp)
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--student", "bob", *options)
    assert run.returncode == 0, run.stderr
    return db, rubric, first


def test_grading_a_second_assignment_leaves_every_row_of_the_first_as_it_was(two):
    db, rubric, first = two
    assert dump(db, "a1") == first
    second = dump(db, "a2")
    assert [r[1] for r in second["grades"]] == ["bob"] and second["shards"] == [("a2", 1, 1)]
    assert second["overrides"] == [] and [r[2] for r in second["lateness"] if r[1] == "rubric"] == [""]
    with sqlite3.connect(str(db)) as conn:
        hashes = dict(conn.execute("SELECT assignment, rubric_hash FROM grades WHERE student = 'bob'"))
    assert set(hashes) == {"a1", "a2"} and hashes["a1"] != hashes["a2"]


def test_export_and_feedback_show_one_assignment(two, tmp_path):
    db, rubric, first = two
    a1, a2 = export(db), export(db, rubric)
    assert set(a1) == {"ann", "bob"} and set(a2) == {"bob"}
    assert a1["bob"]["parts"]["softmax"] == 10 and "softmax" in a1["bob"]["adjusted"]
    assert a2["bob"]["parts"]["softmax"] < 10 and not a2["bob"].get("adjusted")   # a1's decision is not a2's
    table = list(csv.DictReader(io.StringIO(grader("export", "--db", str(db), "--rubric", str(rubric)).stdout)))
    assert [r["student"] for r in table] == ["bob"]
    out = tmp_path / "feedback"
    run = grader("feedback", "--db", str(db), "--rubric", str(rubric), "--out", str(out))
    assert run.returncode == 0 and sorted(p.name for p in out.iterdir()) == ["bob.md"], run.stderr
    assert "adjusted by a TA" not in (out / "bob.md").read_text()
    page = tmp_path / "report.html"
    assert grader("report", "--db", str(db), "--rubric", str(rubric), "--out", str(page)).returncode == 0
    assert "ann" not in re.findall(r"data-student=['\"]([^'\"]*)", page.read_text()) and "bob" in page.read_text()
    assert dump(db, "a1") == first


def test_an_override_of_one_assignment_neither_sees_nor_changes_the_other(two, tmp_path):
    db, rubric, first = two
    copy = tmp_path / "grades.db"
    shutil.copy(db, copy)
    line = one_line_error(grader("override", "--db", str(copy), "--rubric", str(rubric), "ann", "softmax", "1"))
    assert "no graded result for student 'ann'" in line           # ann is graded in a1 only
    run = grader("override", "--db", str(copy), "--rubric", str(rubric), "bob", "softmax", "2", "--by", "Ben")
    assert run.returncode == 0 and "(replaces" not in run.stdout, (run.stdout, run.stderr)
    assert dump(copy, "a1") == first
    assert export(copy, rubric)["bob"]["parts"]["softmax"] == 2 and export(copy)["bob"]["parts"]["softmax"] == 10
    lists = [grader("override", "--db", str(copy), "--list", *extra).stdout for extra in ((), ("--rubric", str(rubric)))]
    assert lists[0].startswith("bob\tsoftmax\t10\tAna") and lists[1].startswith("bob\tsoftmax\t2\tBen")
    run = grader("override", "--db", str(copy), "--rubric", str(rubric), "bob", "softmax", "--remove", "--by", "Ben")
    assert run.stdout.strip() == "removed" and dump(copy, "a1") == first
    assert not grader("override", "--db", str(copy), "--list", "--rubric", str(rubric)).stdout


def test_the_review_page_of_one_assignment_neither_sees_nor_changes_the_other(two, tmp_path):
    from grader.gradebook import Gradebook
    from grader.review.app import create_app
    from grader.review.queue import groups
    db, rubric, first = two
    copy = tmp_path / "grades.db"
    shutil.copy(db, copy)
    with Gradebook(copy, "a2") as book:
        mine = [g for g in groups(book) if g.part_id == "softmax"]
    assert [[(m.student, m.override) for m in g.members] for g in mine] == [[("bob", None)]]
    app = create_app(copy, token="t", assignment="a2")
    app.config["HOSTS"] = {"localhost"}
    client = app.test_client()
    assert "assignment a2" in client.get("/").get_data(as_text=True)
    page = client.get("/group/%s" % mine[0].id).get_data(as_text=True)
    assert "bob" in page and "decided by" not in page             # a1's decision on bob's softmax is a1's
    app = create_app(copy, token="t", assignment="a1")
    app.config["HOSTS"] = {"localhost"}
    with Gradebook(copy, "a1") as book:
        theirs = [g for g in groups(book) if g.part_id == "softmax"]
    assert "decided by Ana" in app.test_client().get("/group/%s" % theirs[0].id).get_data(as_text=True)
    answer = client.post("/decide", json={"group": mine[0].id, "versions": {"bob": 0}, "points": 1},
                         headers={"X-Review-Token": "t"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert dump(copy, "a1") == first
    assert [r[1:4] for r in dump(copy, "a2")["overrides"]] == [("bob", "softmax", 1.0)]


def test_similar_of_one_assignment_keeps_the_others_pairs(two, tmp_path):
    from grader.gradebook import Gradebook
    db, rubric, first = two
    copy = tmp_path / "grades.db"
    shutil.copy(db, copy)
    with Gradebook(copy, "a2") as book:
        book.put_similar([{"a": "bob", "b": "zed", "score": 0.5}])
    theirs = dump(copy, "a2")
    assert grader("similar", "--db", str(copy), "--threshold", "0").returncode == 0
    assert dump(copy, "a2") == theirs
    pairs = dump(copy, "a1")["similar"]
    assert [p[:3] for p in pairs] == [("a1", "ann", "bob")] or [p[:3] for p in pairs] == [("a1", "bob", "ann")]
    run = grader("similar", "--db", str(copy), "--rubric", str(rubric), "--threshold", "0")
    assert run.returncode == 0, run.stderr
    assert dump(copy, "a2")["similar"] == [] and dump(copy, "a1")["similar"] == pairs


def test_merge_takes_the_rubrics_assignment_and_refuses_the_others_rows(two, tmp_path):
    db, rubric, first = two
    run = grader("merge", str(db), "--into", str(tmp_path / "a1.db"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    refused = [line for line in run.stderr.splitlines() if line.startswith("grader: refused:")]
    assert refused == ["grader: refused: %s: bob: of assignment a2, not a1.yaml's a1: merge it with that "
                       "assignment's rubric" % db], run.stderr
    assert "merged 2 rows" in run.stdout
    merged = dump(tmp_path / "a1.db")
    assert [r[:2] for r in merged["grades"]] == [("a1", "ann"), ("a1", "bob")]
    assert merged["grades"] == first["grades"] and merged["overrides"] == first["overrides"]
    run = grader("merge", str(db), "--into", str(tmp_path / "a2.db"), "--rubric", str(rubric))
    assert run.returncode == 2 and "merged 1 rows" in run.stdout, run.stderr
    refused = [line.split(": ", 4)[3:] for line in run.stderr.splitlines() if line.startswith("grader: refused:")]
    why = "of assignment a1, not hw_a2.yaml's a2: merge it with that assignment's rubric"
    assert sorted(refused) == [["ann", why], ["bob", why], ["bob", why + " (decision on softmax)"]]
    assert [r[:2] for r in dump(tmp_path / "a2.db")["grades"]] == [("a2", "bob")]
    assert dump(tmp_path / "a2.db")["overrides"] == []
