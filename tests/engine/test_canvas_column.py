"""Issue 24, item 10: without --column, Canvas's import fills the roster's one assignment column."""
from __future__ import annotations

import csv
import io
import shutil

import pytest

from conftest import sample_dir
from test_cli import grader

IDS = "Student,ID,SIS User ID,SIS Login ID,Section,"
COMPUTED = "Current Score,Unposted Current Score,Final Score,Final Grade"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    base = tmp_path_factory.mktemp("canvas")
    shutil.copytree(sample_dir("correct"), base / "class" / "annlee_100400")
    run = grader("batch", str(base / "class"), "--db", str(base / "g.db"), "--quiet")
    assert run.returncode == 0, run.stderr
    return base / "g.db"


def export(db, tmp_path, columns, *more):
    roster = tmp_path / "roster.csv"
    roster.write_text(IDS + columns + "\n\"Lee, Ann\",100400,S1,alee,A," + "," * columns.count(",") + "\n")
    return grader("export", "--db", str(db), "--format", "canvas", "--roster", str(roster), *more)


def test_the_rosters_one_assignment_column_is_used(db, tmp_path):
    run = export(db, tmp_path, "Assignment 1 (12345)," + COMPUTED)
    assert run.returncode == 0, run.stderr
    header, _, ann = list(csv.reader(io.StringIO(run.stdout)))
    assert header[-1] == "Assignment 1 (12345)" and ann[-1] == "40"
    assert "assignment column 'Assignment 1 (12345)'" in run.stderr


def test_several_assignment_columns_ask_which_and_none_says_a_new_one_is_made(db, tmp_path):
    run = export(db, tmp_path, "Assignment 1 (12345),Assignment 2 (12346)," + COMPUTED)
    assert run.returncode == 2 and "--column" in run.stderr and "Assignment 2 (12346)" in run.stderr, run.stderr
    run = export(db, tmp_path, "Assignment 1 (12345),Assignment 2 (12346)," + COMPUTED, "--column",
                 "Assignment 2 (12346)")
    assert run.returncode == 0 and run.stdout.splitlines()[0].endswith(",Assignment 2 (12346)")
    run = export(db, tmp_path, COMPUTED)
    # a new column takes the rubric's name
    assert run.returncode == 0 and "create a new assignment 'Assignment 1: softmax and neural-network basics'" in run.stderr, \
        run.stderr
