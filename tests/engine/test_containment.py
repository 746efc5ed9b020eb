"""Student code cannot reach past its own worker (issue 13; docs/security.md, "Around the sandbox").

The whole class of attacks is graded in one batch, through the real command, with
one grading process (``--jobs 1``) so every attacker is graded before the honest
students that share its zygote: every hostile sample, links out of the
submission, and a 4.5 MB Python 2 file. Then:

* every honest student gets exactly the score it gets when graded alone;
* nothing outside the sandbox changed: a root-owned canary folder keeps its
  owner, mode and content, and nothing was left in the shared temporary folders;
* no process of the batch is left, and the batch stayed within its budget.

Run in each isolation mode the machine has (CI: root with bubblewrap, so both).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader.rubric import load_rubric
from grader.runner import Grader
from grader.sandbox import isolation
from grader.sandbox.limits import Limits

from conftest import DEFAULT_RUBRIC, REFERENCE, ROOT, SAMPLES, live_processes, sample_dir, sandbox_leftovers

# Timing, limits and every sandbox uid's processes: run alone, not beside other tests (.ci/run).
pytestmark = pytest.mark.alone

HOSTILE = sample_dir("hostile")
NO_SHIFT = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())["softmax_no_shift"]["scores"]["softmax"]
HONEST = ("correct", "correct_two_file", "softmax_no_shift", "network_not_implemented", "legacy_python2")
TIMEOUT, BUDGET = 2.0, 20.0
CANARY = Path("/var/tmp/a1grader-canary")
TRACES = [Path(p) for p in ("/run/lock/a1_note", "/dev/shm/a1_note", "/var/tmp/a1_note", "/tmp/a1_note")]
PORT = 47124   # where find_traces and leave_traces knock (a loopback listener of this test)


def modes():
    """The modes that really run here: as root, uid always and bwrap where it works; as an
    ordinary user, bwrap (in a user namespace) where it works."""
    if os.geteuid() != 0:
        return ["bwrap"] if isolation.detect("bwrap") == "bwrap" else []
    return sorted({isolation.detect("bwrap"), "uid"})


def huge_python2(folder: Path) -> None:
    """The correct sample with a q2_gradcheck.py of 4.5 MB of Python 2."""
    shutil.copytree(sample_dir("correct"), folder)
    path = folder / "q2_gradcheck.py"
    lines = ['print "line %d of a very long sanity check"' % i for i in range(110_000)]
    path.write_text(path.read_text() + "\n" + "\n".join(lines) + "\n")
    assert path.stat().st_size > 4_500_000


def build_class(root: Path) -> dict:
    """The batch folder; returns {student: what it is} for the rows it should produce."""
    root.mkdir()
    # Sorted by student id, as the batch grades them: traces are left before they are looked for.
    shutil.copytree(HOSTILE / "leave_traces", root / "a00_leave_traces")
    for sample in sorted(p.name for p in HOSTILE.iterdir() if p.is_dir()):
        if sample not in ("leave_traces", "find_traces"):
            shutil.copytree(HOSTILE / sample, root / ("a10_" + sample))
    shutil.copytree(HOSTILE / "find_traces", root / "a50_find_traces")
    huge_python2(root / "a60_huge_python2")
    # Links out of the submission: to the reference, to a classmate, to /usr, and inside a folder.
    (root / "a70_link_reference").symlink_to(REFERENCE)
    (root / "a71_link_classmate").symlink_to(root / "z_correct")
    (root / "a72_link_usr").symlink_to("/usr")
    (root / "a73_inner_link").mkdir()
    (root / "a73_inner_link" / "assignment1").symlink_to(REFERENCE)
    (root / "a74_file_links").mkdir()
    for name in ("q1_softmax.py", "q2_sigmoid.py", "q2_gradcheck.py", "q2_neural.py"):
        (root / "a74_file_links" / name).symlink_to(REFERENCE / name)
    for sample in HONEST:
        shutil.copytree(sample_dir(sample), root / ("z_" + sample))
    return {p.name: p for p in root.iterdir()}


@pytest.fixture
def canary():
    """A root-owned folder no student may touch; (path, what it must stay)."""
    shutil.rmtree(CANARY, ignore_errors=True)
    CANARY.mkdir(mode=0o700)
    (CANARY / "content").write_text("untouched")
    yield CANARY
    shutil.rmtree(CANARY, ignore_errors=True)
    for stray in (CANARY.with_name(CANARY.name + ".taken"),):
        shutil.rmtree(stray, ignore_errors=True)


@pytest.fixture
def loopback():
    """A listener on the grading machine's loopback; the accepted connections, read at the end."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("127.0.0.1", PORT))
    except OSError:
        pytest.fail("port %d is taken on this machine: the loopback check cannot run" % PORT)
    server.listen(16)
    server.setblocking(False)

    def accepted():
        count = 0
        while True:
            try:
                server.accept()[0].close()
                count += 1
            except BlockingIOError:
                return count
    yield accepted
    server.close()


