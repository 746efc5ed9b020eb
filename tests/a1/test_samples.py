"""Every bundled sample, graded end to end through the sandbox, scores as its manifest says.

Each mistake loses points in the part it concerns (and in the parts it truly
spreads to, listed in the manifest), and only there. Inputs differ per
submission and per course secret (runner.submission_seed); a score must not:
the samples are graded again under another course's secret.
"""
from __future__ import annotations

import yaml
import pytest

from grader.runner import grade

from conftest import REFERENCE, SAMPLES, sample_dir

MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())


def test_manifest_lists_every_sample_folder():
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name not in ("hostile", "oracles", "written", "similarity")}
    assert folders == set(MANIFEST)


def test_reference_scores_full_marks(rubric):
    result = grade(REFERENCE, rubric)
    assert (result.score, result.max_score) == (40.0, 40.0)
    assert all(p.status == "graded" for p in result.parts())


def grade_sample(grader, rubric, name, entry):
    """The sample graded by ``grader``, or by one of its own where the manifest gives it a timeout."""
    if "timeout" not in entry:
        return grader.grade(sample_dir(name))
    from grader.runner import Grader
    with Grader(rubric, timeout=entry["timeout"]) as own:
        return own.grade(sample_dir(name))


@pytest.fixture(scope="module", params=["", "another course's secret"])
def course_grader(request, rubric):
    """A grader under a course secret: every random input of every check changes with it."""
    from grader.runner import SECRET_ENV, Grader
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, request.param)
        with Grader(rubric) as grader:
            yield grader


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_sample_scores(course_grader, rubric, name):
    entry = MANIFEST[name]
    result = grade_sample(course_grader, rubric, name, entry)
    lost = {p.id: p.score for p in result.parts() if p.score < p.max_score}
    allowed = set(entry["parts"]) | set(entry.get("spreads_to", []))
    assert set(lost) <= allowed, "points lost outside the mistake's parts: %s" % lost
    assert set(entry["parts"]) <= set(lost) or not entry["parts"], "the mistake went unnoticed"
    assert lost == pytest.approx(entry["scores"])
    for part in result.parts():
        for check in part.checks:
            assert check.message, "every check says something"
            if not check.passed:
                assert len(check.message.splitlines()) == 1
