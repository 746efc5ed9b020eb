"""The course's tools: Gradescope's autograder zip, CI formats, and the student kit."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_RUBRIC, REFERENCE, ROOT, sample_dir

VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


def cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The built zip, unpacked as Gradescope would: /autograder/source holds its contents."""
    tmp = tmp_path_factory.mktemp("gradescope")
    run = cli("gradescope", "build", "--out", str(tmp / "autograder.zip"))
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(tmp / "autograder.zip") as archive:
        names = archive.namelist()
        assert "setup.sh" in names and "run_autograder" in names   # at the root, not in a folder
        archive.extractall(tmp / "autograder" / "source")
    return tmp / "autograder"


def run_autograder(root, submission):
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    if submission is not None:
        shutil.copytree(submission, root / "submission")
    env = dict(os.environ, A1GRADER_AUTOGRADER_ROOT=str(root), A1GRADER_PYTHON=sys.executable)
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, timeout=300)
    return json.loads((root / "results" / "results.json").read_text())


def validate_results(data):
    """Field by field, as Gradescope's autograder specification describes results.json."""
    assert isinstance(data["score"], float)
    assert isinstance(data["output"], str)
    assert data.get("stdout_visibility", "hidden") in VISIBILITIES
    if "execution_time" in data:
        assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] >= 0
    for test in data["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        assert test["status"] in ("passed", "failed")
        assert (test["status"] == "passed") == (test["score"] == test["max_score"])
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-3)


def test_gradescope_zip_grades_the_correct_sample(autograder):
    setup = (autograder / "source" / "setup.sh").read_text()
    assert "pip\" install" in setup and 'chmod -R go-rwx "$ROOT/source"' in setup and 'ROOT="${A1GRADER_AUTOGRADER_ROOT:-/autograder}"' in setup
    data = run_autograder(autograder, sample_dir("correct"))
    validate_results(data)
    assert data["score"] == 40.0 and len(data["tests"]) == 27
    hidden = [t for t in data["tests"] if t["visibility"] != "visible"]
    assert {t["name"] for t in hidden} == {"q2 ce_grad / targeted_values", "q2 forward_backward_prop / targeted_cases"}


def test_gradescope_zip_explains_lost_points(autograder):
    data = run_autograder(autograder, sample_dir("sigmoid_grad_from_x"))
    validate_results(data)
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["name"].startswith("q2 sigmoid_grad") for t in failed)
    assert all("expected" in t["output"] for t in failed)


def test_gradescope_zip_without_a_submission_still_writes_results(autograder):
    data = run_autograder(autograder, None)
    validate_results(data)
    assert data["score"] == 0.0 and "could not grade" in data["output"]


