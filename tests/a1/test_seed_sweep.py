"""Every check of the default rubric passes the reference solution, whatever the seed.

A submission's random inputs come from its own seed (grader.runner.submission_seed:
the rubric seed, the digest of its files and the course secret). A check that a
correct implementation fails under some seed costs an unlucky student points for
nothing, so each (part, check) is run here on the reference itself, in this
process (LocalStudent, no sandbox), through grader.runner.run_check exactly as
grading runs it (same seeded rng from seed, part id and check id; same option
merging, e.g. the rubric's cost policy), under SEEDS different seeds, and must
earn full credit under every one.

A part whose candidates include an adapter (ce_grad: the b2 block of
forward_backward_prop, for students with no standalone cross_entropy_grad) is
swept once per route, since a student may be graded through either.

Not swept: ``vectorized`` (it times code; tests/engine/test_integrity.py and tests/engine/test_checks.py test it).

All checks are cheap here (well under 1 ms per seed, ``network_consistency``
about 12 ms), so every check gets the full 1000 seeds. Set SEED_SWEEP_N to sweep
more (or fewer, while debugging).
"""
from __future__ import annotations

import hashlib
import os
from typing import List, NamedTuple, Optional

import pytest

from grader.plugins import ADAPTERS
from grader.reference import Reference, RefFunction
from grader.rubric import load_rubric
from grader.runner import run_check

from conftest import DEFAULT_RUBRIC, LocalStudent

N_SEEDS = int(os.environ.get("SEED_SWEEP_N", "1000"))
SKIP_KINDS = {"vectorized": "times the code, not a value check (tested elsewhere)"}
SHOW_SEEDS = 5   # failing seeds named in the assertion message


def sweep_seeds(n: int) -> List[int]:
    """The rubric's own seed (the public kit's) and n - 1 seeds shaped like submission seeds.

    Real seeds are 60-bit integers from a sha256 (grader.runner.submission_seed);
    these are derived the same way from fixed text, with no course secret, so a
    failing seed reproduces anywhere.
    """
    seeds = [RUBRIC.seed]
    i = 0
    while len(seeds) < n:
        seed = int(hashlib.sha256(b"a1grader-seed-sweep\0%d" % i).hexdigest()[:15], 16)
        i += 1
        if seed not in seeds:
            seeds.append(seed)
    return seeds


class Route(NamedTuple):
    """How a student's function reaches a part's checks: a candidate's reference function,
    maybe through an adapter, and the reference function the checks compare against."""

    label: str
    candidate: object
    fn: object
    ref_fn: object


def routes(part) -> List[Optional[Route]]:
    """The distinct ways the reference can be graded for ``part`` (as runner._grade_loaded does).

    Candidates that are the same reference function (q2_neural imports sigmoid from
    q2_sigmoid) are one route. [None] when the reference has no function for the part.
    """
    direct_ref = next((REFERENCE.function(c.module, c.name) for c in part.find if not c.adapter
                       and REFERENCE.function(c.module, c.name)), None)
    found, seen = [], set()
    for c in part.find:
        fn = REFERENCE.function(c.module, c.name)
        if fn is None or (id(fn), c.adapter) in seen:
            continue
        seen.add((id(fn), c.adapter))
        if c.adapter:
            ref_fn = direct_ref
            label = "via_" + c.adapter
        else:
            ref_fn = next((REFERENCE.function(x.module, x.name) for x in part.find
                           if REFERENCE.function(x.module, x.name)), None)
            label = "" if not found else "%s.%s" % (c.module, c.name)
        found.append(Route(label, c, fn, ref_fn))
    return found or [None]


RUBRIC = load_rubric(DEFAULT_RUBRIC)
REFERENCE = Reference(RUBRIC.reference)
SEEDS = sweep_seeds(N_SEEDS)


def _params():
    out = []
    for _, part in RUBRIC.parts():
        for route in routes(part):
            for spec in part.checks:
                if spec.kind in SKIP_KINDS:
                    continue   # not a value check: never swept (and never a skipped test)
                test_id = "%s/%s" % (part.id, spec.id) + ("/" + route.label if route and route.label else "")
                out.append(pytest.param(part, spec, route, id=test_id))
    return out


def _student(route: Route):
    student = LocalStudent(route.fn, route.candidate.name)
    if route.candidate.adapter:
        student = ADAPTERS[route.candidate.adapter](student)
    return student


def test_sweep_covers_every_check():
    """Nothing in the rubric escapes the sweep but the kinds that are not value checks."""
    swept = {(p.values[0].id, p.values[1].id) for p in _params()}
    expected = {(part.id, spec.id) for _, part in RUBRIC.parts() for spec in part.checks
                if spec.kind not in SKIP_KINDS}
    assert swept == expected
    assert len(SEEDS) == len(set(SEEDS)) == N_SEEDS


@pytest.mark.parametrize("part,spec,route", _params())
def test_reference_passes_under_every_seed(part, spec, route):
    assert route is not None, "the reference has no function for part %s (candidates: %s)" % (
        part.id, ", ".join(str(c) for c in part.find))
    assert route.ref_fn is not None, "no reference function to compare against for part %s" % part.id
    student = _student(route)
    ref = RefFunction(route.ref_fn, REFERENCE)
    failing = []   # (seed, fraction, message)
    for seed in SEEDS:
        outcome = run_check(RUBRIC, part, spec, student, ref, seed)
        fraction = outcome.score / outcome.max_score if outcome.max_score else (1.0 if outcome.passed else 0.0)
        if not outcome.passed:
            failing.append((seed, fraction, outcome.message))
    if failing:
        seed, fraction, message = failing[0]
        pytest.fail("%s/%s (%s) fails the reference under %d of %d seeds; first failing seeds: %s%s\n"
                    "seed %d (fraction %.3f): %s"
                    % (part.id, spec.id, route.candidate, len(failing), len(SEEDS),
                       ", ".join(str(s) for s, _, _ in failing[:SHOW_SEEDS]),
                       " ..." if len(failing) > SHOW_SEEDS else "", seed, fraction, message),
                    pytrace=False)
