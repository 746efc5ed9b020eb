"""One discovery for every entry point: every upload shape scores the same through check, batch, Gradescope and the kit."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, sample_dir
from test_cli import grader

CODE = sorted(p.name for p in sample_dir("correct").glob("*.py"))


def _shapes(base: Path) -> dict:
    """The shapes TAs meet, each holding the correct sample's code."""
    correct = sample_dir("correct")
    shapes = {}

    def folder(name: str, sub: str = "") -> Path:
        target = base / name / sub
        shutil.copytree(correct, target)
        shapes[name] = base / name
        return target

    folder("flat")
    folder("inner", "assignment1")
    folder("deeper", "hw/a1/code")
    sibling = folder("sibling", "code")
    (sibling.parent / "written").mkdir()
    (sibling.parent / "written" / "answers.md").write_text("## 2d\n$$(D_x + 1)H + (H + 1)D_y$$\n")
    renamed = folder("renamed")
    (renamed / "q2_neural.py").rename(renamed / "q2_neural (1).py")
    (renamed / "q1_softmax.py").rename(renamed / "Copy of q1_softmax.py")
    two = folder("two_copies")
    (two / "q2_neural-1.py").write_text("def forward_backward_prop(:\n")     # an older, broken copy
    mac = folder("macos", "assignment1")
    (mac.parent / "__MACOSX" / "assignment1").mkdir(parents=True)
    (mac.parent / "__MACOSX" / "assignment1" / "._q1_softmax.py").write_bytes(b"\x00\x05\x16\x07junk")
    (mac / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    extra = folder("extra_files")
    (extra / "README.md").write_text("run python q2_neural.py\n")
    (extra / "data.csv").write_text("1,2\n")
    (extra / "old").mkdir()
    (extra / "old" / "q1_softmax.py").write_text("def softmax(x):\n    return x\n")   # one old file: not graded
    zipped = base / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for path in sorted((base / "inner").rglob("*")):
            archive.write(path, path.relative_to(base / "inner"))
    shapes["zipped"] = zipped
    return shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return _shapes(tmp_path_factory.mktemp("shapes"))


def check_score(path: Path) -> float:
    run = grader("check", str(path), "--format", "json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)["score"]


def test_every_shape_through_every_entry_point(shapes, tmp_path, kit):
    # grader check, as a student or CI runs it (a zip too)
    scores = {name: check_score(path) for name, path in shapes.items()}
    assert set(scores.values()) == {40.0}, scores
    # grader batch, as a TA grades a class (a zip unpacked under the student's id)
    root = tmp_path / "class"
    root.mkdir()
    for name, path in shapes.items():
        (shutil.copy if path.is_file() else shutil.copytree)(path, root / path.name)
    db = tmp_path / "g.db"
    assert grader("batch", str(root), "--db", str(db), "--quiet").returncode == 0
    rows = json.loads(grader("export", "--db", str(db), "--format", "json").stdout)
    assert {r["student"]: r["score"] for r in rows} == {name: 40.0 for name in shapes}
    # Gradescope: test_the_gradescope_sequence_setup_then_every_upload_shape, below
    # the student's kit
    kit_scores = set()
    for name, path in shapes.items():
        run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(path), "--rubric", "rubric.yaml",
                              "--format", "json"], cwd=kit, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        kit_scores.add(json.loads(run.stdout)["score"])
    assert len(kit_scores) == 1, kit_scores


def test_the_choices_made_are_said(shapes):
    notes = {}
    for name in ("inner", "sibling", "renamed", "two_copies", "extra_files"):
        run = grader("check", str(shapes[name]), "--format", "json")
        notes[name] = " | ".join(json.loads(run.stdout)["notes"])
    assert "graded from assignment1/" in notes["inner"]
    assert "graded from code/" in notes["sibling"]
    assert "q2_neural (1).py was graded as q2_neural.py" in notes["renamed"]
    assert "Copy of q1_softmax.py was graded as q1_softmax.py" in notes["renamed"]
    assert "q2_neural-1.py is a copy of q2_neural.py's name: q2_neural.py was graded" in notes["two_copies"]
    assert "old/ also holds expected files (q1_softmax.py): not graded" in notes["extra_files"]


def test_the_gradescope_zip_installs_from_an_installed_grader(tmp_path):
    """Built by a pip-installed grader (no source checkout), the zip still carries an installable package."""
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--target", str(site), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "autograder.zip"
    run = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); from grader.cli import main; main()"
                          % str(site), "gradescope", "build", "--out", str(out)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    unpacked = tmp_path / "source"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
    pyproject = (unpacked / "a1grader" / "pyproject.toml").read_text()
    from grader import __version__
    assert 'version = "%s"' % __version__ in pyproject and "sympy" in pyproject
    target = tmp_path / "installed"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--target", str(target), str(unpacked / "a1grader")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (target / "grader" / "assets" / "rubrics" / "a1.yaml").is_file()
    assert (target / "grader" / "written" / "latex.py").is_file()


def test_the_gradescope_sequence_setup_then_every_upload_shape(shapes, tmp_path):
    """As Gradescope runs it: unpack into a fresh root, setup.sh as root, then run_autograder per upload."""
    import os
    from test_course_tools import validate_results
    bundle = tmp_path / "autograder.zip"
    assert grader("gradescope", "build", "--out", str(bundle)).returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():          # zip keeps the scripts' modes; extractall does not
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
    env = dict(os.environ, A1GRADER_AUTOGRADER_ROOT=str(root))
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                           timeout=900)
    assert setup.returncode == 0, setup.stderr[-3000:]
    # Nothing that holds reference code, the rubric or recorded answers is readable by the sandbox's uid.
    uid = 61000
    secrets = [p for p in (root / "source").rglob("*") if p.is_file()]
    site = subprocess.run([str(root / "venv" / "bin" / "python"), "-c",
                           "import grader, os; print(os.path.dirname(grader.__file__))"],
                          capture_output=True, text=True).stdout.strip()
    secrets += [p for p in Path(site).rglob("*.py") if "reference" in str(p) or p.name == "a1.yaml"]
    assert any("reference" in str(p) for p in secrets)
    probe = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", sys.executable, "-c",
                            "import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p).read(1)\n"
                            "        print('READABLE', p)\n    except OSError:\n        pass"]
                           + [str(p) for p in secrets], capture_output=True, text=True)
    assert "READABLE" not in probe.stdout, probe.stdout[:2000]
    # run_autograder, with the interpreter setup.sh installed, for every upload shape
    env.pop("A1GRADER_PYTHON", None)
    for name, path in shapes.items():
        upload = path
        if path.is_file():
            upload = tmp_path / "unzipped"
            with zipfile.ZipFile(path) as archive:
                archive.extractall(upload)
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        shutil.copytree(upload, root / "submission")
        subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, timeout=300)
        data = json.loads((root / "results" / "results.json").read_text())
        validate_results(data)
        assert data["score"] == 40.0 and "isolation:" in data["output"], (name, data["output"][-500:])
