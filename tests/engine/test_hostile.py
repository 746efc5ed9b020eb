"""Hostile submissions cannot break, slow down or fool the grader (docs/security.md, issue 3).

Each sample in sample_submissions/hostile/ is the correct four-file sample with
one hostile change. Graded as a batch would grade them (one Grader, one
zygote), each must: leave the grader running; return within its limits; give
the hostile part zero or its honest score and every other part its honest
score (full marks: the rest is the correct sample); leave no process behind;
and never let the grader's secrets into the result.

The tests run in whatever isolation mode the machine gives (``Grader(rubric).mode``):
CI and this machine run as root with bubblewrap, so ``bwrap``.
"""
from __future__ import annotations

import filecmp
import hashlib
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.runner import Grader
from grader.sandbox.isolation import UID_RANGE
from grader.sandbox.limits import Limits
from grader.sandbox.workers import MAX_RELOADS
from grader.sandbox.zygote_handle import group_limits

from conftest import ROOT, SAMPLES, sample_dir, sandbox_leftovers

# Timing, limits and every sandbox uid's processes: run alone, not beside other tests (.ci/run).
pytestmark = pytest.mark.alone

KEPT = SAMPLES / "hostile"         # as kept: each holds only its hostile file
HOSTILE = sample_dir("hostile")
CORRECT = sample_dir("correct")
FILES = ("q1_softmax.py", "q2_sigmoid.py", "q2_gradcheck.py", "q2_neural.py")
MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
NO_SHIFT = MANIFEST["softmax_no_shift"]["scores"]["softmax"]   # a softmax without the max shift

# Small limits keep the suite fast; the bounds below follow from them.
TIMEOUT = 2.0
BUDGET = 30.0
SLACK = 5.0   # starting workers, killing them, cleaning up: beyond the student's own time

SECRET_NAME, SECRET = "A1GRADER_TEST_SECRET", "hunter2-a1grader-7f3c"
MARK = "a1_hostile_was_here.txt"   # the file write_outside tries to leave everywhere

# sample -> {part: what it gets}: a status name means that status with 0 points; a number, that
# score. Every part not named gets full marks.
EXPECTED = {
    "import_infinite_loop": {"gradcheck_naive": "timeout"},
    "import_sys_exit": {},                                      # 40/40, with a note
    "call_os_exit": {"sigmoid": "crashed"},
    "ctypes_segfault": {"sigmoid_grad": "crashed"},
    # ce_grad has no standalone function in the four-file layout: it is graded through the
    # network's b2 gradient, so the bomb in forward_backward_prop costs it too (honestly).
    "memory_bomb": {"forward_backward_prop": "crashed", "ce_grad": 0.0},
    "fork_bomb": {"gradcheck_naive": "timeout"},
    "print_flood": {},
    "fake_score": {"softmax": NO_SHIFT},
    "monkeypatch_numpy": {"softmax": NO_SHIFT},
    "steal_reference_disk": {"softmax": NO_SHIFT},
    "steal_reference_memory": {"softmax": NO_SHIFT},
    "write_outside": {},
    "read_env_secrets": {},
    # Forged frames on its own channel break only its own loads (issue 13).
    "forge_frames": {"ce_grad": "crashed", "forward_backward_prop": "crashed"},
    "survive_end": {},
    "squat_scratch": {},
    "fill_scratch": {},
    "leave_traces": {},
    # Right values, 0.3 s a call: two parts' budgets of calls (ce_grad goes through the network), no more.
    "slow_network": {"ce_grad": "slow", "forward_backward_prop": "slow"},
    "find_traces": {},   # finds nothing, loses nothing (tests/engine/test_containment.py runs it after leave_traces)
    # Memory and kernel objects no per-process limit counts (issue 25): refused or bounded, no points lost.
    "memfd_hoard": {},
    "inode_flood": {},
    "fork_hog": {},
    # Finds no classmate to copy from: graded on its own softmax (no max shift).
    "steal_classmate": {"softmax": NO_SHIFT},
}
# The one file each sample changes.
CHANGED = {
    "import_infinite_loop": "q2_gradcheck.py", "import_sys_exit": "q1_softmax.py",
    "call_os_exit": "q2_sigmoid.py", "ctypes_segfault": "q2_sigmoid.py", "memory_bomb": "q2_neural.py",
    "fork_bomb": "q2_gradcheck.py", "print_flood": "q1_softmax.py", "fake_score": "q1_softmax.py",
    "monkeypatch_numpy": "q1_softmax.py", "steal_reference_disk": "q1_softmax.py",
    "steal_reference_memory": "q1_softmax.py", "write_outside": "q2_sigmoid.py",
    "read_env_secrets": "q1_softmax.py", "forge_frames": "q2_neural.py", "survive_end": "q1_softmax.py",
    "squat_scratch": "q2_gradcheck.py", "fill_scratch": "q2_sigmoid.py", "leave_traces": "q1_softmax.py",
    "find_traces": "q1_softmax.py", "slow_network": "q2_neural.py", "memfd_hoard": "q2_sigmoid.py",
    "inode_flood": "q2_sigmoid.py", "fork_hog": "q1_softmax.py", "steal_classmate": "q1_softmax.py",
}


