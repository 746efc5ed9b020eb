"""Known-mistake hints: each mistake sample gets its own, and fixing what it says restores the points."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from grader.assignments.a1.mistakes import IDS, SOFTMAX_VARIANTS, network
from grader.rubric import load_rubric

from conftest import DEFAULT_RUBRIC, REFERENCE, ROOT, SAMPLES, sample_dir

# The hints are the rubric's: mistake id -> hint, over its parts.
MISTAKES = {i: h for _, p in load_rubric(DEFAULT_RUBRIC).parts() for i, h in p.mistakes.items()}

MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
MISTAKE_SAMPLES = sorted(n for n, e in MANIFEST.items() if e["mistake_ids"])
# Where a sample's mistake is consistent across files (sigmoid_grad of x, called so by the
# network), fixing one file alone would break the other: those are not fixed one file at a time.
FIXABLE = [n for n in MISTAKE_SAMPLES if n != "fair_sigmoid_grad_of_x_consistent"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_sample_gets_exactly_its_hints(shared_grader, rubric, name):
    from test_samples import grade_sample
    result = grade_sample(shared_grader, rubric, name, MANIFEST[name])
    found = [m["id"] for p in result.parts() for m in p.mistakes]
    assert found == MANIFEST[name]["mistake_ids"]
    for part in result.parts():
        for mistake in part.mistakes:
            assert part.hints[0] == MISTAKES[mistake["id"]] == mistake["hint"]   # named mistakes come first
            assert part.score < part.max_score


def test_reference_gets_no_hint(shared_grader):
    result = shared_grader.grade(REFERENCE)
    assert all(not p.mistakes and not p.hints for p in result.parts())


@pytest.mark.parametrize("name", FIXABLE)
def test_fixing_the_named_mistake_restores_the_points(shared_grader, tmp_path, name):
    """Replace each file that differs from its layout's correct sample by the correct one."""
    entry = MANIFEST[name]
    correct = sample_dir("correct_two_file" if entry["layout"] == "two_file" else "correct")
    folder = tmp_path / name
    shutil.copytree(sample_dir(name), folder)
    changed = [p.name for p in folder.glob("*.py") if p.read_bytes() != (correct / p.name).read_bytes()]
    assert len(changed) == 1, "a mistake sample changes one file: %s" % changed
    shutil.copy(correct / changed[0], folder / changed[0])
    result = shared_grader.grade(folder)
    assert result.score == result.max_score
    assert not any(p.mistakes for p in result.parts())


def test_hints_reach_every_output_format():
    for fmt, needle in (("json", '"id": "softmax_no_shift"'), ("junit", "Subtract each row's maximum"),
                        ("markdown", "Subtract each row's maximum"), ("gradescope", "Subtract each row's maximum"),
                        ("text", "Subtract each row's maximum")):
        run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(sample_dir("softmax_no_shift")),
                              "--format", fmt], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
        assert needle in run.stdout.replace("\n", " ").replace("  ", " ") or needle in run.stdout, fmt
    data = json.loads(subprocess.run([sys.executable, "-m", "grader.cli", "check", str(sample_dir("softmax_no_shift")),
                                      "--format", "gradescope"], cwd=ROOT, capture_output=True, text=True).stdout)
    assert any(MISTAKES["softmax_no_shift"] in t["output"] for t in data["tests"])


def test_variants_differ_from_the_reference(reference):
    """Each softmax variant is a real mistake: it disagrees with the reference somewhere in the probes."""
    from grader.assignments.a1.mistakes import SOFTMAX_PROBES, _outcome, _same
    softmax = reference.find("softmax")
    for name, variant in SOFTMAX_VARIANTS.items():
        assert any(not _same(_outcome(variant, (p,)), _outcome(softmax, (p,))) for p in SOFTMAX_PROBES), name


def test_network_variant_without_switches_is_the_reference(reference):
    rng = np.random.default_rng(0)
    X, dims = rng.normal(size=(4, 3)), [3, 5, 2]
    params = rng.normal(size=(3 + 1) * 5 + (5 + 1) * 2)
    labels = np.eye(2)[[0, 1, 1, 0]]
    cost, grad = network(X, labels, params, dims, reference.find("sigmoid"), reference.find("softmax"))
    ref_cost, ref_grad = reference.find("forward_backward_prop")(X, labels, params, dims)
    assert np.isclose(cost, ref_cost) and np.allclose(grad, ref_grad)


@pytest.mark.parametrize("name", ["a1", "a1-full"])
def test_every_mistake_a_finder_can_name_has_its_hint_in_the_rubric(name):
    """A finder's id without a hint would be dropped silently: each rubric part's hints cover its finder."""
    from grader.plugins import FINDERS
    rubric = load_rubric(ROOT / "rubrics" / (name + ".yaml"))
    diagnosed = [p for _, p in rubric.parts() if p.diagnose]
    assert len(diagnosed) >= 5
    for part in diagnosed:
        assert sorted(part.mistakes) == sorted(IDS[FINDERS[part.diagnose].function]), part.id
