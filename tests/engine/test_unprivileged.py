"""The grader as the people who run it without root: a student, a TA on a shared server, a course's CI runner.

Every command here runs as an ordinary user whose home cannot be written
(HOME=/nonexistent), with an installed grader, from a folder that user owns.
Run by an ordinary user, the tests use this interpreter as it is; run as root
(CI), they switch to an id with no account (setpriv) and use a grader installed
where any user can run it (root's own Python may live in a folder no one else
may enter): the one A1GRADER_USER_PYTHON names, else a venv they make.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import sample_dir

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_submissions"
USER_ID = 64123   # no account has it: as root, nothing else of this id runs
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# As an ordinary user the tests count that user's sandbox processes, so they run alone; as root they
# run as an id of their own, which nothing else uses, beside the other tests.
pytestmark = [pytest.mark.alone] if os.geteuid() != 0 else []


def _python(tools: Path) -> str:
    """An interpreter with the grader installed that the ordinary user can run.

    Not root: this one. Root: A1GRADER_USER_PYTHON if set, else a venv made here in ``folder`` from
    the system's Python (root's own may live where no one else can enter) in ``tools``, with the
    grader installed from this checkout, as a TA would install it (with uv where it is on PATH, else pip).
    """
    if os.geteuid() != 0:
        return sys.executable
    path = os.environ.get("A1GRADER_USER_PYTHON")
    if path and os.path.exists(path):
        return path
    base = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)), None)
    assert base, "no system Python that an ordinary user can run"
    venv = tools / "venv"
    python = str(venv / "bin" / "python")
    commands = ([base, "-m", "venv", str(venv)], [python, "-m", "pip", "install", "--quiet", str(ROOT)])
    uv = shutil.which("uv")
    if uv:   # the same venv (pip seeded, for the kit's test) in a few seconds instead of half a minute
        commands = ([uv, "venv", "--quiet", "--seed", "--python", base, str(venv)],
                    [uv, "pip", "install", "--quiet", "--python", python, str(ROOT)])
    for command in commands:
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
    return python


def _uid() -> int:
    return USER_ID if os.geteuid() == 0 else os.geteuid()


@pytest.fixture(scope="module")
def home():
    """A folder the user owns, readable by anyone, with copies of the samples the tests grade."""
    tools = Path(tempfile.mkdtemp(prefix="a1grader-user-python-"))   # root's: the user reads, never writes
    os.chmod(tools, 0o755)
    python = _python(tools)
    folder = Path(tempfile.mkdtemp(prefix="a1grader-user-"))
    for name in ("correct", "legacy_python2", "softmax_no_shift", "sigmoid_unstable", "correct_two_file"):
        shutil.copytree(sample_dir(name), folder / "class" / name)
    for name in ("fork_bomb", "leave_traces", "survive_end", "write_outside"):
        shutil.copytree(sample_dir("hostile/" + name), folder / "hostile" / name)
    shutil.copytree(sample_dir("correct"), folder / "writeup")
    shutil.copy(SAMPLES / "written" / "md_2a_sign_slip" / "hw1.md", folder / "writeup" / "hw1.md")
    shutil.copy(ROOT / "tests" / "portable.py", folder / "portable.py")
    os.chmod(folder, 0o755)
    if os.geteuid() == 0:
        for top, dirs, files in os.walk(folder):
            for name in [top] + [os.path.join(top, n) for n in dirs + files]:
                os.lchown(name, USER_ID, USER_ID)
    yield folder, python
    subprocess.run(["rm", "-rf", "--", str(folder), str(tools)], check=False)


def as_user(home, *args, timeout=300):
    """Run ``args`` as the ordinary user, in ``home``, with a home folder that cannot be written."""
    folder, _ = home
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    command = list(args)
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid", str(USER_ID), "--regid", str(USER_ID), "--clear-groups", "--"] + command
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)


def grader(home, *args, timeout=300):
    return as_user(home, home[1], "-m", "grader.cli", *args, timeout=timeout)


def _mode(home) -> str:
    run = grader(home, "check", "--explain-sandbox")
    assert run.returncode == 0, run.stderr
    return run.stdout.split(":")[0]


def _workers(uid: int):
    """Pids of sandbox processes of ``uid`` (the zygote, workers and whatever they started)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != uid:
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if b"sandbox/zygote.py" in cmdline or b"child/zygote.py" in cmdline or b"bwrap" in cmdline or b"portable.py" in cmdline:
            found.append(int(entry))
    return found


