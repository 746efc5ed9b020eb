"""Running one check kind directly, in this process, for the kinds' own tests (engine and assignment)."""
from __future__ import annotations

import numpy as np

from grader.checks import REGISTRY

TRIALS = 25


def run(kind, student, ref, rng, **options):
    opts = REGISTRY[kind].options()
    opts.update(options)
    return REGISTRY[kind].fn(student, ref, opts, rng)


def one_wrong(fn, rel=1e-3, pick=None):
    """fn with one output element off by ``rel`` relative (the largest one, or ``pick``)."""

    def wrong(*args):
        out = np.array(fn(*args), dtype=np.float64)
        flat = out.reshape(-1)
        k = int(np.argmax(np.abs(flat))) if pick is None else pick
        flat[k] *= 1 + rel
        return out

    return wrong
