"""Assignment 1's inputs: cross-entropy batches, and the two-layer network's parameter packing.

The network's parameters travel as one flat vector: W1, b1, W2, b2, each flattened row-major,
in this order (the handout's "do not modify" lines). ``dims`` is [Dx, H, Dy].
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from ...checks.inputs import one_hot
from ...plugins import input_generator


@input_generator("ce_batch")
def ce_batch(rng: np.random.Generator, spec: Mapping[str, Any]) -> List[Any]:
    """(theta, labels): n rows of d logits and one-hot labels."""
    n, d = int(spec.get("n", 4)), int(spec.get("d", 5))
    theta = rng.normal(0.0, float(spec.get("scale", 2.0)), size=(n, d)) + float(spec.get("offset", 0.0))
    return [theta, one_hot(rng, theta, str(spec.get("label", "random")))]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@input_generator("network")
def network(rng: np.random.Generator, spec: Mapping[str, Any]) -> List[Any]:
    """(X, labels, params, dimensions) for forward_backward_prop.

    ``dims: [N, Dx, H, Dy]``; ``scale`` of the parameters; ``logit_offset`` added
    to b2 (1000 puts every logit near 1000); ``label``: random, argmax (each
    example's label at its largest logit) or not_argmax.
    """
    n, dx, h, dy = (int(v) for v in spec["dims"])
    X = rng.normal(size=(n, dx))
    params = rng.normal(0.0, float(spec.get("scale", 1.0)), size=(dx + 1) * h + (h + 1) * dy)
    params[-dy:] += float(spec.get("logit_offset", 0.0))
    W1, b1, W2, b2 = unpack(params, [dx, h, dy])
    logits = sigmoid(X @ W1 + b1) @ W2 + b2
    labels = one_hot(rng, logits, str(spec.get("label", "random")))
    return [X, labels, params, [dx, h, dy]]


BLOCKS = ("W1", "b1", "W2", "b2")


def block_slices(dims: Sequence[int]) -> Dict[str, slice]:
    """Where W1, b1, W2, b2 sit in the flat parameter vector (row-major, in this order)."""
    dx, h, dy = dims
    sizes = [dx * h, h, h * dy, dy]
    out, start = {}, 0
    for name, size in zip(BLOCKS, sizes):
        out[name] = slice(start, start + size)
        start += size
    return out


def block_shapes(dims: Sequence[int]) -> Dict[str, tuple]:
    dx, h, dy = dims
    return {"W1": (dx, h), "b1": (1, h), "W2": (h, dy), "b2": (1, dy)}


def unpack(params: np.ndarray, dims: Sequence[int]) -> List[np.ndarray]:
    shapes = block_shapes(dims)
    return [params[s].reshape(shapes[name]) for name, s in block_slices(dims).items()]
