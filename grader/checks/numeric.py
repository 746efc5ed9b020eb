"""Message renderings, relative errors and finite differences, all in the grader process, in float64.

What a student's function returned is read and compared in returns.py.
"""
from __future__ import annotations

from typing import Any, Callable, List, Mapping, Sequence, Tuple

import numpy as np


def short(value: Any, limit: int = 80) -> str:
    """A compact one-line rendering of an input or output for messages."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, threshold=8, edgeitems=2, suppress=False, linewidth=10_000):
            text = np.array2string(value, separator=", ")
        text = " ".join(text.split())
        if value.ndim and value.size > 8:
            text += " (shape %s)" % (value.shape,)
    elif isinstance(value, (float, np.floating)):
        text = "%.6g" % value
    elif isinstance(value, np.generic):
        text = repr(value.item())   # 0, not np.int64(0): the student's terms, not numpy's
    elif isinstance(value, (list, tuple)):
        inner = ", ".join(short(v, limit) for v in value)
        text = "(%s)" % (inner + ("," if len(value) == 1 else "")) if isinstance(value, tuple) else "[%s]" % inner
    else:
        text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def index_list(idx) -> list:
    """A numpy index tuple as plain ints, for messages: [2, 1]."""
    return [int(i) for i in idx]


def rel_error(got: np.ndarray, expected: np.ndarray, floor: float) -> np.ndarray:
    """Elementwise |got - expected| / max(floor, |got|, |expected|); nan where either is not finite."""
    denom = np.maximum(floor, np.maximum(np.abs(got), np.abs(expected)))
    err = np.abs(got - expected) / denom
    bad = ~(np.isfinite(got) & np.isfinite(expected))
    return np.where(bad & (got != expected), np.inf, np.where(bad, 0.0, err))


def central_difference(f: Callable[[np.ndarray], Sequence[float]], x: np.ndarray,
                       directions: Sequence[np.ndarray], step: float, points: int = 2) -> Tuple[np.ndarray, list]:
    """Directional derivatives of f at x along each direction, by centered differences.

    f evaluates a batch of points at once (one child message) and returns their
    costs. ``points=2``: (f(x+hd) - f(x-hd)) / 2h, error O(h^2); ``points=4``:
    (-f(x+2hd) + 8f(x+hd) - 8f(x-hd) + f(x-2hd)) / 12h, error O(h^4), for
    costs too curved for the first. Returns the derivatives and the costs.
    """
    offsets = {2: (1, -1), 4: (2, 1, -1, -2)}[points]
    batch = [x + k * step * d for d in directions for k in offsets]
    costs = np.asarray(f(batch), dtype=np.float64).reshape(len(directions), len(offsets))
    if points == 2:
        derivs = (costs[:, 0] - costs[:, 1]) / (2 * step)
    else:
        derivs = (-costs[:, 0] + 8 * costs[:, 1] - 8 * costs[:, 2] + costs[:, 3]) / (12 * step)
    return derivs, costs


def block_directions(rng: np.random.Generator, slices: Mapping[str, slice], size: int, max_coords: int,
                     directions: int) -> Tuple[List[np.ndarray], List[str]]:
    """Unit vectors of a flat parameter vector of ``size`` to take finite differences along, and the
    block each belongs to (``slices``: block name -> its slice, in order): one per coordinate when
    ``size`` is at most ``max_coords`` (an error is then located to its element), else
    ``directions`` random ones per block (two evaluations each, whatever the size)."""
    dirs, owners = [], []
    for name, sl in slices.items():
        if size <= max_coords:
            for k in range(sl.start, sl.stop):
                d = np.zeros(size)
                d[k] = 1.0
                dirs.append(d)
                owners.append(name)
        else:
            for _ in range(directions):
                d = np.zeros(size)
                v = rng.normal(size=sl.stop - sl.start)
                d[sl] = v / np.linalg.norm(v)
                dirs.append(d)
                owners.append(name)
    return dirs, owners


def seeded_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator determined by the rubric seed and names (part id, check id) only."""
    import zlib
    return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode("utf-8")) for n in names])
