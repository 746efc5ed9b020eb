"""Real submissions load: Python 2, odd encodings, package-style imports, removed numpy aliases."""
from __future__ import annotations

import numpy as np
import pytest

from grader.legacy import port, prepare
from grader.rubric import load_rubric
from grader.runner import grade

from conftest import DEFAULT_RUBRIC, sample_dir


def parts(result):
    return {p.id: p for p in result.parts()}


def rubric_with_policy(tmp_path, policy):
    path = tmp_path / "r.yaml"
    path.write_text(DEFAULT_RUBRIC.read_text().replace("policy:\n", "policy:\n  python2: %s\n" % policy, 1))
    return load_rubric(path)


def test_python2_sample_is_ported_and_scores_full(shared_grader):
    result = shared_grader.grade(sample_dir("legacy_python2"))
    assert result.score == 40
    notes = parts(result)["gradcheck_naive"].notes
    assert any(n.startswith("q2_gradcheck.py is Python 2: ported") and '`print "Gradient check failed."`' in n
               for n in notes), notes


def test_python2_rejected_costs_its_files_parts(tmp_path):
    result = parts(grade(sample_dir("legacy_python2"), rubric_with_policy(tmp_path, "reject")))
    for pid, module in (("softmax", "q1_softmax"), ("gradcheck_naive", "q2_gradcheck"), ("sigmoid", "q2_sigmoid")):
        message = result[pid].checks[0].message
        assert result[pid].score == 0 and result[pid].status == "error"
        assert message.startswith("%s.py is Python 2 (line " % module) and "does not port Python 2" in message


def test_python2_port_with_penalty(tmp_path):
    result = parts(grade(sample_dir("legacy_python2"), rubric_with_policy(tmp_path, "{port_with_penalty: 0.1}")))
    assert result["softmax"].score == pytest.approx(9.0)
    assert result["forward_backward_prop"].score == pytest.approx(14.4)
    assert any("takes 10% off" in n for n in result["softmax"].notes)


@pytest.mark.parametrize("sample,part,note", [
    ("legacy_package_imports", "forward_backward_prop", "resolved `from .q1_softmax import` in q2_neural.py"),
    ("legacy_numpy_aliases", "softmax", "q1_softmax.py uses np.float, removed in NumPy 1.24"),
    ("legacy_encoding", "sigmoid", "q2_sigmoid.py is not UTF-8 and has no coding line: read as latin-1"),
])
def test_quirky_but_correct_samples_score_full(shared_grader, sample, part, note):
    result = shared_grader.grade(sample_dir(sample))
    assert result.score == 40
    assert any(n.startswith(note) for n in parts(result)[part].notes), parts(result)[part].notes


def test_unfinished_code_says_so(shared_grader):
    result = parts(shared_grader.grade(sample_dir("legacy_unfinished")))
    message = result["forward_backward_prop"].checks[0].message
    assert message.startswith("forward_backward_prop still raises NotImplementedError at line ")
    assert "of q2_neural.py (unfinished?)" in message
    assert result["softmax"].score == 10 and result["gradcheck_naive"].score == 4


def test_the_students_folder_is_never_changed(shared_grader):
    before = {p.name: p.read_bytes() for p in sample_dir("legacy_python2").glob("*.py")}
    shared_grader.grade(sample_dir("legacy_python2"))
    assert before == {p.name: p.read_bytes() for p in sample_dir("legacy_python2").glob("*.py")}


def test_port_and_prepare(tmp_path):
    assert port("print 'a', 1\nfor i in xrange(3): pass\n", "x.py") == "print('a', 1)\nfor i in range(3): pass\n"
    assert port("def f(:\n", "x.py") is None          # neither Python 2 nor 3
    (tmp_path / "q1_softmax.py").write_text("x = 1\n")
    (tmp_path / "q2_neural.py").write_text("from .q1_softmax import x\nfrom numpy.linalg import norm\n")
    reports = prepare(tmp_path, {"python2": "port"})
    assert (tmp_path / "q2_neural.py").read_text() == "from q1_softmax import x\nfrom numpy.linalg import norm\n"
    assert reports["q2_neural"].imports == ["from .q1_softmax import"] and not reports["q1_softmax"].ported


def test_matrix_results_are_graded_as_arrays(tmp_path, shared_grader):
    import shutil
    folder = tmp_path / "m"
    shutil.copytree(sample_dir("correct"), folder)
    path = folder / "q2_sigmoid.py"
    path.write_text(path.read_text().replace("def sigmoid(x):\n", "def sigmoid(x):\n    return np.matrix(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float))))\n", 1))
    result = parts(shared_grader.grade(folder))
    # A matrix is always 2-D: right for 2-D inputs, the wrong shape for 1-D ones.
    checks = {c.id: c for c in result["sigmoid"].checks}
    assert checks["handout_values"].passed
    assert not checks["stable_large_inputs"].passed and "shape (1, 5)" in checks["stable_large_inputs"].message
    assert np.isclose(result["sigmoid"].score, 1.0 + 2 / 3 + 1 / 2, atol=1e-3)   # the 1-D cases fail