def alone(rubric, mode, sample):
    """The score a sample gets graded alone, by a fresh grader."""
    with Grader(rubric, timeout=TIMEOUT, limits=Limits(budget=BUDGET), mode=mode) as grader:
        return grader.grade(sample_dir(sample)).score


def leftover_processes():
    """Processes of any sandbox uid, on this machine (as root only the sandbox runs as those);
    as an ordinary user, those left in a sandbox's pid namespaces."""
    if os.geteuid() != 0:
        return sandbox_leftovers()
    return [int(pid) for pid, fields in live_processes()
            if int(fields.get("Uid", "0").split()[0]) in isolation.UID_RANGE]


@pytest.mark.parametrize("mode", modes())
def test_attackers_first_then_honest_students_get_exactly_their_scores(tmp_path, rubric, mode, canary, loopback):
    students = build_class(tmp_path / "class")
    db = tmp_path / "grades.db"
    before = (CANARY.stat().st_uid, stat.S_IMODE(CANARY.stat().st_mode), (CANARY / "content").read_text())
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(tmp_path / "class"), "--db", str(db),
                          # Two graders take the class in order: each meets attackers before any honest student.
                          "--jobs", "2", "--quiet", "--isolation", mode, "--timeout", str(TIMEOUT),
                          "--budget", str(BUDGET)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - start
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]

    with sqlite3.connect(str(db)) as conn:
        rows = {r[0]: r[1:] for r in conn.execute("SELECT student, score, status, error, result FROM grades")}
    assert set(rows) == set(students)

    # The honest students: exactly as graded alone.
    for sample in HONEST:
        score, status, error, _ = rows["z_" + sample]
        assert status == "graded", (sample, error)
        assert score == pytest.approx(alone(rubric, mode, sample), abs=1e-9), sample

    # Links are never followed: not into the reference, a classmate, or /usr.
    for student in ("a70_link_reference", "a71_link_classmate", "a72_link_usr"):
        score, status, error, _ = rows[student]
        assert status == "error" and score == 0 and "is a link: not followed" in error, (student, error)
    for student in ("a73_inner_link", "a74_file_links"):
        score, status, _, result = rows[student]
        assert status == "graded" and score == 0, (student, score)
        assert any("is a link: not followed" in note for note in json.loads(result)["notes"])

    # The 4.5 MB Python 2 file is ported in the sandbox, within the budget: it costs its own part only.
    score, status, _, result = rows["a60_huge_python2"]
    parts = {p["id"]: p for q in json.loads(result)["questions"] for p in q["parts"]}
    assert parts["gradcheck_naive"]["score"] == 0
    assert score == 36.0, {k: v["score"] for k, v in parts.items()}

    # The attackers: contained, graded on their own values (tests/engine/test_hostile.py has the details).
    assert rows["a50_find_traces"][0] == 40.0, json.loads(rows["a50_find_traces"][3])["questions"][0]
    # The class's folder is on the grader's command line: no mode lets a student find a classmate there.
    stolen = rows["a10_steal_classmate"]
    assert stolen[0] == 40 - 10 + NO_SHIFT, json.loads(stolen[3])["questions"][0]["parts"][0]["output"]
    assert all(rows[s][1] == "graded" for s in students if s.startswith("a") and "link" not in s)

    # Nothing outside the sandbox changed.
    after = (CANARY.stat().st_uid, stat.S_IMODE(CANARY.stat().st_mode), (CANARY / "content").read_text())
    assert after == before and sorted(os.listdir(CANARY)) == ["content"]
    assert [str(p) for p in TRACES if p.exists()] == []
    assert loopback() == 0, "a submission reached the grading machine's loopback"
    assert leftover_processes() == []
    # Within budget: each submission has its own; most use a fraction of it.
    assert elapsed < len(students) * BUDGET
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_find_traces_does_see_traces_where_nothing_contains_them(tmp_path, rubric):
    """The spy is not a stub: without the sandbox's private folders it finds a note and loses points."""
    note = Path("/var/tmp/a1_note")
    with Grader(rubric, timeout=TIMEOUT, limits=Limits(budget=BUDGET), mode="plain", unsafe=True) as grader:
        clean = grader.grade(HOSTILE / "find_traces").score
        note.write_bytes(b"left on the host")
        try:
            spied = grader.grade(HOSTILE / "find_traces").score
        finally:
            note.unlink()
    assert clean == 40 and spied < 40


@pytest.mark.parametrize("mode", modes())
def test_a_huge_python2_file_is_ported_within_the_budget_not_in_the_grader(tmp_path, rubric, mode):
    import resource
    folder = tmp_path / "huge"
    huge_python2(folder)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    with Grader(rubric, timeout=TIMEOUT, limits=Limits(budget=BUDGET), mode=mode,
                unsafe=mode == "plain") as grader:
        result = grader.grade(folder)
    elapsed = time.monotonic() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    assert elapsed < BUDGET + 10
    assert grown_mb < 150, "the grading process grew by %.0f MiB" % grown_mb
    gradcheck = next(p for p in result.parts() if p.id == "gradcheck_naive")
    assert gradcheck.score == 0 and any("preparing your files" in n for n in gradcheck.notes), gradcheck.notes