# ---------------------------------------------------------------- helpers

def _status(pid):
    """(state letter, uids) of a process; a zombie is already dead and counts for nothing."""
    state, uids = "?", []
    try:
        with open("/proc/%s/status" % pid) as handle:
            for line in handle:
                if line.startswith("State:"):
                    state = line.split()[1]
                elif line.startswith("Uid:"):
                    uids = [int(u) for u in line.split()[1:]]
    except OSError:
        pass
    return state, uids


def _uids(pid):
    return _status(pid)[1]


def submission_processes(grader):
    """Live processes of the submissions ``grader`` graded.

    As root (bwrap and uid modes), the workers run as the unprivileged uid the grader's zygote
    leased from isolation.UID_RANGE, and so does anything they start, wherever it moves to: any
    process with that uid counts. (Only that one: graders running at the same time, in other
    test runs, lease other uids of the range.) As an ordinary user (bwrap-userns), any process left
    inside a sandbox's pid namespaces (conftest.sandbox_leftovers). Without a uid (plain mode), processes whose
    working folder is below the grader's scratch folder count.
    """
    if grader.zygote.label == "bwrap-userns":
        return sandbox_leftovers()
    lease = grader.zygote.lease
    theirs = {lease.uid} if lease is not None and lease.uid is not None else set()
    assert theirs <= set(UID_RANGE)
    below = str(grader.zygote.plain_root) + os.sep if grader.zygote.plain_root else "//none/"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        state, uids = _status(pid)
        if state in ("Z", "X"):
            # Killed, waiting for its parent to collect it: after an escape with setsid()
            # that is the machine's init (in uid mode), which may take a second or two.
            continue
        if theirs & set(uids):
            found.append(int(pid))
            continue
        try:
            if os.readlink("/proc/%s/cwd" % pid).startswith(below):
                found.append(int(pid))
        except OSError:
            pass
    return found


def describe(pids):
    out = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")[:80]
        except OSError:
            cmd = "?"
        out.append("%d uid=%s %s" % (pid, _uids(pid)[:1], cmd))
    return out


def scribble_places():
    """Where write_outside tries to leave its file (those this test can name)."""
    folders = {Path.home(), Path("/root"), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"),
               Path(np.__file__).parent, Path(np.__file__).parent.parent, Path(os.__file__).parent,
               Path(sys.prefix), Path(sys.base_prefix), Path("/work/main"), Path("/work"),
               ROOT, KEPT.parent, KEPT, KEPT / "write_outside", HOSTILE, HOSTILE / "write_outside",
               ROOT / "grader", ROOT / "reference"}
    return sorted(folder / MARK for folder in folders if os.access(folder, os.X_OK))