def test_github_workflow_runs_the_kit_and_gives_junit(tmp_path, kit):
    """The CI example for student repositories runs the kit (public checks, no reference), as written: once."""
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    # One step runs the student's code, and writes the annotations, the summary and the JUnit of that one run.
    steps = [s["run"] for s in workflow["jobs"]["selfcheck"]["steps"] if "selfcheck.py" in s.get("run", "")]
    assert len(steps) == 1 and steps[0].startswith('python "$KIT/selfcheck.py"'), steps
    assert not [s for s in workflow["jobs"]["selfcheck"]["steps"] if "grader" in s.get("run", "")]
    installs = [s["run"] for s in workflow["jobs"]["selfcheck"]["steps"] if "pip install" in s.get("run", "")]
    assert installs == ['python -m pip install -r "$KIT/requirements.txt"']   # the kit's list: scipy and all
    workspace = tmp_path / "repo"
    shutil.copytree(sample_dir("softmax_no_shift"), workspace)
    shutil.copytree(kit, workspace / "a1-selfcheck")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(workflow["env"], GITHUB_WORKSPACE=str(workspace), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    run = subprocess.run(["bash", "-c", steps[0]], cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr    # 32.17 of the public points >= 26
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert any("q1_softmax.py" in line and "title=softmax" in line for line in annotations), annotations
    assert "| q1 | softmax |" in (tmp_path / "summary.md").read_text()
    suites = ET.parse(workspace / "reports" / "a1-selfcheck.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == 27
    failures = [c for c in cases if c.find("failure") is not None
                and not c.find("failure").get("message", "").startswith("graded after submission")]
    assert failures and all(c.get("classname") == "q1.softmax" for c in failures)
    assert "expected" in failures[0].find("failure").get("message")


def test_github_annotations_point_at_the_students_file():
    folder = sample_dir("sigmoid_unstable")
    run = cli("check", str(folder), "--format", "github")
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert errors and all("file=%s/q2_sigmoid.py" % folder in e for e in errors)


def test_markdown_summary():
    run = cli("check", str(sample_dir("network_sigmoid_output")), "--format", "markdown")
    assert "**Score: 21/40**" in run.stdout
    assert "| q2 | forward_backward_prop | ❌ cost_convention |" in run.stdout


def test_kit_holds_no_reference_code(kit):
    def code_lines(paths):
        return {line.strip() for path in paths for line in path.read_text().splitlines()
                if len(line.strip()) > 25 and not line.strip().startswith(("#", '"', "def ", "from ", "import "))}

    # The solution's own lines: boilerplate the grader shares (np.asarray(...)) is no leak.
    reference_lines = code_lines(REFERENCE.glob("*.py")) - code_lines((ROOT / "grader").rglob("*.py"))
    assert len(reference_lines) > 20, "the probe needs lines to look for"
    for path in kit.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaked = [line for line in reference_lines if line in text]
            assert not leaked, "%s contains reference code: %s" % (path, leaked[:2])
    assert not (kit / "grader" / "assets").exists()
    # Mistake diagnosis works from variants of the reference's maths: it stays with the course.
    assert (kit / "grader" / "assignments" / "a1" / "backprop.py").exists()
    assert not (kit / "grader" / "assignments" / "a1" / "mistakes.py").exists()
    hidden = yaml.safe_load((kit / "rubric.yaml").read_text())
    checks = [c for q in hidden["questions"] for p in q["parts"] for c in p["checks"] if c.get("visibility") != "visible"
              and "visibility" in c]
    assert checks and all(set(c) <= {"id", "kind", "points", "visibility", "title"} for c in checks)


def kit_check(kit, sample):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = cli("check", str(sample_dir(sample)), "--rubric", "rubric.yaml", "--format", "json", cwd=kit, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_kit_self_check(kit):
    data = kit_check(kit, "correct")
    checks = {(p["id"], c["id"]): c for q in data["questions"] for p in q["parts"] for c in p["checks"]}
    pending = {k for k, c in checks.items() if c["message"].startswith("graded after submission")}
    assert pending == {("ce_grad", "targeted_values"), ("forward_backward_prop", "targeted_cases")}
    assert all(c["passed"] for c in checks.values())      # a hidden check is not a failure in the kit
    assert data["score"] == data["max_score"] == 40 - 1 - 3   # and its points are out of the kit's total


def test_kit_finds_the_same_mistakes_as_the_grader(kit, shared_grader):
    for sample in ("softmax_no_shift", "gradcheck_one_sided", "network_transposed_weight_grad"):
        data = kit_check(kit, sample)
        full = shared_grader.grade(sample_dir(sample))
        public = {(p.id, c.id): c.score for p in full.parts() for c in p.checks if c.visibility == "visible"}
        kit_scores = {(p["id"], c["id"]): c["score"] for q in data["questions"] for p in q["parts"]
                      for c in p["checks"] if (p["id"], c["id"]) in public}
        assert kit_scores == public, sample


def readme_commands(kit, folder):
    """The kit README's command lines, with its placeholders pointing at ``kit`` and the student's ``folder``."""
    text = (kit / "README.md").read_text()
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    return [line.replace("/path/to/%s" % kit.name, str(kit)).replace("/path/to/your/folder", str(folder)).split()
            for line in lines]


def expit_submission(folder):
    """The correct sample with its sigmoid from scipy, imported at the top as students do."""
    shutil.copytree(sample_dir("correct"), folder)
    source = folder / "q2_sigmoid.py"
    text = source.read_text()
    assert "import numpy as np\n" in text and "s = 1.0 / (1.0 + np.exp(-x))" in text
    source.write_text(text.replace("import numpy as np\n", "import numpy as np\nfrom scipy.special import expit\n", 1)
                      .replace("s = 1.0 / (1.0 + np.exp(-x))", "s = expit(x)"))
    return folder


def test_kit_installs_the_environment_the_grader_grades_in(kit):
    """The README's one install line installs what the grader runs with: student code imports from it."""
    from importlib import metadata

    from packaging.requirements import Requirement
    installs = [c for c in readme_commands(kit, "unused") if c[:2] == ["pip", "install"]]
    assert len(installs) == 1 and installs[0][2] == "-r", installs
    listed = Path(installs[0][3]).read_text().splitlines()
    grader_needs = [r for r in metadata.requires("a1grader") if "extra ==" not in r]
    assert {str(Requirement(r)) for r in listed if r.strip()} == {str(Requirement(r)) for r in grader_needs}
    assert {"numpy", "scipy", "matplotlib"} <= {Requirement(r).name for r in listed if r.strip()}


def test_kit_runs_from_any_folder_and_scores_scipy_code_as_the_grader_does(tmp_path, kit, rubric):
    """Run as its README says, from another folder and from the student's own: the public scores of check."""
    folder = expit_submission(tmp_path / "assignment1")
    graded = cli("check", str(folder), "--format", "json")
    assert graded.returncode == 0, graded.stderr
    graded = json.loads(graded.stdout)
    assert graded["score"] == 40
    visible = {(p.id, c.id) for _, p in rubric.parts() for c in p.checks if c.visibility == "visible"}
    public = {(p["id"], c["id"]): c["score"] for q in graded["questions"] for p in q["parts"] for c in p["checks"]
              if (p["id"], c["id"]) in visible}
    runs = [c for c in readme_commands(kit, folder) if c[0] == "python"]
    assert len(runs) == 1 and runs[0][1] == str(kit / "selfcheck.py"), runs
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The README's line from an unrelated folder, and, without a folder, from the student's own.
    for cwd, command in ((elsewhere, runs[0]), (folder, runs[0][:2])):
        run = subprocess.run([sys.executable, *command[1:], "--format", "json"], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert "not installed" not in run.stderr
        data = json.loads(run.stdout)
        in_kit = {(p["id"], c["id"]): c["score"] for q in data["questions"] for p in q["parts"] for c in p["checks"]
                  if (p["id"], c["id"]) in visible}
        assert in_kit == public, cwd
        assert data["score"] == sum(public.values()) == 36


def test_kit_names_the_course_packages_missing_here(tmp_path, kit):
    """A student who skipped the install is told which packages their code could not import, and still graded."""
    copy = tmp_path / "kit"
    shutil.copytree(kit, copy)
    with open(copy / "requirements.txt", "a") as requirements:
        requirements.write("a1grader-no-such-package>=1\n")
    run = subprocess.run([sys.executable, str(copy / "selfcheck.py"), str(sample_dir("correct")), "--format", "json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "not installed in this Python: a1grader-no-such-package." in run.stderr
    assert "pip install -r %s" % (copy / "requirements.txt") in run.stderr
    assert json.loads(run.stdout)["score"] == 36
