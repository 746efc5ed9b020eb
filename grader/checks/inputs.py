"""Inputs for the checks: literal cases from the rubric and seeded generated ones.

Every generator takes the check's ``rng`` and a spec (a mapping from the rubric)
and returns the positional arguments of one call. Generators are registered in
``GENERATORS`` so a rubric can name them: ``random: [{gen: array, shape: [4, 5]}]``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping

import numpy as np


def literal(case: Any) -> List[Any]:
    """A rubric case (a list of positional arguments) as arrays; integers stay integers."""
    if not isinstance(case, (list, tuple)):
        case = [case]
    return [np.asarray(arg) if isinstance(arg, (list, tuple, int, float)) else arg for arg in case]


def array(rng: np.random.Generator, spec: Mapping[str, Any]) -> List[Any]:
    """One array: normal(offset, scale), uniform(low, high) or integers, of ``shape``."""
    shape = tuple(spec.get("shape", [5]))
    if spec.get("int"):
        lo, hi = int(spec.get("low", -5)), int(spec.get("high", 6))
        return [rng.integers(lo, hi, size=shape)]
    if "low" in spec or "high" in spec:
        x = rng.uniform(float(spec.get("low", 0.0)), float(spec.get("high", 1.0)), size=shape)
    else:
        x = rng.normal(0.0, float(spec.get("scale", 1.0)), size=shape)
    return [x + float(spec.get("offset", 0.0))]


def one_hot(rng: np.random.Generator, logits: np.ndarray, label: str) -> np.ndarray:
    """One-hot rows: at random classes, at each row's largest logit, or anywhere but there.

    ``random`` still puts the first row's label at its largest logit and the
    second's elsewhere: inputs differ per submission, and a mistake that shows
    only on one kind of row (the label at the argmax) must cost the same in
    every draw, not by luck.
    """
    n, d = logits.shape
    top = np.argmax(logits, axis=1)
    away = (top + rng.integers(1, d, size=n)) % d if d > 1 else top
    if label == "argmax":
        cls = top
    elif label == "not_argmax":
        cls = away
    else:
        cls = rng.integers(0, d, size=n)
        cls[0] = top[0]
        if n > 1:
            cls[1] = away[1]
    labels = np.zeros((n, d))
    labels[np.arange(n), cls] = 1.0
    return labels


# name -> generator; an assignment's plug-in adds its own (grader.plugins.input_generator).
GENERATORS: Dict[str, Callable[[np.random.Generator, Mapping[str, Any]], List[Any]]] = {"array": array}


def generate(rng: np.random.Generator, spec: Mapping[str, Any]) -> List[Any]:
    """Arguments for one call from a generator spec (``gen`` defaults to ``array``)."""
    name = spec.get("gen", "array")
    if name not in GENERATORS:
        raise ValueError("unknown input generator %r (known: %s)" % (name, ", ".join(sorted(GENERATORS))))
    return GENERATORS[name](rng, spec)
