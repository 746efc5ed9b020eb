"""Upload names never become paths (issue 25): each attack through the real command, honest classmates graded exactly.

A file, folder or archive name from a submission or an LMS never names a folder the grader writes to:
the grader makes and names every folder it copies or unpacks uploads into, and creates each file
only inside it (resolved), O_CREAT | O_EXCL | O_NOFOLLOW.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, SAMPLES, sample_dir

WRITTEN = SAMPLES / "written" / "md_hat_circ_correct" / "writeup.md"     # every written part correct: 19 points


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, COLUMNS="200", **(env or {})))


def upload(root: Path, prefix: str, sample: str) -> None:
    """A sample's code as Canvas names each file of one student: <name>_<id>_<submission>_<file>."""
    for path in sorted(sample_dir(sample).glob("*.py")):
        shutil.copy(path, root / (prefix + path.name))


def make_zip(target: Path, entries) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for name, source in entries:
            archive.writestr(name, Path(source).read_bytes())
    return target


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` (links not followed): its kind, mode, owner and content or target."""
    out = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                what = ("file", Path(path).read_bytes())
            else:
                what = ("dir",)
            out[os.path.relpath(path, folder)] = (what, stat.S_IMODE(st.st_mode), st.st_uid, st.st_mtime_ns)
    return out


def graded(db: Path) -> dict:
    return {r["student"]: r for r in json.loads(run("export", "--db", str(db), "--format", "json").stdout)}


def test_a_canvas_zip_named_dotdot_cannot_touch_a_classmates_files(tmp_path):
    """``Path("...zip").stem`` is ``..``: the batch's cache, every student's folder, was the zip's target.

    aaron (graded first) plants a wrong ``q2_sigmoid.py`` beside carol's two files (a module the
    rubric looks in before ``q2_neural``) and a correct write-up in his friend dave's folder
    (21 -> 40); zed (graded last) overwrites bob's softmax (21 -> 19.08); mallory uploads a file
    named ``..`` (its copy used to stop the whole batch). Each classmate keeps exactly the score
    of their own work.
    """
    root = tmp_path / "download"
    root.mkdir()
    upload(root, "bob_1002_5002_", "correct")
    upload(root, "carol_1003_5003_", "correct_two_file")
    upload(root, "dave_1004_5004_", "correct")                     # code only: 21 of a1-full's 40
    broken = sample_dir("softmax_no_shift") / "q1_softmax.py"
    planted = [("carol_1003/q2_sigmoid.py", sample_dir("sigmoid_grad_from_x") / "q2_sigmoid.py"),
               ("dave_1004/writeup.md", WRITTEN)]
    make_zip(root / "aaron_1000_5000_...zip", planted)
    make_zip(root / "zed_1009_5009_...zip", [("bob_1002/q1_softmax.py", broken)])
    shutil.copy(broken, root / "mallory_1007_5007_..")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before = snapshot(root)

    db = tmp_path / "g.db"
    batch = run("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--jobs", "1", "--quiet",
                env={"TMPDIR": str(tmp)})
    assert batch.returncode == 0, batch.stderr[-2000:]
    rows = graded(db)
    assert set(rows) == {"aaron_1000", "bob_1002", "carol_1003", "dave_1004", "mallory_1007", "zed_1009"}
    # The classmates: exactly their own work (full code, no write-up), whatever was planted.
    for student in ("bob_1002", "carol_1003", "dave_1004"):
        assert rows[student]["status"] == "graded" and rows[student]["score"] == 21.0, (student, rows[student])
    # The attackers gain nothing: each is graded on its own upload, unpacked into a folder the grader named.
    for student, entries in (("aaron_1000", planted), ("zed_1009", [("bob_1002/q1_softmax.py", broken)])):
        own = run("check", str(make_zip(tmp_path / (student + ".zip"), entries)), "--rubric", "a1-full",
                  "--format", "json")
        assert rows[student]["score"] == json.loads(own.stdout)["score"] < 40, student
    assert rows["mallory_1007"]["status"] == "error" and "'..' is not a file name" in rows["mallory_1007"]["error"]
    feedback = tmp_path / "fb"
    assert run("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert "...zip was unpacked into zip-1/" in (feedback / "aaron_1000.md").read_text()
    # Nothing outside the grader's own folders was written: the download is as it was, the batch's cache is gone.
    assert snapshot(root) == before
    assert [p.name for p in tmp.iterdir() if not p.name.startswith("a1grader-")] == []
    assert not any(tmp.rglob("*_100*"))


def test_a_zip_named_dotdot_checked_as_root_writes_nothing_through_a_link(tmp_path):
    """``grader check ...zip`` used to unpack into $TMPDIR itself and follow the links found there.

    $TMPDIR holds links to a root-only file and to a folder outside the grader's; the zip's
    entries have the links' names. The secret, its folder and a canary beside it are untouched,
    and the zip is graded from a folder the grader made.
    """
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o700)
    secret = outside / "secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)
    (outside / "canary").write_text("untouched\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    os.symlink(secret, tmp / "q1_softmax.py")
    os.symlink(outside, tmp / "hw")
    entries = [(p.name, p) for p in sorted(sample_dir("correct").glob("*.py"))]
    entries += [("hw/canary", WRITTEN), ("hw/notes.md", WRITTEN)]
    zipped = make_zip(tmp_path / "...zip", entries)
    before, links = snapshot(outside), snapshot(tmp)

    check = run("check", str(zipped), "--format", "json", env={"TMPDIR": str(tmp)})
    assert check.returncode == 0, check.stderr[-2000:]
    assert json.loads(check.stdout)["score"] == 40.0
    assert snapshot(outside) == before
    assert secret.read_text() == "root only\n" and (outside / "canary").read_text() == "untouched\n"
    assert {k: v for k, v in snapshot(tmp).items() if not k.startswith("a1grader-")} == links


def test_a_folder_whose_name_is_not_utf8_is_a_row_and_the_others_are_graded(tmp_path):
    """``unzip`` of a cp437 archive makes names that are not UTF-8: the batch used to stop before anyone was graded."""
    root = tmp_path / "download"
    root.mkdir()
    shutil.copytree(sample_dir("correct"), root / "alice")
    folder = os.path.join(os.fsencode(root), b"jos\x82_1005")
    shutil.copytree(sample_dir("correct"), os.fsdecode(folder))
    with open(os.path.join(folder, b"r\x82sum\x82.txt"), "wb") as handle:    # a file of the same archive
        handle.write(b"notes\n")
    with open(os.path.join(os.fsencode(root), b"g\x82rard_1006_5006_q1_softmax.py"), "wb") as handle:
        handle.write((sample_dir("correct") / "q1_softmax.py").read_bytes())
    make_zip(Path(os.fsdecode(os.path.join(os.fsencode(root), b"m\x81ller.zip"))),
             [(p.name, p) for p in sorted(sample_dir("softmax_no_shift").glob("*.py"))])

    db = tmp_path / "g.db"
    batch = run("batch", str(root), "--db", str(db), "--jobs", "1", "--quiet")
    assert batch.returncode == 0, batch.stderr[-2000:]
    rows = graded(db)
    assert set(rows) == {"alice", "jos\\x82_1005", "g\\x82rard_1006", "m\\x81ller"}
    assert rows["alice"]["score"] == rows["jos\\x82_1005"]["score"] == 40.0
    assert rows["g\\x82rard_1006"]["status"] == "graded" and rows["g\\x82rard_1006"]["parts"]["softmax"] == 10.0
    assert rows["m\\x81ller"]["parts"]["softmax"] < 10
    table = run("export", "--db", str(db)).stdout
    assert "jos\\x82_1005,40," in table
    feedback = tmp_path / "fb"
    assert run("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert (feedback / "jos\\x82_1005.md").is_file()