def _shared_files(uid: int):
    found = set()
    for folder in SHARED:
        try:
            found |= {e.path for e in os.scandir(folder) if e.stat(follow_symlinks=False).st_uid == uid
                      and not e.name.startswith("a1grader-")}   # the grader's own, and these tests' folders
        except OSError:
            pass
    return found


def test_a_student_without_root_gets_full_marks_and_no_warning(home):
    """README's first command, as a student would run it: 40/40, nothing asking them to become root."""
    run = grader(home, "check", "class/correct", "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["score"] == 40
    assert data["sandbox"] == _mode(home)
    assert run.stderr == ""


def test_the_strongest_isolation_the_machine_allows(home):
    """An ordinary user gets bubblewrap in a user namespace where the kernel allows one, as it does here;
    where it allows none, plain mode, which says what an administrator could change."""
    run = grader(home, "check", "--explain-sandbox")
    lines = run.stdout.splitlines()
    limit = Path("/proc/sys/user/max_user_namespaces")
    if limit.exists() and limit.read_text().strip() == "0":
        assert lines[0].startswith("plain:") and lines[-1].startswith("stronger: "), run.stdout
        return
    assert lines[0].startswith("bwrap-userns:"), run.stdout
    # Every guarantee holds but one memory limit for all processes: a control group needs root.
    refused = [line for line in lines[1:] if not line.startswith("  yes ")]
    assert len(refused) == 1 and "control group" in refused[0], run.stdout


def test_python2_and_the_written_half_without_a_writable_home(home):
    """Porting needs no cache under HOME; the written half reads and decides as root's does."""
    run = grader(home, "check", "class/legacy_python2", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["score"] == 40
    run = grader(home, "check", "writeup", "--rubric", "a1-full", "--format", "json")
    assert run.returncode == 0, run.stderr
    verdicts = {p["id"]: p.get("verdict") for q in json.loads(run.stdout)["questions"] for p in q["parts"]
                if p.get("verdict")}
    expected = yaml.safe_load((SAMPLES / "written" / "manifest.yaml").read_text())
    expect = next(v["expect"] for v in _entries(expected) if v.get("name") == "md_2a_sign_slip")
    assert verdicts == expect


def _entries(manifest):
    """Every entry of the written samples' manifest that has an ``expect``, with its name."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and "expect" in value:
                    out.append(dict(value, name=key))
                else:
                    walk(value)
    walk(manifest)
    return out


def test_a_ta_without_root_grades_the_class(home):
    """A batch as an ordinary user grades every submission, in the mode --explain-sandbox names."""
    run = grader(home, "batch", "class", "--db", "grades.db", "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    assert "grader: isolation: %s (" % _mode(home) in run.stderr   # said once, at the start
    export = grader(home, "export", "--db", "grades.db", "--format", "json")
    assert export.returncode == 0, export.stderr
    rows = json.loads(export.stdout)
    rows = rows if isinstance(rows, list) else rows.get("students", rows)
    assert len(rows) == 5
    scores = {r["student"]: r["score"] for r in rows}
    assert scores["correct"] == scores["correct_two_file"] == scores["legacy_python2"] == 40
    assert scores["softmax_no_shift"] < 40 and scores["sigmoid_unstable"] < 40


@pytest.mark.parametrize("sample", ["fork_bomb", "leave_traces", "survive_end", "write_outside"])
def test_hostile_code_leaves_nothing_behind(home, sample):
    """Once the command has exited, no process of the submission runs and no file of it is left."""
    uid = _uid()
    before = _shared_files(uid)
    run = grader(home, "check", "hostile/" + sample, "--budget", "40")
    assert run.returncode in (0, 1), run.stderr
    deadline = time.monotonic() + 5
    while _workers(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers(uid) == []
    assert _shared_files(uid) - before == set()
    outside = [p for p in (home[0] / "a1_hostile_was_here.txt", home[0] / "hostile" / "a1_hostile_was_here.txt")
               if p.exists()]
    assert outside == []


@pytest.mark.parametrize("sample", ["fork_bomb", "leave_traces"])
def test_plain_mode_ends_every_process_and_removes_temporary_files(home, sample):
    """Where no namespace can be had, a submission's processes and shared temporary files still go with it."""
    uid = _uid()
    before = _shared_files(uid)
    run = grader(home, "check", "hostile/" + sample, "--isolation", "plain", "--budget", "40", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sandbox"] == "plain"
    deadline = time.monotonic() + 5
    while _workers(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers(uid) == []
    assert _shared_files(uid) - before == set()


def test_the_portable_path_with_linux_modules_hidden(home):
    """macOS's and Windows's path, tried here: no fork, fcntl, resource, pidfd or killpg, workers spawned."""
    run = as_user(home, home[1], "portable.py", "grader", "check", "--explain-sandbox")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("spawn:")
    for sample, score in (("correct", 40), ("legacy_python2", 40), ("correct_two_file", 40)):
        run = as_user(home, home[1], "portable.py", "grader", "check", "class/" + sample, "--format", "json")
        assert run.returncode == 0, run.stderr
        data = json.loads(run.stdout)
        assert (data["sandbox"], data["score"]) == ("spawn", score)
    run = as_user(home, home[1], "portable.py", "grader", "check", "class/softmax_no_shift", "--format", "json")
    spawned = json.loads(run.stdout)
    run = grader(home, "check", "class/softmax_no_shift", "--format", "json")
    assert spawned["score"] == json.loads(run.stdout)["score"] < 40
    assert _workers(_uid()) == []


def _public(data, visible):
    return {(p["id"], c["id"]): c["score"] for q in data["questions"] for p in q["parts"] for c in p["checks"]
            if (p["id"], c["id"]) in visible}


def test_the_kit_built_installed_and_run_as_an_ordinary_user(home):
    """Built from the installed grader, installed as its README says, run from another folder: check's public scores."""
    from grader.rubric import load_rubric
    rubric = load_rubric(ROOT / "rubrics" / "a1.yaml")
    visible = {(p.id, c.id) for _, p in rubric.parts() for c in p.checks if c.visibility == "visible"}
    run = grader(home, "kit", "build", "--out", "kit")
    assert run.returncode == 0, run.stderr
    install = as_user(home, home[1], "-m", "pip", "install", "--no-input", "-r", "kit/requirements.txt")
    assert install.returncode == 0, install.stderr
    for sample in ("correct", "legacy_python2", "correct_two_file", "sigmoid_unstable"):
        graded = grader(home, "check", "class/" + sample, "--format", "json")
        in_kit = as_user(home, home[1], str(home[0] / "kit" / "selfcheck.py"), "class/" + sample, "--format", "json")
        assert in_kit.returncode == 0, in_kit.stderr
        assert _public(json.loads(in_kit.stdout), visible) == _public(json.loads(graded.stdout), visible), sample


def test_the_course_ci_example_as_a_hosted_runner_runs_it(home):
    """examples/github-actions.yml's steps, as an ordinary user (a hosted runner is one): the kit's JUnit and exit code."""
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    folder = home[0]
    workspace = folder / "ci-repo"
    if not (folder / "kit").exists():
        assert grader(home, "kit", "build", "--out", "kit").returncode == 0
    bin_dir = folder / "ci-bin"
    for target, rel in ((folder / "class" / "softmax_no_shift", "ci-repo"), (folder / "kit", "ci-repo/" + workflow["env"]["KIT"])):
        assert as_user(home, "cp", "-r", str(target), rel).returncode == 0
    assert as_user(home, "mkdir", "-p", str(bin_dir)).returncode == 0
    # setup-python's python is the one on PATH; a script, since a link would lose the venv it belongs to.
    wrapper = 'printf "#!/bin/sh\\nexec %s \\"\\$@\\"\\n" > python && chmod 755 python' % home[1]
    assert as_user(home, "bash", "-c", "cd %s && %s" % (bin_dir, wrapper)).returncode == 0
    steps = [s for s in workflow["jobs"]["selfcheck"]["steps"] if "run" in s]
    assert steps
    exports = " ".join("%s=%s" % (k, v) for k, v in dict(workflow["env"], GITHUB_WORKSPACE=str(workspace),
                                                          GITHUB_STEP_SUMMARY=str(workspace / "summary.md")).items())
    for step in steps:
        script = "export PATH=%s:$PATH %s; cd %s; %s" % (bin_dir, exports, workspace, step["run"])
        run = as_user(home, "bash", "-ec", script)
        assert run.returncode == 0, (step["name"], run.stderr)
    assert "::error" not in (workspace / "summary.md").read_text()
    cases = (workspace / "reports" / "a1-selfcheck.xml").read_text()
    assert "q1.softmax" in cases and "<failure" in cases
