"""The sandbox: student code runs in a child; only raw values and captured text come back."""
from __future__ import annotations

import os

import numpy as np
import pytest


from grader.discover import read_files
from grader.sandbox.limits import Limits
from grader.sandbox.workers import Sandbox
from grader.sandbox.student import StudentFunction

# Timing, limits and every sandbox uid's processes: run alone, not beside other tests (.ci/run).
pytestmark = pytest.mark.alone


@pytest.fixture
def make(tmp_path):
    sandboxes = []

    def build(source, name="mod", fn="f", timeout=5.0):
        (tmp_path / (name + ".py")).write_text(source)
        sandbox = Sandbox(read_files(tmp_path).files, Limits(timeout=timeout, load_timeout=5.0))
        sandboxes.append(sandbox)
        worker = sandbox.open([[name, fn]])
        return worker, StudentFunction(worker, "%s.%s" % (name, fn), fn)

    yield build
    for s in sandboxes:
        s.close()


def test_student_code_runs_in_another_process(make):
    worker, f = make("import os\ndef f():\n    return os.getpid()\n")
    assert f() != os.getpid()
    assert worker.loaded["found"] == {"mod.f": "ok"}


def test_prints_are_captured_per_call_and_capped(make):
    _, f = make("def f(x):\n    print('{\"score\": 40}')\n    print('y' * 50000)\n    return x * 2\n")
    record = f.run(np.array([1.0, 2.0]))
    assert np.array_equal(record.value, [2.0, 4.0])
    assert record.stdout.startswith('{"score": 40}')
    assert "more characters not shown" in record.stdout and len(record.stdout) < 9000


def test_exceptions_name_the_students_line(make):
    _, f = make("def f(x):\n    y = 1\n    return x.nope\n")
    record = f.run(np.zeros(2))
    assert record.failure == "exception"
    assert "AttributeError" in record.error and "(mod.py line 3)" in record.error


def test_timeout_kills_the_call_and_the_next_call_reloads(make):
    worker, f = make("def f(x):\n    while x > 0:\n        pass\n    return 7\n", timeout=0.5)
    record = f.run(1)
    assert record.failure == "timeout"
    assert f(0) == 7                       # a fresh worker answers the next call
    assert worker.failures == ["timeout"]


@pytest.mark.parametrize("body,needle", [
    ("import os\n    os._exit(4)", "exited with code 4"),
    ("import ctypes\n    ctypes.string_at(0)", "SIGSEGV"),
])
def test_a_dying_call_is_reported(make, body, needle):
    _, f = make("def f():\n    %s\n" % body)
    record = f.run()
    assert record.failure == "crashed" and needle in record.error


def test_environment_is_minimal(make, monkeypatch):
    monkeypatch.setenv("A1GRADER_SECRET", "hunter2")
    _, f = make("import os\ndef f():\n    return sorted(os.environ)\n")
    names = f()
    assert "A1GRADER_SECRET" not in names and "OPENBLAS_NUM_THREADS" in names


def test_submission_is_graded_from_a_scratch_copy(make, tmp_path):
    worker, f = make("import os\ndef f():\n    open('written.txt', 'w').write('x')\n    return os.getcwd()\n")
    cwd = f()
    assert cwd != str(tmp_path) and not (tmp_path / "written.txt").exists()


def test_weird_return_values_are_opaque(make):
    _, f = make("def f():\n    return {'score': 40}, object()\n")
    value = f()
    assert type(value).__name__ == "tuple" and all(type(v).__name__ == "Opaque" for v in value)


