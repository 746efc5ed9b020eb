"""Hostile submissions cannot break, slow down or fool the grader (docs/security.md).

Each sample in sample_submissions/hostile/ is the correct sample with one hostile
change: the hostile part gets zero or its honest score, every other part its
honest score, the grader keeps running within its limits, and no process of the
submission outlives its grading.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.runner import Grader
from grader.sandbox.isolation import UID_RANGE

from conftest import ROOT, SAMPLES

HOSTILE = SAMPLES / "hostile"
MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
NO_SHIFT = MANIFEST["softmax_no_shift"]["scores"]["softmax"]
FULL = {"softmax": 10.0, "sigmoid": 3.0, "sigmoid_grad": 4.0, "ce_grad": 3.0, "gradcheck_naive": 4.0,
        "forward_backward_prop": 16.0}
SECRET = "hunter2-a1grader"
SCRIBBLES = [Path.home() / "a1_hostile_was_here.txt", Path("/root/a1_hostile_was_here.txt"),
             ROOT / "sample_submissions" / "a1_hostile_was_here.txt", ROOT / "grader" / "a1_hostile_was_here.txt",
             Path(np.__file__).parent / "a1_hostile_was_here.txt", HOSTILE / "a1_hostile_was_here.txt"]

# sample -> (the parts that lose, their expected score or status)
EXPECTED = {
    "import_infinite_loop": {"gradcheck_naive": "timeout"},
    "import_sys_exit": {},
    "call_os_exit": {"sigmoid": "crashed"},
    "ctypes_segfault": {"sigmoid_grad": "crashed"},
    # ce_grad is read from the network's b2 gradient in this layout, so the bomb reaches it too.
    "memory_bomb": {"forward_backward_prop": "crashed", "ce_grad": 0.0},
    "fork_bomb": {"gradcheck_naive": "timeout"},
    "print_flood": {},
    "fake_score": {"softmax": NO_SHIFT},
    "monkeypatch_numpy": {"softmax": NO_SHIFT},
    "steal_reference_disk": {"softmax": NO_SHIFT},
    # Its own (unshifted) softmax, slowed by walking the heap on every call: also not vectorized.
    "steal_reference_memory": {"softmax": NO_SHIFT - 1.0},
    "write_outside": {},
    "read_env_secrets": {},
}


def sandbox_processes():
    """Processes running as one of the sandbox's worker uids."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as handle:
                uid = next(int(line.split()[1]) for line in handle if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid in UID_RANGE:
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def grader(rubric):
    os.environ["A1GRADER_TEST_SECRET"] = SECRET
    try:
        with Grader(rubric, timeout=2.0) as grader:
            yield grader
    finally:
        os.environ.pop("A1GRADER_TEST_SECRET", None)


def test_every_hostile_sample_has_a_test():
    assert {p.name for p in HOSTILE.iterdir() if p.is_dir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_sample(grader, name):
    if name == "steal_reference_disk" and grader.mode != "bwrap":
        pytest.skip("only the bwrap mode hides the reference on disk (docs/security.md)")
    start = time.monotonic()
    result = grader.grade(HOSTILE / name)
    elapsed = time.monotonic() - start
    assert elapsed < 30, "grading took %.1f s" % elapsed
    parts = {p.id: p for p in result.parts()}
    for pid, full in FULL.items():
        expected = EXPECTED[name].get(pid, full)
        if isinstance(expected, str):
            assert parts[pid].status == expected and parts[pid].score == 0, (pid, parts[pid].status)
        else:
            assert parts[pid].score == pytest.approx(expected), (pid, parts[pid].checks)
    if os.geteuid() == 0 and grader.mode in ("bwrap", "uid"):
        assert sandbox_processes() == [], "a process of %s outlived its grading" % name
    text = json.dumps(result.to_dict())
    assert SECRET not in text
    if name == "write_outside":
        assert [p for p in SCRIBBLES if p.exists()] == []
    if name == "print_flood":
        assert "more characters not shown" in parts["softmax"].output
    if name == "memory_bomb":
        assert "out of memory (limit 1024 MiB)" in parts["forward_backward_prop"].checks[0].message
    if name == "ctypes_segfault":
        assert "SIGSEGV" in parts["sigmoid_grad"].checks[0].message
    if name == "call_os_exit":
        assert "exited with code 0" in parts["sigmoid"].checks[0].message
