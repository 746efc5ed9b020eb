"""Shared fixtures: paths, the default rubric, and an in-process stand-in for a student function.

LocalStudent (grader.sandbox.local) lets the checks, pure functions of a
callable, be tested without the sandbox.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.sandbox.local import LocalStudent  # noqa: F401  (tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
# Every test grades under one known course secret, in-process and in the commands it runs: an
# installation's own is random (grader/coursesecret.py), and no verdict may depend on the machine.
# The tests of the secret itself (tests/engine/test_integrity.py) unset it.
os.environ.setdefault("A1GRADER_SECRET_FILE", str(ROOT / "tests" / "course_secret"))


def live_processes():
    """(pid, /proc/PID/status as a dict) of every process on the machine that is not dead already."""
    import os
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").split()[:1] not in (["Z"], ["X"]):
            yield pid, fields


def sandbox_leftovers(outer_pids=None):
    """Processes of this user left inside a sandbox's pid namespaces (bwrap-userns), as pids.

    Inside bubblewrap's namespace, pid 1 is bwrap and pid 2 the zygote; every other process there,
    and any in a worker's own namespace below it, belongs to a submission. ``outer_pids``: only
    those below these processes (one grader's bwrap), else every sandbox of this user.
    """
    import os
    found = []
    for pid, fields in live_processes():
        if int(fields["Uid"].split()[0]) != os.getuid():
            continue
        levels = fields.get("NSpid", "").split()
        if len(levels) >= 3 or (len(levels) == 2 and levels[1] not in ("1", "2")):
            if outer_pids is None or _below(int(pid), set(outer_pids)):
                found.append(int(pid))
    return found


def _below(pid, parents):
    import os
    seen = 0
    while pid > 1 and seen < 64:
        try:
            with open("/proc/%d/stat" % pid, "rb") as handle:
                stat = handle.read()
        except OSError:
            return False
        pid = int(stat[stat.rindex(b")") + 2:].split()[1])
        if pid in parents:
            return True
        seen += 1
    return False


# The samples as kept: most hold only the files they change from their base (grader/samples.py).
# A test grades, reads or copies sample_dir(NAME), the full folder; SAMPLES itself is for the manifests.
SAMPLES = ROOT / "sample_submissions"
REFERENCE = ROOT / "reference"
_ASSEMBLED: dict = {}          # name -> its folder, in this process
_ASSEMBLY_ROOT: list = []


def sample_dir(name: str) -> Path:
    """The full folder of sample ``name`` (``softmax_no_shift``, ``hostile/fork_bomb``), or of a group
    (``hostile``: a folder of each of its samples), as grader.samples assembles it from SAMPLES.

    Assembled once per test process (each xdist worker has its own), under a temporary folder
    removed when the process ends; the folder is named as the sample, so a report shows the same
    name. Read it, grade it, copy it: never change it, the next test gets the same folder.
    """
    if name not in _ASSEMBLED:
        from grader import samples
        if not _ASSEMBLY_ROOT:
            import atexit
            import shutil
            import tempfile
            made = Path(tempfile.mkdtemp(prefix="a1grader-samples-"))
            owner = os.getpid()
            atexit.register(lambda: os.getpid() == owner and shutil.rmtree(made, ignore_errors=True))
            _ASSEMBLY_ROOT.append(made)
        _ASSEMBLED[name] = samples.assemble(SAMPLES, name, _ASSEMBLY_ROOT[0] / str(len(_ASSEMBLED)) / name)
    return _ASSEMBLED[name]


DEFAULT_RUBRIC = ROOT / "rubrics" / "a1.yaml"


@pytest.fixture(scope="session")
def rubric():
    from grader.rubric import load_rubric
    return load_rubric(DEFAULT_RUBRIC)


@pytest.fixture(scope="session")
def shared_grader(rubric):
    """One Grader (one sandbox zygote) for the whole session: as a batch would run."""
    from grader.runner import Grader
    with Grader(rubric) as grader:
        yield grader


@pytest.fixture(scope="session")
def reference():
    from grader.reference import Reference
    return Reference(REFERENCE)


@pytest.fixture(scope="session")
def kit(tmp_path_factory):
    """The student kit, built once by the real command (grader kit build)."""
    import subprocess
    import sys
    out = tmp_path_factory.mktemp("kitbuild") / "kit"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "kit", "build", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return out


BROWSER_ENV = "A1GRADER_REQUIRE_BROWSER"     # .ci/run sets it: there a missing browser is a failure


def browser() -> tuple:
    """(chromium, chromedriver) paths; the test is skipped, with the reason, where they are missing,
    unless $A1GRADER_REQUIRE_BROWSER is set (CI installs them and requires them)."""
    import shutil
    found = (shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver"))
    if None in found:
        no_browser = "no Chromium or chromedriver here (Debian's chromium and chromium-driver; .ci/run installs them)"
        if os.environ.get(BROWSER_ENV):
            pytest.fail(no_browser + ", and $%s requires them" % BROWSER_ENV)
        pytest.skip(no_browser)
    return found
