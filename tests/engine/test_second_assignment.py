"""A second assignment proves the engine names none (issue 26).

Assignment 2 lives where a course keeps its own: tests/fixtures/a2 holds its rubric, its
plug-in (plugin/: an input generator, a check kind and a mistake finder), its reference
and its samples (a manifest of differences from `correct`, assembled by grader.samples).
Everything here goes through the real commands (grader check, batch, export, report,
review), with --timeout 5 and two jobs: the whole file stays within the suite's budget.
"""
from __future__ import annotations

import ast
import csv
import http.client
import inspect
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from grader import samples
from grader.gradebook import Gradebook

from conftest import ROOT

A2 = ROOT / "tests" / "fixtures" / "a2"
RUBRIC = A2 / "rubric.yaml"
SAMPLES = A2 / "samples"
RUBRIC_DATA = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text(encoding="utf-8"))
FULL_PARTS = {p["id"]: float(sum(c["points"] for c in p["checks"]))
              for q in RUBRIC_DATA["questions"] for p in q["parts"]}
FULL = sum(FULL_PARTS.values())
WRITTEN_PART = "output_weight_gradient"
FAST = ("--timeout", "5")
# The gradebook keyed by (assignment, student) is being built beside this test (grader/gradebook.py):
# with it, every command that reads a gradebook takes the --rubric of the assignment it reads.
KEYED = "assignment" in inspect.signature(Gradebook).parameters
BOOK = ("--rubric", str(RUBRIC)) if KEYED else ()


def grader(*args, timeout=120):
    """The installed command in a child process, as a TA runs it."""
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, COLUMNS="200"))


def pinned(name):
    """The manifest's pinned (total, score of every part) of one sample."""
    entry = MANIFEST[name]
    parts = dict(FULL_PARTS, **{k: float(v) for k, v in entry["scores"].items()})
    return float(entry["total"]), parts


def part_scores(result):
    return {p["id"]: p["score"] for q in result["questions"] for p in q["parts"]}


def parts_of(result):
    return {p["id"]: p for q in result["questions"] for p in q["parts"]}


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """Every sample of the manifest, assembled into a class folder (one folder per sample)."""
    root = tmp_path_factory.mktemp("a2") / "class"
    root.mkdir()
    for name in samples.names(SAMPLES):
        samples.assemble(SAMPLES, name, root / name)
    return root


@pytest.fixture(scope="module")
def checked(assembled, gradebook):
    """Every sample's result as `grader batch` stored it, and `grader check --format json` of the
    reference; `grader check` of two samples gives exactly what batch stored for them."""
    with Gradebook(gradebook, RUBRIC_DATA["assignment"]) as book:
        results = {row.student: row.result_dict() for row in book.rows()}
    jobs = {"<reference>": A2 / "reference", "correct": assembled / "correct",
            "layer_no_relu_mask": assembled / "layer_no_relu_mask"}
    with ThreadPoolExecutor(2) as pool:
        runs = dict(zip(jobs, pool.map(lambda folder: grader("check", str(folder), "--rubric", str(RUBRIC), "--format",
                                                             "json", *FAST), jobs.values())))
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr[-2000:])
        result = json.loads(run.stdout)
        if name in results:
            assert (result["score"], part_scores(result)) == (results[name]["score"], part_scores(results[name])), name
        results[name] = result
    return results


def test_the_samples_are_differences_of_correct_and_each_is_pinned():
    assert samples.problems(SAMPLES) == []
    assert set(samples.names(SAMPLES)) == set(MANIFEST)
    mistakes = [n for n in MANIFEST if n != "correct"]
    assert len(mistakes) >= 4
    for name in mistakes:
        assert samples.entry(SAMPLES, name)["base"] == "correct", name
        own = {p.name for p in (SAMPLES / name).iterdir() if p.is_file()}
        assert len(own) == 1, (name, own)          # only the file its mistake changes
        total, parts = pinned(name)
        right = MANIFEST[name]["mistake"].startswith("none")   # another right way of writing it
        assert total == pytest.approx(sum(parts.values())) and (total == FULL if right else total < FULL), name
    assert pinned("correct") == (FULL, FULL_PARTS) and FULL == 20


def test_check_gives_every_sample_its_pinned_score_and_the_reference_full_marks(checked):
    for name in MANIFEST:
        total, parts = pinned(name)
        assert checked[name]["score"] == total, (name, part_scores(checked[name]))
        assert part_scores(checked[name]) == parts, name
        assert checked[name]["max_score"] == FULL
    reference = checked["<reference>"]
    assert reference["score"] == FULL and part_scores(reference) == FULL_PARTS
    assert [q["id"] for q in reference["questions"]] == [q["id"] for q in RUBRIC_DATA["questions"]]


