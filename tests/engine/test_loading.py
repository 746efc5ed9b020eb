"""Real submissions are messy: loading problems cost only the parts they touch."""
from __future__ import annotations

import shutil

import pytest

from grader.runner import grade

from conftest import sample_dir

# Timing, limits and every sandbox uid's processes: run alone, not beside other tests (.ci/run).
pytestmark = pytest.mark.alone


@pytest.fixture
def submission(tmp_path):
    """A fresh copy of the correct four-file sample, to break in one way."""
    folder = tmp_path / "student"
    shutil.copytree(sample_dir("correct"), folder)
    return folder


def append(path, text):
    path.write_text(path.read_text() + "\n" + text + "\n")


def parts(result):
    return {p.id: p for p in result.parts()}


def test_broken_file_costs_only_its_parts(submission, rubric):
    append(submission / "q2_sigmoid.py", "def unfinished(x:\n    return")   # neither Python 3 nor 2
    result = parts(grade(submission, rubric))
    for pid in ("sigmoid", "sigmoid_grad"):
        assert result[pid].status == "error" and result[pid].score == 0
        message = result[pid].checks[0].message
        assert "q2_sigmoid.py line" in message and "SyntaxError" in message
    # The network imports sigmoid, but grades with the reference's: full marks there.
    assert result["forward_backward_prop"].score == 16
    assert result["softmax"].score == 10 and result["gradcheck_naive"].score == 4


def test_missing_third_party_import_costs_only_that_file(submission, rubric):
    path = submission / "q2_neural.py"
    path.write_text("import data_utils\n" + path.read_text())   # the course's, not installed for grading
    result = grade(submission, rubric)
    by_id = parts(result)
    assert by_id["forward_backward_prop"].status == "error"
    message = by_id["forward_backward_prop"].checks[0].message
    assert "q2_neural.py line 1" in message and "data_utils" in message
    assert "the course's environment: numpy, scipy, matplotlib" in message
    assert result.score == 40 - 16 - 3


@pytest.mark.parametrize("tail", ["your_sanity_checks()\nraise NotImplementedError",
                                  "import sys\nsys.exit(0)", "print('x' * 100000)"])
def test_top_level_code_does_not_break_loading(submission, rubric, tail):
    append(submission / "q1_softmax.py", tail)
    result = grade(submission, rubric)
    assert result.score == 40
    softmax = parts(result)["softmax"]
    if "print" in tail:
        assert "more characters not shown" in softmax.output
    else:
        assert softmax.notes and "the functions defined before it were graded" in softmax.notes[0]


def test_missing_file_and_renamed_function(submission, rubric):
    (submission / "q2_gradcheck.py").unlink()
    path = submission / "q1_softmax.py"
    path.write_text(path.read_text().replace("def softmax(", "def my_softmax("))
    result = parts(grade(submission, rubric))
    assert result["gradcheck_naive"].status == "missing"
    assert "gradcheck_naive in q2_gradcheck.py" in result["gradcheck_naive"].checks[0].message
    assert result["softmax"].status == "missing"
    assert result["forward_backward_prop"].score == 16   # gradcheck and softmax come from the reference


def child_processes(under):
    """Live processes whose working folder is below ``under`` (the sandbox's scratch folders)."""
    import os
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/cwd" % pid).startswith(str(under)):
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture
def scratch_root(tmp_path, monkeypatch):
    """Sandboxes of this test make their scratch folders here, so their processes can be found."""
    import tempfile
    root = tmp_path / "scratch"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_infinite_loop_at_import_times_out_that_part_only(submission, rubric, scratch_root):
    append(submission / "q2_gradcheck.py", "while True:\n    pass")
    result = parts(grade(submission, rubric, timeout=1.0))
    assert child_processes(scratch_root) == [], "a looping worker outlived its grading"
    assert result["gradcheck_naive"].status == "timeout" and result["gradcheck_naive"].score == 0
    assert result["forward_backward_prop"].score == 16
    assert result["softmax"].score == 10


def test_a_module_that_hangs_at_import_is_waited_for_once(scratch_root):
    """The whole check takes one load timeout, not one per part that needs the module: with --timeout 2.5
    (5 s to load), once is about 5 s and the rest of the grading; twice would be over 10 s."""
    import subprocess
    import sys
    import time
    from conftest import ROOT
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(sample_dir("import_hangs")), "--format",
                          "json", "--timeout", "2.5"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - start
    import json
    scores = {p["id"]: (p["score"], p["status"]) for q in json.loads(run.stdout)["questions"] for p in q["parts"]}
    assert 5 <= seconds < 9.5, seconds
    assert scores["forward_backward_prop"] == (16.0, "graded") and scores["ce_grad"] == (3.0, "graded")
    assert scores["sigmoid"] == (0.0, "timeout") and scores["sigmoid_grad"] == (0.0, "timeout")


@pytest.mark.parametrize("head", ["import os\nos._exit(3)", "import sys\nsys.exit(1)", "raise RuntimeError('x')",
                                  "import ctypes\nctypes.string_at(0)"])
def test_a_module_that_ends_or_raises_at_import_costs_only_its_parts(submission, rubric, head):
    path = submission / "q2_sigmoid.py"
    path.write_text(head + "\n" + path.read_text())
    result = parts(grade(submission, rubric))
    assert result["sigmoid"].score == 0 and result["sigmoid_grad"].score == 0
    assert {pid: result[pid].score for pid in ("softmax", "ce_grad", "gradcheck_naive", "forward_backward_prop")} \
        == {"softmax": 10, "ce_grad": 3, "gradcheck_naive": 4, "forward_backward_prop": 16}


def test_hanging_call_times_out_and_other_checks_still_run(submission, rubric, scratch_root):
    path = submission / "q1_softmax.py"
    path.write_text(path.read_text().replace(
        "def softmax(x):", "def softmax(x):\n    if getattr(x, 'ndim', 0) == 1 and x.size == 3:\n        while True:\n            pass"))
    result = parts(grade(submission, rubric, timeout=1.0))
    assert child_processes(scratch_root) == []
    softmax = result["softmax"]
    assert softmax.status == "timeout"
    assert 0 < softmax.score < 10
    assert any("timeout" in c.message for c in softmax.checks)


def test_crash_in_a_call_is_reported(submission, rubric):
    path = submission / "q2_sigmoid.py"
    path.write_text(path.read_text().replace("def sigmoid(x):", "def sigmoid(x):\n    import os\n    os._exit(3)"))
    result = parts(grade(submission, rubric))
    assert result["sigmoid"].status == "crashed" and result["sigmoid"].score == 0
    assert "exited with code 3" in result["sigmoid"].checks[0].message
    assert result["sigmoid_grad"].score == 4


def test_two_file_layout_with_data_argument(rubric):
    result = parts(grade(sample_dir("correct_two_file"), rubric))
    assert result["ce_grad"].function == "cross_entropy_grad in q2_neural.py"
    assert result["sigmoid"].function == "sigmoid in q2_neural.py"
