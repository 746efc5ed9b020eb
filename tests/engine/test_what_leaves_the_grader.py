"""What leaves the grader (issue 25, items 9 to 11): the students' kit, and gradebooks merged from shards.

Each attack is built here and run through the real command: a kit built from the full
rubric searched for every answer of the written half; a submission that rewrites the kit
while the course's CI example grades it; shard gradebooks forged every way the issue
found, handed to ``grader merge``.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, sample_dir


def cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})


def one_line_error(run):
    """The command failed with exit code 2 and one line on stderr, never a traceback."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("grader: error: ", "selfcheck: error: ")), run.stderr
    return lines[0]


# ------------------------------------------------------------------------------------------- item 9


def written_answers(rubric):
    """Every answer the written half of ``rubric`` holds, as written there; its formulas also as the grader renders them."""
    from grader.written.render import render
    formulas, words = set(), set()

    def each(value):
        return [t for t in (value.values() if isinstance(value, dict) else [value]) if t]
    for _, part in rubric.parts():
        if part.written is None:
            continue
        for check in part.checks:
            options = dict(check.options)
            latex = each(options.get("expected")) + each(options.get("factor"))
            words.update(each(check.hint))
            for mistake in options.get("mistakes") or []:
                latex += each(mistake.get("result"))
                words.update(each(mistake.get("says")))
            formulas.update(latex)
            formulas.update(render(part.written.notation.parse(t)[-1]) for t in latex)
    return {t for t in formulas | words if len("".join(t.split())) >= 5}