def test_a_named_mistake_comes_with_the_rubrics_hint(checked):
    _, layer = next((q, p) for q in RUBRIC_DATA["questions"] for p in q["parts"] if p["id"] == "layer_loss_and_grad")
    hints = layer["mistakes"]
    for name in MANIFEST:
        found = {m["id"]: m["hint"] for p in parts_of(checked[name]).values() for m in p.get("mistakes", [])}
        expected = MANIFEST[name]["mistake_ids"]
        assert sorted(found) == sorted(expected), name
        for ident in expected:
            assert found[ident] == hints[ident]
    assert sum(1 for n in MANIFEST if MANIFEST[n]["mistake_ids"]) >= 3
    # A named mistake's hint comes first among the part's hints.
    layer_part = parts_of(checked["layer_no_relu_mask"])["layer_loss_and_grad"]
    assert layer_part["hints"][0] == hints["layer_no_relu_mask"]


def test_the_written_part_right_is_correct_and_wrong_is_incorrect(checked):
    for name in MANIFEST:
        part = parts_of(checked[name])[WRITTEN_PART]
        assert part["verdict"] == MANIFEST[name]["verdict"], (name, part.get("checks"))
    wrong = parts_of(checked["writeup_sign_flipped"])[WRITTEN_PART]
    assert wrong["score"] == 0 and "sign is flipped" in wrong["checks"][0]["message"]
    assert parts_of(checked["<reference>"])[WRITTEN_PART]["verdict"] == "correct"


# ---------------------------------------------------------------- a class of A2, through the TA's commands