@pytest.mark.parametrize("mode", ["bwrap", "uid"])
def test_nothing_passes_from_one_submission_to_the_next(tmp_path, mode):
    """Two students graded one after the other by the same zygote share nothing.

    (In plain mode, for a student's own machine, /tmp is shared: docs/security.md.)
    """
    from grader.sandbox import isolation
    from grader.sandbox.workers import Zygote
    if mode == "uid" and os.geteuid() != 0:
        # uid mode needs root: an ordinary user gets bubblewrap in a user namespace, which must share
        # nothing either (CI runs as root and tests uid mode itself).
        assert isolation.detect(mode) != "uid"
        mode = "bwrap"
    # CI and the project's machines run as root with bubblewrap: both modes must work there.
    assert isolation.detect(mode) == mode, "mode %s needs root (and bubblewrap for bwrap)" % mode
    writer, reader = tmp_path / "a", tmp_path / "b"
    writer.mkdir()
    reader.mkdir()
    (writer / "mod.py").write_text(
        "import os, tempfile\n"
        "def f():\n"
        "    out = []\n"
        "    for path in ('/tmp/a1_left_behind', os.path.join(os.getcwd(), 'left_behind')):\n"
        "        try:\n"
        "            open(path, 'w').write('secret')\n"
        "            out.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return ' '.join(out)\n")
    (reader / "mod.py").write_text(
        "import glob, os\n"
        "def f():\n"
        "    found = glob.glob('/tmp/a1_left_behind') + glob.glob(os.path.join(os.getcwd(), '..', '*', 'left_behind'))\n"
        "    return ' '.join(found)\n")
    zygote = Zygote(mode, Limits(timeout=5.0, load_timeout=5.0))
    try:
        for folder, expect_empty in ((writer, False), (reader, True)):
            with Sandbox(read_files(folder).files, zygote.limits, zygote=zygote) as sandbox:
                worker = sandbox.open([["mod", "f"]])
                value = StudentFunction(worker, "mod.f", "f")()
                worker.end()
            if expect_empty:
                assert value == "", "the second student found the first one's files: %s" % value
            else:
                assert "left_behind" in value   # the writer could write in its own folder
    finally:
        zygote.close()


def test_a_zygote_failure_is_retried_once_then_is_the_graders_fault(rubric, monkeypatch):
    """A failure of the sandbox itself never becomes the student's grade."""
    from grader.errors import GraderFault
    from grader.runner import Grader
    from grader.sandbox import workers as process
    from conftest import sample_dir

    real = process.Zygote.open_submission
    calls = []

    def flaky(self, files, fail_times):
        calls.append(1)
        if len(calls) <= fail_times:
            raise process.ZygoteFailure("simulated: the sandbox did not answer")
        return real(self, files)

    with Grader(rubric) as grader:
        monkeypatch.setattr(process.Zygote, "open_submission", lambda self, files: flaky(self, files, 1))
        assert grader.grade(sample_dir("correct")).score == 40 and len(calls) == 2
        calls.clear()
        monkeypatch.setattr(process.Zygote, "open_submission", lambda self, files: flaky(self, files, 2))
        with pytest.raises(GraderFault, match="the sandbox failed while grading"):
            grader.grade(sample_dir("correct"))
        monkeypatch.setattr(process.Zygote, "open_submission", real)
        assert grader.grade(sample_dir("correct")).score == 40   # a fresh zygote serves the next one


def test_each_worker_has_its_own_channel(make):
    """A worker holds its own socket and nothing of the zygote's: no other socket, no pipe."""
    worker, f = make(
        "import os, stat\n"
        "def f():\n"
        "    kinds = []\n"
        "    for fd in range(3, 256):\n"
        "        try:\n"
        "            mode = os.fstat(fd).st_mode\n"
        "        except OSError:\n"
        "            continue\n"
        "        if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):\n"
        "            kinds.append(fd)\n"
        "    return len(kinds)\n")
    assert f() == 1


def test_a_zygote_lost_mid_submission_is_not_the_students_zero(rubric, monkeypatch):
    """If the zygote dies between two parts, the submission is graded again, not given 'no file'."""
    from grader.runner import Grader
    from grader.sandbox import workers as process
    from conftest import sample_dir

    real_open = process.Sandbox.open
    killed = []

    def open_after_a_crash(self, *args, **kwargs):
        if not killed:
            killed.append(self.zygote.proc.pid)
            self.zygote.proc.kill()
            self.zygote.proc.wait()
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(process.Sandbox, "open", open_after_a_crash)
    with Grader(rubric) as grader:
        result = grader.grade(sample_dir("correct"))
    assert killed and result.score == 40