def test_a_kit_from_the_full_rubric_holds_no_written_answer(tmp_path):
    """grader kit build --rubric a1-full: no expected result, mistake or hint of the written half anywhere in the kit."""
    from grader.rubric import load_rubric, named_rubric
    full = load_rubric(named_rubric("a1-full"))
    answers = written_answers(full)
    # The probe finds what it looks for: 2c's backprop formula, in both layouts, and the rubric holds them all.
    assert "((\\hat{y} - y) W_2^T \\circ h \\circ (1 - h)) W_1^T" in answers
    assert "W_1^T (W_2^T (\\hat{y} - y) \\circ h \\circ (1 - h))" in answers
    assert any("W₂ᵀ" in a for a in answers), "the rendered forms are searched too"
    source = full.path.read_text(encoding="utf-8")
    assert sum(a in source for a in answers) >= 30 and len(answers) > 40
    run = cli("kit", "build", "--rubric", "a1-full", "--out", str(tmp_path / "kit"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    kit = tmp_path / "kit"
    files = [p for p in kit.rglob("*") if p.is_file()]
    assert len(files) > 50
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        flat = "".join(text.split())
        leaked = [a for a in answers if a in text or "".join(a.split()) in flat]
        assert not leaked, "%s holds the written answer %r" % (path.relative_to(kit), leaked[0])
    rubric = yaml.safe_load((kit / "rubric.yaml").read_text())
    parts = [p for q in rubric["questions"] for p in q["parts"]]
    assert {p["id"] for p in parts} == {p.id for _, p in full.parts()}
    written = [p for p in parts if "written" in p]
    # a written part keeps how it is read (the handout's label, cues and formulas) and one check worth nothing
    assert {p["id"] for p in written} == {p.id for p in full.written_parts()}
    assert all(set(p["written"]) <= {"label", "cues", "conventions", "given"} and
               p["checks"] == [{"id": "read", "kind": "written_read", "points": 0}] and "hints" not in p for p in written)
    readme = (kit / "README.md").read_text()
    assert "1a, 2a, 2b, 2c and 2d: 19 points" in readme and "advice, not your grade" in readme
    # The code half still checks: the correct sample has every public point of the kit.
    run = subprocess.run([sys.executable, str(kit / "selfcheck.py"), str(sample_dir("correct")), "--format", "json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    visible = sum(c.points for _, p in full.parts() if p.written is None for c in p.checks if c.visibility == "visible")
    assert data["score"] == visible == 19.5 == data["max_score"]      # what the kit can see


# ------------------------------------------------------------------------------------------ item 10

ATTACK = r'''
import os

WORKSPACE = %(workspace)r   # only kits under this test's own folder: other tests run beside it

RIG = """

_rigged = score_submission


def score_submission(*args, **kwargs):   # appended by a submission: every check passed
    result = _rigged(*args, **kwargs)
    for question in result.questions:
        for part in question.parts:
            for check in part.checks:
                check.score, check.passed = check.max_score, True
            part.score = part.max_score
        question.score = question.max_score
    result.score = result.max_score
    return result
"""


def kits():
    """The kits of the graders running now, found as a student's code finds them: through /proc."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%%s/cmdline" %% pid, "rb") as handle:
                args = handle.read().decode("utf-8", "replace").split("\0")
            cwd = os.readlink("/proc/%%s/cwd" %% pid)
        except OSError:
            continue
        for place in [cwd] + [os.path.join(cwd, os.path.dirname(a)) for a in args if a]:
            place = os.path.realpath(place)
            if place.startswith(WORKSPACE) and os.path.isfile(os.path.join(place, "grader", "scoring.py")):
                found.add(place)
    return found


for kit in kits():
    try:
        with open(os.path.join(kit, "grader", "scoring.py"), "a") as handle:
            handle.write(RIG)
    except OSError:
        pass


def softmax(x):
    return x
'''


def junit_score(path):
    suites = ET.parse(path).getroot()
    cases = suites.findall(".//testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    return len(cases), len(failed)


def test_code_that_rewrites_the_kit_does_not_change_the_next_run(tmp_path, kit):
    """The CI example's step, in plain mode (a runner without user namespaces): the student's code rewrites the kit."""
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    steps = [s["run"] for s in workflow["jobs"]["selfcheck"]["steps"] if "selfcheck.py" in s.get("run", "")]
    assert len(steps) == 1   # the only step that runs the student's code
    # A hosted runner without user namespaces grades in plain mode, as the runner's own user.
    plain = " --isolation plain" + (" --i-know-it-is-unsafe" if os.geteuid() == 0 else "")

    def push(name):
        """A repository as pushed: the attacker's code and the kit, committed; a fresh runner's workspace."""
        workspace = tmp_path / name
        workspace.mkdir()
        (workspace / "q1_softmax.py").write_text(ATTACK % {"workspace": str(tmp_path)})
        shutil.copytree(kit, workspace / workflow["env"]["KIT"], ignore=shutil.ignore_patterns("__pycache__"))
        return workspace

    def step(workspace):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(workflow["env"], GITHUB_WORKSPACE=str(workspace), GITHUB_STEP_SUMMARY=str(workspace / "summary.md"))
        return subprocess.run(["bash", "-c", steps[0] + plain], cwd=workspace, env=env, capture_output=True,
                              text=True, timeout=300)

    workspace = push("repo")
    scoring = workspace / workflow["env"]["KIT"] / "grader" / "scoring.py"
    pristine = scoring.read_text()
    first = step(workspace)
    assert first.returncode == 1, first.stderr          # below --min-score 26
    honest = (workspace / "summary.md").read_text()
    assert "**Score: 0/40**" in honest
    report = workspace / "reports" / "a1-selfcheck.xml"
    cases, failed = junit_score(report)
    assert failed == cases
    # The attack happened: the kit's scoring.py now passes every check, and grading from the kit's folder
    # (as the CI example used to: cd "$KIT" && python -m grader.cli check) believes it.
    assert scoring.read_text() != pristine and "_rigged" in scoring.read_text()
    rigged = cli("check", str(workspace), "--rubric", "rubric.yaml", "--format", "json",
                 cwd=workspace / workflow["env"]["KIT"])
    assert json.loads(rigged.stdout)["score"] == 40
    # The next run in the same workspace (the example's old second and third steps; a student's next run):
    # the changed kit is refused, it never says 40/40.
    again = step(workspace)
    line = one_line_error(again)
    assert "this kit has changed since it was built (grader/scoring.py)" in line and "get a fresh copy" in line
    assert (workspace / "summary.md").read_text() == honest and junit_score(report) == (cases, failed)
    # The next push: a new job, a fresh runner, the kit as committed: the same honest 0/40.
    fresh = push("next-push")
    rerun = step(fresh)
    assert rerun.returncode == 1, rerun.stderr
    assert (fresh / "summary.md").read_text().replace(str(fresh), str(workspace)) == honest


# ------------------------------------------------------------------------------------------ item 11

GRADES = "SELECT student, content_hash, rubric_hash, grader_version, score, max_score, status, error, result, " \
         "seconds, graded_at FROM grades ORDER BY student"


def table(db, query=GRADES):
    with sqlite3.connect(str(db)) as conn:
        return conn.execute(query).fetchall()


def scores(db):
    return {row[0]: row[4] for row in table(db)}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """A class graded in two shards by grader batch, and merged back: bob (40) in shard 1/2, mallory in 2/2."""
    from grader.discover import shard_of
    tmp = tmp_path_factory.mktemp("merge")
    root = tmp / "class"
    students = {"alice": "softmax_no_shift", "bob": "correct", "carol": "correct", "mallory": "network_constant"}
    assert [shard_of(s, 2) for s in students] == [1, 1, 2, 2]
    for student, sample in students.items():
        shutil.copytree(sample_dir(sample), root / student)
    for k in (1, 2):
        run = cli("batch", str(root), "--db", str(tmp / ("s%d.db" % k)), "--shard", "%d/2" % k, "--quiet")
        assert run.returncode == 0, run.stderr
    run = cli("merge", str(tmp / "s1.db"), str(tmp / "s2.db"), "--into", str(tmp / "grades.db"))
    assert run.returncode == 0, run.stderr
    assert "s1.db: shard 1/2, 2 rows merged, 0 refused" in run.stdout
    got = scores(tmp / "grades.db")
    assert got["bob"] == 40 and got["mallory"] < 40 and set(got) == set(students)
    return tmp


def forged(shards, name, *statements, like="s2.db"):
    """A copy of mallory's shard gradebook, changed by hand with SQL, as its machine's owner could."""
    path = shards / name
    shutil.copy(shards / like, path)
    with sqlite3.connect(str(path)) as conn:
        for statement in statements:
            conn.execute(statement)
    return path


def merge_into_grades(shards, *sources, into="grades.db", timeout=120):
    """grader merge SOURCES --into grades.db; the honest gradebook must come out exactly as it went in."""
    before = table(shards / into), table(shards / into, "SELECT * FROM overrides ORDER BY student, part")
    run = cli("merge", *[str(s) for s in sources], "--into", str(shards / into), timeout=timeout)
    assert "Traceback" not in run.stderr
    assert (table(shards / into), table(shards / into, "SELECT * FROM overrides ORDER BY student, part")) == before
    return run


def refused(run):
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("grader: error: merge refused %d " % (len(lines) - 1)), lines
    return dict(line.split(": ", 4)[3:] for line in lines[:-1])


ROW_AS = ("INSERT INTO grades SELECT assignment, '{student}', content_hash, rubric_hash, grader_version, {score}, "
          "max_score, status, error, result, seconds, {when} FROM grades WHERE student = 'mallory'")
NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def test_merge_refuses_rows_dated_in_the_future_and_other_shards_students(shards):
    """The issue's shard: rows dated 9999 made bob 40 -> 3 and the attacker 0 -> 40. Both are refused, bob keeps 40."""
    evil = forged(shards, "dated.db", ROW_AS.format(student="bob", score=3, when="'9999-12-31T23:59:59Z'"),
                  "UPDATE grades SET score = 40, graded_at = '9999-12-31T23:59:59Z' WHERE student = 'mallory'")
    why = refused(merge_into_grades(shards, evil))
    assert set(why) == {"bob", "mallory"}
    assert why["bob"].startswith("not a student of shard 2/2")
    assert why["mallory"].startswith("dated 9999-12-31T23:59:59Z, ahead of this machine's clock")
    # Dated now, bob's row (a result that adds up) is still no row of this shard's.
    evil = forged(shards, "now.db", ROW_AS.format(student="bob", score="score", when=NOW))
    assert refused(merge_into_grades(shards, evil)) == {"bob": "not a student of shard 2/2, the gradebook's own"}
    assert scores(shards / "grades.db")["bob"] == 40


def test_merge_refuses_a_score_its_result_does_not_add_up_to(shards):
    """mallory at 40 with her own result tree, or with a tree whose checks all say full marks but whose sums do not."""
    evil = forged(shards, "score.db", "UPDATE grades SET score = 40, graded_at = %s WHERE student = 'mallory'" % NOW)
    why = refused(merge_into_grades(shards, evil))
    assert list(why) == ["mallory"] and why["mallory"].startswith("its score 40 is not its result's")
    with sqlite3.connect(str(shards / "s2.db")) as conn:
        tree = json.loads(conn.execute("SELECT result FROM grades WHERE student = 'mallory'").fetchone()[0])
    tree["score"] = 40
    for part in (p for q in tree["questions"] for p in q["parts"]):
        for check in part["checks"]:
            check["score"] = check["max_score"] + 1
    evil = forged(shards, "tree.db", "UPDATE grades SET score = 40, graded_at = %s, result = %s WHERE student = "
                  "'mallory'" % (NOW, "'" + json.dumps(tree).replace("'", "''") + "'"))
    why = refused(merge_into_grades(shards, evil))
    assert list(why) == ["mallory"] and "scores" in why["mallory"], why
    # Graded with another rubric: every row refused, said so.
    why = refused(cli("merge", str(shards / "s2.db"), "--into", str(shards / "full.db"), "--rubric", "a1-full"))
    assert set(why) == {"carol", "mallory"} and all(w.startswith("graded with another rubric") for w in why.values())


def test_merge_refuses_a_gradebook_that_claims_anothers_shard(shards):
    """The shard's own students: by its own record, and never a claim another gradebook of the merge makes too."""
    bob = ROW_AS.format(student="bob", score=3, when=NOW)
    whole = forged(shards, "whole.db", bob, "DELETE FROM shards")     # no record: it would be the whole class
    line = one_line_error(merge_into_grades(shards, whole))
    assert "holds the whole class" in line and "merge it into a new gradebook" in line
    claims = forged(shards, "claims.db", bob, "UPDATE shards SET k = 1")   # says it is shard 1/2, bob's
    line = one_line_error(merge_into_grades(shards, shards / "s1.db", claims))
    assert "both say they hold shard 1/2" in line
    line = one_line_error(merge_into_grades(shards, shards / "s1.db", whole))
    assert "holds the whole class" in line


def test_merge_refuses_decisions_it_cannot_verify(shards):
    """A TA's decision travels with the grades, but not one for another shard's student, from the future, or over the points."""
    insert = ("INSERT INTO overrides (assignment, student, part, points, verdict, comment, by, at, fingerprint, "
              "version) VALUES ('a1', '{student}', 'softmax', {points}, NULL, 'ok', 'ta', {at}, '', 1)")
    evil = forged(shards, "decisions.db", insert.format(student="bob", points=0, at=NOW),
                  insert.format(student="mallory", points=99, at=NOW),
                  insert.format(student="carol", points=1, at="'9999-01-01T00:00:00Z'"))
    why = refused(merge_into_grades(shards, evil))
    assert set(why) == {"bob", "mallory", "carol"}
    assert why["bob"].startswith("not a student of shard 2/2") and "on a part worth" in why["mallory"]
    assert "ahead of this machine's clock" in why["carol"]


def test_merge_refuses_what_is_not_a_gradebook_in_one_line(shards):
    """A recursive view (it hung the merge), a wrong schema (a traceback, exit 1), a file that is no database."""
    view = shards / "view.db"
    with sqlite3.connect(str(view)) as conn:
        conn.execute("CREATE VIEW grades AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                     "SELECT 'bob' || i AS student, '' AS content_hash, '' AS rubric_hash, '' AS grader_version, "
                     "40.0 AS score, 40.0 AS max_score, 'graded' AS status, NULL AS error, NULL AS result, "
                     "0.0 AS seconds, '9999-12-31T23:59:59Z' AS graded_at FROM n")
    start = time.monotonic()
    line = one_line_error(merge_into_grades(shards, view, timeout=60))
    assert "view.db is not a gradebook: it holds a view named grades" in line and time.monotonic() - start < 30
    schema = shards / "schema.db"
    with sqlite3.connect(str(schema)) as conn:
        conn.execute("CREATE TABLE grades (student TEXT PRIMARY KEY, score REAL)")
        conn.execute("INSERT INTO grades VALUES ('bob', 3)")
    line = one_line_error(merge_into_grades(shards, schema))
    assert "schema.db is not a gradebook: its grades table's columns are not a gradebook's" in line
    trigger = forged(shards, "trigger.db", "CREATE TRIGGER t AFTER INSERT ON grades BEGIN DELETE FROM grades; END")
    assert "holds a trigger named t" in one_line_error(merge_into_grades(shards, trigger))
    junk = shards / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert "junk.db is not a gradebook" in one_line_error(merge_into_grades(shards, junk))
    assert "gradebook not found" in one_line_error(merge_into_grades(shards, shards / "missing.db"))


def test_merge_never_writes_into_another_programs_database(shards):
    """--into a link to another application's database (it got the gradebook's tables), or that database itself."""
    other = shards / "places.sqlite"
    with sqlite3.connect(str(other)) as conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org/')")
    before = other.read_bytes()
    link = shards / "merged.db"
    link.symlink_to(other)
    line = one_line_error(cli("merge", str(shards / "s1.db"), "--into", str(link)))
    assert "merged.db is a link" in line
    line = one_line_error(cli("merge", str(shards / "s1.db"), "--into", str(other)))
    assert "places.sqlite is not a gradebook: it holds a table named moz_places" in line
    assert other.read_bytes() == before and not Path(str(other) + "-wal").exists()
    assert table(other, "SELECT name FROM sqlite_master") == [("moz_places",)]


def test_a_kit_says_how_each_written_part_was_read_and_decides_nothing(tmp_path):
    """The kit's self-check of the write-up: found or not, read as what, or why not; no verdict, no points."""
    run = cli("kit", "build", "--rubric", "a1-full", "--out", str(tmp_path / "kit"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    student = tmp_path / "student"
    shutil.copytree(sample_dir("correct"), student)
    # right 1a-2b, a wrong 2c (no W1ᵀ), 2d only a picture
    (student / "answers.md").write_text(
        "## 1a\n$$softmax(x + c)_i = \\frac{e^{c} e^{x_i}}{e^{c} \\sum_j e^{x_j}} = softmax(x)_i$$\n"
        "## 2a\n$$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$$\n## 2b\n$$\\frac{\\partial CE}{\\partial \\theta} = \\hat{y} - y$$\n"
        "## 2c\n$$\\frac{\\partial J}{\\partial x} = (\\hat{y} - y) W_2^T \\circ h \\circ (1 - h)$$\n"
        "## 2d\n![my count](count.png)\n")
    run = subprocess.run([sys.executable, str(tmp_path / "kit" / "selfcheck.py"), str(student), "--format", "json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    parts = {p["id"]: p for q in json.loads(run.stdout)["questions"] for p in q["parts"]}
    assert parts["input_gradient_derivation"]["verdict"] == "read"       # wrong, but a kit does not know it
    assert "W₂ᵀ ∘ h ∘ (1 − h)" in parts["input_gradient_derivation"]["written"]["result"]
    assert parts["sigmoid_derivative"]["verdict"] == "read" and parts["parameter_count"]["verdict"] == "needs_review"
    assert "image" in parts["parameter_count"]["written"]["reason"]
    assert all(parts[p]["score"] == 0 == parts[p]["max_score"] for p in ("softmax_shift_proof", "input_gradient_derivation"))
    text = subprocess.run([sys.executable, str(tmp_path / "kit" / "selfcheck.py"), str(student)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300).stdout
    assert "your answer, as read: ∂J/∂x" in text
    rows = [line for line in text.splitlines() if "(1a)" in line or "(2c)" in line]
    assert rows and all("read: graded after you" in line and "correct" not in line for line in rows[:2]), rows