@pytest.fixture(scope="module")
def gradebook(assembled, tmp_path_factory):
    db = tmp_path_factory.mktemp("a2book") / "grades.db"
    run = grader("batch", str(assembled), "--rubric", str(RUBRIC), "--db", str(db), "--jobs", "2", "--quiet", *FAST,
                 timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return db


def test_batch_export_feedback_and_report_of_the_a2_class(gradebook, tmp_path):
    table = grader("export", "--db", str(gradebook), *BOOK)
    assert table.returncode == 0, table.stderr
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(table.stdout))}
    assert set(rows) == set(MANIFEST)
    for name, row in rows.items():
        total, parts = pinned(name)
        assert float(row["score"]) == total and float(row["max_score"]) == FULL, name
        for part, score in parts.items():
            assert float(row[part]) == score, (name, part)
        assert row[WRITTEN_PART + "_verdict"] == MANIFEST[name]["verdict"], name

    # What a student reads: the named mistake's hint, from the rubric, in their feedback file.
    hints = next(p for q in RUBRIC_DATA["questions"] for p in q["parts"] if p["id"] == "layer_loss_and_grad")["mistakes"]
    out = tmp_path / "feedback"
    run = grader("feedback", "--db", str(gradebook), *BOOK, "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert sorted(p.stem for p in out.glob("*.md")) == sorted(MANIFEST)
    for name in MANIFEST:
        text = " ".join((out / (name + ".md")).read_text(encoding="utf-8").split()).replace("\\", "")
        for ident, hint in hints.items():
            assert (" ".join(hint.split()) in text) == (ident in MANIFEST[name]["mistake_ids"]), (name, ident)

    page = tmp_path / "report.html"
    run = grader("report", "--db", str(gradebook), *BOOK, "--out", str(page))
    assert run.returncode == 0, run.stderr
    html = page.read_text(encoding="utf-8")
    for name in list(MANIFEST) + list(FULL_PARTS):
        assert name in html, name


def request(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": "127.0.0.1:%d" % port})
    response = conn.getresponse()
    return response.status, response.read().decode()


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_review_page_shows_the_a2_class(gradebook):
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "review", "--db", str(gradebook), *BOOK,
                             "--no-browser", "--by", "Ana"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line + proc.stderr.read()
        port = int(line.split()[2].rsplit(":", 1)[1].strip("/"))
        status, html = request(port, "/")
        assert status == 200
        queue = words(html)
        # Each named mistake of the layer is a group of its own, said by its id.
        for ident in MANIFEST["layer_no_relu_mask"]["mistake_ids"] + MANIFEST["layer_bias_not_summed"]["mistake_ids"]:
            assert "mistakes: %s" % ident in queue, queue[:3000]
        pages = []
        for gid in dict.fromkeys(re.findall(r'href="/group/([^"]+)"', html)):
            status, page = request(port, "/group/" + gid)
            assert status == 200
            pages.append(words(page))
        # Every part lost points somewhere or was written: each has its groups, under its title.
        titles = [p["title"] for q in RUBRIC_DATA["questions"] for p in q["parts"]]
        assert len(titles) == len(FULL_PARTS)
        for title in titles:
            assert title in queue, title
        wrong = [page for page in pages if "writeup_sign_flipped" in page]
        assert len(wrong) == 1 and "incorrect" in wrong[0] and "the sign is flipped" in wrong[0]
        assert "1 student" in wrong[0] and not [n for n in MANIFEST if n not in ("correct", "writeup_sign_flipped")
                                                and n in wrong[0]]     # the wrong write-up's group holds it alone
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- A1 and A2 in one gradebook

def _rows_of(db, assignment):
    with sqlite3.connect(str(db)) as conn:
        cur = conn.execute("SELECT * FROM grades WHERE assignment = ? ORDER BY student", (assignment,))
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _export(db, rubric_args):
    run = grader("export", "--db", str(db), "--format", "json", *rubric_args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.xfail(not KEYED, strict=True, reason="the gradebook is keyed by student alone: a second assignment's "
                   "class overwrites the first's rows (grader/gradebook.py keyed by (assignment, student) fixes it)")
@pytest.mark.parametrize("first", ["a1", "a2"])
def test_a1_and_a2_in_one_gradebook_never_touch_each_others_rows(first, assembled, tmp_path):
    # The same student ids in both classes: alice hands in both homeworks.
    a1, a2 = tmp_path / "a1", tmp_path / "a2"
    shutil.copytree(ROOT / "sample_submissions" / "correct", a1 / "alice")
    shutil.copytree(assembled / "layer_no_relu_mask", a2 / "alice")
    shutil.copytree(assembled / "correct", a2 / "bob")
    db = tmp_path / "both.db"
    batches = {"a1": ("batch", str(a1)), "a2": ("batch", str(a2), "--rubric", str(RUBRIC))}
    rubric_of = {"a1": (), "a2": ("--rubric", str(RUBRIC))}
    scores = {"a1": {"alice": 40.0}, "a2": {"alice": pinned("layer_no_relu_mask")[0], "bob": FULL}}
    second = "a2" if first == "a1" else "a1"

    run = grader(*batches[first], "--db", str(db), "--jobs", "2", "--quiet", *FAST, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows_before, export_before = _rows_of(db, first), _export(db, rubric_of[first])
    assert {r["student"]: r["score"] for r in rows_before} == scores[first]
    assert {r["student"]: r["score"] for r in export_before} == scores[first]

    run = grader(*batches[second], "--db", str(db), "--jobs", "2", "--quiet", *FAST, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert {r["student"]: r["score"] for r in _rows_of(db, second)} == scores[second]
    assert _rows_of(db, first) == rows_before            # not regraded, not overwritten: the same rows, byte for byte
    assert _export(db, rubric_of[first]) == export_before


# ---------------------------------------------------------------- the engine names none of A2

def a2_names():
    """What is Assignment 2's own, from its rubric: functions, modules and their files, part ids, the
    plug-in's kind, generator, finder and mistake ids. (Check ids such as handout_values are the
    course's common words, not A2's.)"""
    names = set()
    for question in RUBRIC_DATA["questions"]:
        for part in question["parts"]:
            names.add(part["id"])
            for found in part.get("find", []):
                module, _, function = found.rpartition(".")
                names |= {module, module + ".py", function}
            if part.get("diagnose"):
                names.add(part["diagnose"])
            names |= set(part.get("mistakes") or {})
            for check in part["checks"]:
                names.add(check["kind"])
                names |= {spec["gen"] for spec in check.get("cases") or [] if isinstance(spec, dict) and "gen" in spec}
    for function, module in RUBRIC_DATA["isolate"].items():
        names |= {function, (module["module"] if isinstance(module, dict) else module)}
    from grader.checks.base import REGISTRY
    from grader.rubric import load_rubric
    load_rubric(RUBRIC)      # every kind registered: the engine's, and the plug-in's
    engine_kinds = {k for k, v in REGISTRY.items() if v.fn.__module__.startswith("grader.")}
    return names - engine_kinds


# The engine's docstrings use a neutral example, `relu` and `relu_grad` in layers.py: these two may
# appear in its comments and docstrings (prose about no assignment), never in its code.
ENGINE_EXAMPLE = {"relu", "relu_grad"}


def code_text(source: str) -> str:
    """A Python file's text without its comments and docstrings (what runs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add((first.lineno, first.col_offset))
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start in docstrings):
            continue
        kept.append(tok.string)
    return " ".join(kept)


def named(text: str, names) -> set:
    return {n for n in names if re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(n), text)}


def engine_mentions(path: Path, text: str, names) -> set:
    """The A2 names a file of the engine mentions: any, anywhere; the engine's example only in code."""
    found = named(text, names - ENGINE_EXAMPLE)
    if path.suffix == ".py":
        found |= named(code_text(text), names & ENGINE_EXAMPLE)
    else:
        found |= named(text, names & ENGINE_EXAMPLE)
    return found


def test_the_scanner_finds_what_it_looks_for():
    names = {"relu", "layer_loss_and_grad", "relu_layer_gradient"}
    assert engine_mentions(Path("x.py"), 'def f():\n    """relu here is prose."""\n    return 1  # relu\n', names) == set()
    assert engine_mentions(Path("x.py"), 'KIND = "relu_layer_gradient"\n', names) == {"relu_layer_gradient"}
    assert engine_mentions(Path("x.py"), 'x = relu(y)\n', names) == {"relu"}
    assert engine_mentions(Path("x.py"), '# calls layer_loss_and_grad\n', names) == {"layer_loss_and_grad"}
    assert engine_mentions(Path("x.yaml"), 'find: [a.relu]\n', names) == {"relu"}
    assert named("my_relu relu2 relu_grad_x", names) == set()


def test_no_file_of_the_engine_nor_outside_the_fixture_names_a2():
    names = a2_names()
    assert {"relu", "relu_grad", "check_gradient", "layer_loss_and_grad", "a2_layer.py", "relu_layer_gradient",
            "relu_layer_case", "relu_layer_mistakes", "layer_no_relu_mask", WRITTEN_PART} <= names
    assert not (ROOT / "grader" / "assignments" / "a2").exists()
    in_engine = {}
    for path in sorted((ROOT / "grader").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            found = engine_mentions(path, path.read_text(encoding="utf-8", errors="ignore"), names)
            if found:
                in_engine[str(path.relative_to(ROOT))] = sorted(found)
    assert in_engine == {}

    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    mine = ("tests/fixtures/a2/", "tests/engine/test_second_assignment.py", "docs/", "README.md", "grader/")
    elsewhere = {}
    for rel in sorted(filter(None, listed)):
        path = ROOT / rel
        if rel.startswith(mine) or not path.is_file() or "__pycache__" in path.parts:
            continue
        found = named(path.read_text(encoding="utf-8", errors="ignore"), names)
        if found:
            elsewhere[rel] = sorted(found)
    assert elsewhere == {}


def test_a2s_kit_runs_and_carries_its_plugin_but_not_its_mistake_finder(assembled, tmp_path):
    """The kit carries the plug-in package beside its rubric, without the finder's module (its
    variants are the reference's maths), and grades a student's folder from any folder."""
    kit = tmp_path / "kit"
    run = grader("kit", "build", "--rubric", str(RUBRIC), "--out", str(kit), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (kit / "plugin" / "__init__.py").is_file() and not (kit / "plugin" / "mistakes.py").exists()
    assert yaml.safe_load((kit / "rubric.yaml").read_text())["plugin"] == "plugin/"
    for path in kit.rglob("*.py"):
        assert "def layer(" not in path.read_text(encoding="utf-8"), path   # the variants stay home
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for name, full in (("correct", True), ("layer_no_relu_mask", False)):
        run = subprocess.run([sys.executable, str(kit / "selfcheck.py"), str(assembled / name), "--format", "json"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
        assert run.returncode == 0, run.stderr[-2000:]
        result = json.loads(run.stdout)
        assert (result["score"] == result["max_score"]) == full, (name, result["score"])
        assert not any(p.get("mistakes") for p in parts_of(result).values())   # no finder in a kit


def test_a2s_gradescope_zip_carries_its_plugin_whole(tmp_path):
    out = tmp_path / "autograder.zip"
    run = grader("gradescope", "build", "--rubric", str(RUBRIC), "--out", str(out), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    import zipfile
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        rubric = yaml.safe_load(archive.read("rubric.yaml"))
    assert {"plugin/__init__.py", "plugin/mistakes.py", "rubric.yaml"} <= names   # diagnosis works there
    assert rubric["plugin"] == "plugin/" and not any(n.startswith("a1grader/rubrics/samples") for n in names)


def test_the_course_folder_and_its_plugin_are_hidden_from_student_code():
    from grader.rubric import load_rubric
    from grader.runner import answer_folders
    hidden = answer_folders(load_rubric(RUBRIC))
    assert A2.resolve() in hidden and (A2 / "reference").resolve() in hidden
    assert (ROOT / "rubrics").resolve() in answer_folders(load_rubric(ROOT / "rubrics" / "a1-full.yaml"))