def untouchable_files():
    """Files write_outside tries to open for writing: their content must not change."""
    return [ROOT / "grader" / "__init__.py", ROOT / "reference" / "q1_softmax.py",
            KEPT / "write_outside" / "q2_sigmoid.py", HOSTILE / "write_outside" / "q2_sigmoid.py",
            Path(np.__file__)]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def full_marks(rubric):
    return {part.id: part.points for _, part in rubric.parts()}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def secret_env():
    """A secret in the grading process's environment, as a CI token would be."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_NAME, SECRET)
        yield


@pytest.fixture(scope="module")
def grader(rubric, secret_env):
    """One grader for all samples, as a batch would run (each sample also tests the next)."""
    with Grader(rubric, timeout=TIMEOUT, limits=Limits(budget=BUDGET)) as grader:
        yield grader
    leftover = submission_processes(grader)
    assert leftover == [], "processes outlived the grader: %s" % describe(leftover)


# ---------------------------------------------------------------- the samples themselves

def test_every_hostile_sample_has_a_test():
    assert sorted(p.name for p in HOSTILE.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_the_correct_one_with_one_change(name):
    folder = HOSTILE / name
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(FILES)
    differ = [f for f in FILES if not filecmp.cmp(folder / f, CORRECT / f, shallow=False)]
    assert differ == [CHANGED[name]]
    assert sorted(p.name for p in (KEPT / name).iterdir()) == [CHANGED[name]]   # as kept: the change only


# ---------------------------------------------------------------- grading them

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_sample(grader, rubric, name):
    # The samples' expectations hold where student code is contained (bwrap, uid: the reference
    # hidden, nothing outside writable); CI runs as root with bubblewrap.
    assert grader.zygote.label in ("bwrap", "bwrap-userns", "uid"), \
        "hostile samples need a containing mode, not %s" % grader.zygote.label
    before = {path: digest(path) for path in untouchable_files()}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start = time.monotonic()
    with Peak(grader) as peak:
        result = grader.grade(HOSTILE / name)
    elapsed = time.monotonic() - start
    # The machine is untouched: the host's shared memory, and all the submission's processes together,
    # stay within what one submission is allowed (where a control group counts them all).
    assert peak.shmem < (grader.limits.disk_mb + 64) * 2 ** 20, "host shared memory grew by %d MiB" % (
        peak.shmem >> 20)
    assert peak.slab < 256 * 2 ** 20, "the kernel's slab grew by %d MiB" % (peak.slab >> 20)
    if grader.zygote.group is not None:
        assert peak.pss <= group_limits(grader.limits)[0] * 1.1, "the submission held %d MiB" % (peak.pss >> 20)

    # Within its limits: one submission cannot take longer than its budget.
    assert elapsed < grader.limits.budget + SLACK, "grading %s took %.1f s" % (name, elapsed)
    # No process of the submission outlives its grading.
    leftover = submission_processes(grader)
    assert leftover == [], "processes of %s outlived its grading: %s" % (name, describe(leftover))

    # Honest scores: the hostile part zero (with its status) or its honest score, the rest full.
    parts = {p.id: p for p in result.parts()}
    for pid, full in full_marks(rubric).items():
        expected = EXPECTED[name].get(pid, full)
        part = parts[pid]
        if expected == "slow":
            # How many calls fit in the budget depends on the machine: the part loses, within its budget.
            assert part.status == "timeout" and part.score < full, (pid, part.status, part.score)
            continue
        if isinstance(expected, str):
            statuses = {expected}
            if name == "ctypes_segfault" and grader.mode == "uid":
                # Without bwrap, an interpreter in a 0700 home cannot import ctypes after the
                # privilege drop: the part then fails with an ImportError instead (still 0).
                statuses.add("graded")
            if name == "memory_bomb":
                # Out of memory in every case; on a loaded machine the allocations may outlast the
                # part's budget first. Either way 0, and the message names the memory limit (below).
                statuses.add("timeout")
            assert part.status in statuses and part.score == 0, (pid, part.status, part.score,
                                                                 part.checks[0].message)
        else:
            assert part.score == pytest.approx(expected), (pid, part.status, [c.message for c in part.checks])
            if expected == full:
                assert part.status == "graded", (pid, part.status)
    if "slow" not in EXPECTED[name].values():
        losses = sum(full_marks(rubric)[pid] - (0 if isinstance(v, str) else v) for pid, v in EXPECTED[name].items())
        assert result.score == pytest.approx(result.max_score - losses)

    # Nothing of the grader's environment reaches the result.
    text = json.dumps(result.to_dict())
    assert SECRET not in text and SECRET_NAME not in text
    # The grader process itself did not swallow what the student allocated or printed.
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 300, "the grader's own memory grew by %.0f MiB" % grown_mb
    assert len(text) < 500_000, "the result is %d characters long" % len(text)
    # Nothing outside the scratch folder was changed.
    assert {path: digest(path) for path in untouchable_files()} == before

    SPECIFIC.get(name, lambda *a: None)(grader, parts, result, elapsed)


class Peak:
    """The largest growth of the host's shared memory and kernel slab, and the largest total PSS of
    the submission's processes, seen every 20 ms while the block runs."""

    def __init__(self, grader):
        self.grader, self.shmem, self.slab, self.pss, self._stop = grader, 0, 0, 0, threading.Event()

    @staticmethod
    def _meminfo(key):
        with open("/proc/meminfo") as handle:
            return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(key + ":"))

    @staticmethod
    def _pss(pid):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as handle:
                return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("Pss:"))
        except (OSError, StopIteration):
            return 0

    def _watch(self):
        shmem, slab = self._meminfo("Shmem"), self._meminfo("Slab")
        while not self._stop.wait(0.02):
            self.shmem = max(self.shmem, self._meminfo("Shmem") - shmem)
            self.slab = max(self.slab, self._meminfo("Slab") - slab)
            self.pss = max(self.pss, sum(self._pss(p) for p in submission_processes(self.grader)))

    def __enter__(self):
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _memfd_hoard(grader, parts, result, elapsed):
    output = parts["sigmoid"].output
    assert "hostile: holding" not in output, output   # where seccomp works, memfd_create is refused
    assert "memfd refused after 0" in output, output


