"""Similar submissions: disguised copies rank above every pair of independent work, which is not flagged."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from conftest import REFERENCE, SAMPLES, sample_dir
from copying import ALL, disguise, every
from test_cli import grader

SIMILARITY = sample_dir("similarity")
INDEPENDENT = sorted(p for p in SIMILARITY.iterdir() if p.name.startswith("independent_"))
ORIGINAL = "independent_3"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Nine independent correct solutions, disguised copies of one of them, and write-ups: one batch."""
    base = tmp_path_factory.mktemp("similar")
    root = base / "class"
    root.mkdir()
    for folder in INDEPENDENT:
        shutil.copytree(folder, root / folder.name)
    shutil.copytree(sample_dir("correct"), root / "correct")
    shutil.copytree(sample_dir("correct_two_file"), root / "correct_two_file")
    shutil.copytree(REFERENCE, root / "reference_like", ignore=shutil.ignore_patterns("__pycache__"))
    for name, transform in list(ALL.items()) + [("everything", every)]:
        disguise(SIMILARITY / ORIGINAL, root / ("copy_" + name), transform)
    written = SAMPLES / "written"
    for i, sample in enumerate(("md_hat_circ_correct", "tex_align_boldsymbol_correct", "md_prose_heavy_correct")):
        shutil.copytree(written / sample, root / INDEPENDENT[i].name, dirs_exist_ok=True)
    shutil.copytree(written / "md_prose_heavy_correct", root / "correct", dirs_exist_ok=True)   # the same write-up
    db = base / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    return db


def similar(db, *args):
    run = grader("similar", "--db", str(db), "--rubric", "a1-full", *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def scores(pairs):
    return {frozenset((p["a"], p["b"])): p for p in pairs}


@pytest.mark.parametrize("starter", [True, False], ids=["with starter", "class-shared code as starter"])
def test_each_disguised_copy_ranks_above_every_independent_pair(graded, starter):
    args = ["--starter", str(SIMILARITY / "starter")] if starter else []
    pairs = scores(json.loads(similar(graded, "--format", "json", "--threshold", "0", *args)))
    planted = frozenset((INDEPENDENT[2].name, "correct"))        # the one copied write-up
    independent = [p["score"] for key, p in pairs.items()
                   if not any(s.startswith("copy_") for s in key) and key != planted]
    assert len(independent) >= 10
    top_independent = max(independent, default=0.0)
    for name in list(ALL) + ["everything"]:
        pair = pairs.get(frozenset((ORIGINAL, "copy_" + name)))
        assert pair is not None and pair["score"] > top_independent, (name, pair, top_independent)
        assert pair["score"] >= 0.6, (name, pair)


def test_independent_work_is_not_flagged_at_the_default_threshold(graded):
    pairs = json.loads(similar(graded, "--format", "json", "--starter", str(SIMILARITY / "starter")))
    flagged = {frozenset((p["a"], p["b"])) for p in pairs}
    code_pairs = {k for k in flagged if any(s.startswith("copy_") for s in k)}
    assert {frozenset((ORIGINAL, "copy_" + n)) for n in list(ALL) + ["everything"]} <= code_pairs
    for key in flagged - code_pairs:
        pair = next(p for p in pairs if frozenset((p["a"], p["b"])) == key)
        assert pair["written"], pair      # only the two identical write-ups: see below
    assert frozenset((INDEPENDENT[2].name, "correct")) in flagged
    assert all(p["note"].startswith("similar, for a person to look at") for p in pairs)


def test_the_html_shows_pairs_side_by_side_and_the_flags_are_kept(graded, tmp_path):
    page = tmp_path / "similar.html"
    similar(graded, "--format", "html", "--out", str(page), "--starter", str(SIMILARITY / "starter"))
    text = page.read_text()
    assert "for a person to look at" in text and "class='shared'" in text and "copy_renamed" in text
    with sqlite3.connect(str(graded)) as db:
        stored = db.execute("SELECT a, b, score FROM similar").fetchall()
    assert any({a, b} == {ORIGINAL, "copy_renamed"} for a, b, _ in stored)
    text = similar(graded, "--starter", str(SIMILARITY / "starter"))
    assert "copy_everything" in text and "cluster:" in text
    report = tmp_path / "r.html"
    assert grader("report", "--db", str(graded), "--out", str(report)).returncode == 0
    assert "id='similar'" in report.read_text() and "copy_renamed" in report.read_text()


def test_a_shared_rare_mistake_weighs_more_than_shared_correct_code():
    from grader.similarity import Student, compare
    base = set(range(100))
    students = [Student("a", {"softmax": set(base)}), Student("b", {"softmax": set(range(50, 150))}),
                Student("c", {"softmax": set(range(200, 300))}), Student("d", {"softmax": set(range(250, 350))})]
    students[0].mistakes = {"softmax": "code:stable_large_inputs:no_shift"}
    students[1].mistakes = {"softmax": "code:stable_large_inputs:no_shift"}
    pairs = {frozenset((p.a, p.b)): p for p in compare(students, 0.0)}
    same_bug, plain = pairs[frozenset("ab")], pairs[frozenset("cd")]
    assert same_bug.code == plain.code == 0.5
    assert same_bug.score > plain.score and same_bug.shared_mistakes[0]["part"] == "softmax"


def test_a_bad_threshold_or_starter_is_a_one_line_error(graded, tmp_path):
    for args, words in ((["--threshold", "2"], "between 0 and 1"), (["--starter", str(tmp_path / "no")], "not found")):
        run = grader("similar", "--db", str(graded), *args)
        assert run.returncode == 2 and words in run.stderr, run.stderr