def without_sys_admin(*args):
    """The grader as it runs where the kernel gives no CAP_SYS_ADMIN (many containers, Gradescope's)."""
    cmd = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", sys.executable, "-m", "grader.cli"]
    return subprocess.run(cmd + list(args), cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_uid_mode_without_namespaces_is_refused_unless_asked_for(tmp_path):
    if os.geteuid() != 0:
        # An ordinary user never gets uid mode (it needs root), asked or not: the strongest mode it
        # may have grades instead. CI runs as root, where the rest of this test runs.
        run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "sample_submissions/correct", "--isolation",
                              "uid", "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["sandbox"] in ("plain", "bwrap-userns") and json.loads(run.stdout)["score"] == 40
        return
    assert shutil.which("setpriv"), "util-linux's setpriv is missing"
    run = without_sys_admin("check", "sample_submissions/correct", "--isolation", "uid", "--format", "json")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("grader: error: uid mode cannot contain student code here"), run.stderr
    # Asked for (a throwaway container): the uid drop alone, said in the result, and cleaned up after.
    root = tmp_path / "class"
    root.mkdir()
    # (Not fill_scratch: without a tmpfs of its own, a disk fill is bounded only per file and by time.)
    for sample in ("write_outside", "leave_traces"):
        shutil.copytree(HOSTILE / sample, root / ("a_" + sample))
    shutil.copytree(HOSTILE / "find_traces", root / "b_find_traces")
    shutil.copytree(sample_dir("correct"), root / "z_correct")
    db = tmp_path / "g.db"
    run = without_sys_admin("batch", str(root), "--db", str(db), "--jobs", "1", "--quiet", "--isolation", "uid",
                            "--i-know-it-is-unsafe", "--timeout", str(TIMEOUT), "--budget", str(BUDGET))
    assert run.returncode == 0, run.stderr[-2000:]
    with sqlite3.connect(str(db)) as conn:
        rows = {r[0]: (r[1], json.loads(r[2])) for r in conn.execute("SELECT student, score, result FROM grades")}
    lost = {s: _lost(result) for s, (score, result) in rows.items() if score != 40}
    assert {s: score for s, (score, _) in rows.items()} == {"a_leave_traces": 40, "a_write_outside": 40,
                                                            "b_find_traces": 40, "z_correct": 40}, lost
    assert {result["sandbox"] for _, result in rows.values()} == {"uid-uncontained"}
    left = [p for p in Path("/tmp").iterdir() if p.name.startswith(("a1_hostile", "a1_note"))]
    left += [p for p in TRACES if p.exists()]
    for path in left:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert left == [], "left in the shared /tmp: %s" % left
    assert leftover_processes() == []


def _lost(result: dict) -> list:
    """Each part of a stored result that was not graded, and each check that failed, with what it said."""
    lost = []
    for part in (p for question in result["questions"] for p in question["parts"]):
        if part["status"] != "graded":
            lost.append((part["id"], part["status"], part["notes"]))
        lost += [(part["id"], c["id"], c["message"], c.get("details")) for c in part["checks"] if not c["passed"]]
    return lost


def answer_files(rubric):
    """Every file that holds an answer: the reference, the grader's maths, each installed copy."""
    from grader.runner import answer_folders
    files = [p for folder in answer_folders(rubric) for p in folder.rglob("*.py")
             if "reference" in p.parts or p.name == "mistakes.py"]
    assert any(p.name == "mistakes.py" for p in files) and any("reference" in p.parts for p in files)
    return files


def reader_submission(folder: Path, paths) -> None:
    """The correct sample, whose softmax module prints every answer file it can read, at import."""
    shutil.copytree(sample_dir("correct"), folder)
    probe = ("PATHS = %r\nfor _p in PATHS:\n    try:\n        open(_p).read()\n        print('READABLE ' + _p)\n"
             "    except OSError:\n        pass\n" % [str(p) for p in paths])
    path = folder / "q1_softmax.py"
    path.write_text(probe + path.read_text())


@pytest.mark.parametrize("mode", modes() + ["plain"])
def test_no_answer_is_readable_by_student_code(tmp_path, rubric, mode):
    """In bwrap and uid modes no file holding an answer can be read; plain mode shows the probe works."""
    files = answer_files(rubric)
    reader_submission(tmp_path / "reader", files)
    with Grader(rubric, timeout=TIMEOUT, limits=Limits(budget=BUDGET), mode=mode, unsafe=True) as grader:
        result = grader.grade(tmp_path / "reader")
    output = next(p for p in result.parts() if p.id == "softmax").output
    readable = [line.split(" ", 1)[1] for line in output.splitlines() if line.startswith("READABLE ")]
    if mode == "plain":
        assert len(readable) == len(files)   # as root, without isolation, everything is readable
    else:
        assert readable == [], "%s mode: student code read %s" % (mode, readable[:3])