def _inode_flood(grader, parts, result, elapsed):
    made = int(parts["sigmoid"].output.split("after ")[1].split()[0])
    assert made <= grader.limits.files + 100, "%d empty files in a scratch of %d" % (made, grader.limits.files)


def _fork_hog(grader, parts, result, elapsed):
    assert result.score == 40   # the attack costs the machine nothing and the student nothing


def _import_infinite_loop(grader, parts, result, elapsed):
    message = parts["gradcheck_naive"].checks[0].message
    assert "q2_gradcheck.py did not finish loading in %g s" % grader.limits.load_timeout in message
    # The module that hung is known after its first timeout and never loaded again (issue 27).
    assert elapsed < grader.limits.load_timeout + SLACK


def _import_sys_exit(grader, parts, result, elapsed):
    assert result.score == result.max_score == 40
    note = " ".join(parts["softmax"].notes)
    assert "SystemExit" in note and "the functions defined before it were graded" in note


def _call_os_exit(grader, parts, result, elapsed):
    assert "the process exited with code 0" in parts["sigmoid"].checks[0].message


def _ctypes_segfault(grader, parts, result, elapsed):
    message = parts["sigmoid_grad"].checks[0].message
    if grader.mode == "uid" and "SIGSEGV" not in message:
        assert "ctypes" in message, message
    else:
        assert "SIGSEGV" in message, message


def _memory_bomb(grader, parts, result, elapsed):
    message = parts["forward_backward_prop"].checks[0].message
    assert "ran out of memory (limit %d MiB)" % grader.limits.memory_mb in message, message


def _fork_bomb(grader, parts, result, elapsed):
    assert any("took longer than" in c.message for c in parts["gradcheck_naive"].checks)
    # Each try costs one call timeout; after MAX_RELOADS fresh workers it is not run again.
    assert elapsed < (MAX_RELOADS + 1) * grader.limits.timeout + 2 * SLACK


def _print_flood(grader, parts, result, elapsed):
    output = parts["softmax"].output
    assert "more characters not shown" in output and len(output) < 20_000
    assert elapsed < 30


def _fooled(grader, parts, result, elapsed):
    assert result.score < result.max_score
    assert parts["softmax"].mistakes and parts["softmax"].mistakes[0]["id"] == "softmax_no_shift"


def _fake_score(grader, parts, result, elapsed):
    _fooled(grader, parts, result, elapsed)
    assert "Score: 40/40" in parts["softmax"].output   # shown to the student as their own output


def _write_outside(grader, parts, result, elapsed):
    found = [str(path) for path in scribble_places() if path.exists()]
    for path in found:   # do not leave them for the next run, whatever happened
        os.unlink(path)
    assert found == [], "the submission wrote outside its folder"
    output = parts["sigmoid"].output
    assert "hostile: denied" in output       # it did try
    wrote = [line.split()[-1] for line in output.splitlines() if line.startswith("hostile: wrote")]
    if grader.mode in ("bwrap", "uid"):
        # /tmp, as a worker sees it, is the submission's own tmpfs: discarded after it.
        wrote = [path for path in wrote if not path.startswith("/tmp/")]
    assert wrote == [], "the submission could write outside its folder: %s" % wrote
    # Inside its folder it may write, but no file larger than the limit.
    assert "hostile: big file stopped at %d MiB" % grader.limits.file_mb in output, output[-300:]


def _read_env_secrets(grader, parts, result, elapsed):
    output = parts["softmax"].output
    assert "environment: " in output and "secrets: {}" in output   # it looked, and found nothing


def _slow_network(grader, parts, result, elapsed):
    # Each of the two slow parts stops at its budget of calls; loading and the rest are quick.
    assert elapsed < 2 * grader.limits.part_budget + 2 * SLACK, elapsed
    assert any("time budget (%g s" % grader.limits.part_budget in c.message
               for c in parts["forward_backward_prop"].checks)


SPECIFIC = {"slow_network": _slow_network, "import_infinite_loop": _import_infinite_loop, "import_sys_exit": _import_sys_exit,
            "call_os_exit": _call_os_exit, "ctypes_segfault": _ctypes_segfault, "memory_bomb": _memory_bomb,
            "fork_bomb": _fork_bomb, "print_flood": _print_flood, "fake_score": _fake_score,
            "monkeypatch_numpy": _fooled, "steal_reference_disk": _fooled, "steal_reference_memory": _fooled,
            "write_outside": _write_outside, "read_env_secrets": _read_env_secrets, "memfd_hoard": _memfd_hoard,
            "inode_flood": _inode_flood, "fork_hog": _fork_hog}


# After each attacker, the next (honest) student is unaffected and nothing of the attacker's is left:
# tests/engine/test_containment.py grades every hostile sample before honest ones, in a batch, in each mode.
