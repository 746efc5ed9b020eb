"""Checks of ``forward_backward_prop``: gradients by finite differences, and the cost.

Two questions, told apart for the student: is the gradient consistent with the
student's own cost (if not, the backward pass is wrong), and is it the right
gradient (compared with the reference, block by block: W1, b1, W2, b2)?
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .base import CheckResult, register
from .inputs import BLOCKS, block_shapes, block_slices
from .inputs import network as network_case
from .numeric import index_list, as_float_array, central_difference, rel_error, short

NETWORK_DEFAULTS = {
    "cases": [{"dims": [3, 4, 5, 3]}],   # each a spec for the `network` input generator
    "cost": "sum",                       # sum | mean | either: the cost convention accepted
    "grad_floor": 1e-3,                  # the relative error's denominator never drops below this
    # Centered differences with 2 points and a step of 1e-5 (times max(1, |params|)):
    # truncation ~1e-10 and rounding ~1e-10 on costs of order 10, far below
    # grad_tol * grad_floor; 4 points is there for rubrics with rougher costs.
    "step": 1e-5,
    "stencil": 2,
    "max_coords": 30,                    # coordinate-wise up to this many parameters, else directions
    "directions": 3,                     # random directions per block for large cases
    "check_cost": False,                 # network_gradient: also require a finite, right cost
}


class BadReturn(Exception):
    """forward_backward_prop did not return (cost, grad) of the right shapes."""


def unpack_result(value: Any, n_params: int) -> Tuple[float, np.ndarray]:
    """(cost, grad) from what the student returned, or BadReturn saying what came back."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise BadReturn("returned %s; expected a pair (cost, grad)" % short(value))
    cost = as_float_array(value[0])
    grad = as_float_array(value[1])
    if cost is None or cost.size != 1:
        raise BadReturn("returned a cost of %s; expected one number" % short(value[0]))
    if grad is None or grad.size != n_params:
        raise BadReturn("returned a gradient of %s; expected %d numbers, the size of params"
                        % (short(value[1]), n_params))
    return float(cost.reshape(-1)[0]), grad.reshape(-1)


def _call(student, args) -> Tuple[float, np.ndarray]:
    return unpack_result(student(*args), np.size(args[2]))


def _dims_text(args) -> str:
    X, _, _, dims = args
    return "N=%d, Dx=%d, H=%d, Dy=%d" % (X.shape[0], dims[0], dims[1], dims[2])


def convention(cost: float, ref_cost: float, n: int) -> Optional[str]:
    """'sum' or 'mean' when the cost matches the reference under it, else None."""
    if np.isclose(cost, ref_cost, rtol=1e-6, atol=1e-9):
        return "sum"
    if n > 1 and np.isclose(cost, ref_cost / n, rtol=1e-6, atol=1e-9):
        return "mean"
    return None


def block_report(got: np.ndarray, expected: np.ndarray, dims, floor: float, tol: float) -> Dict[str, str]:
    """Per wrong block: the worst element, expected vs got, its relative error and the tolerance."""
    wrong = {}
    shapes = block_shapes(dims)
    for name, sl in block_slices(dims).items():
        err = rel_error(got[sl], expected[sl], floor)
        if err.size and (not np.all(np.isfinite(err)) or err.max() > tol):
            k = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            idx = index_list(np.unravel_index(k, shapes[name]))
            wrong[name] = "%s%s: expected %.6g, got %.6g (relative error %.2g > %g)" % (
                name, idx, expected[sl][k], got[sl][k], err[k], tol)
    return wrong


def _summarize(wrong_by_case: List[Tuple[str, Dict[str, str]]], total_blocks: int, ok_text: str,
               what: str) -> CheckResult:
    n_wrong = sum(len(w) for _, w in wrong_by_case)
    if n_wrong == 0:
        return CheckResult.ok(ok_text)
    case, wrong = next((c, w) for c, w in wrong_by_case if w)
    order = ("cost",) + BLOCKS
    blocks = sorted({b for _, w in wrong_by_case for b in w}, key=order.index)
    first = wrong[next(b for b in order if b in wrong)]
    message = "%s in block(s) %s; with %s: %s" % (what, ", ".join(blocks), case, first)
    return CheckResult.fail(message, fraction=1 - n_wrong / total_blocks, blocks=blocks)


# Finite differences carry ~1e-7 of noise here: a looser bound than against the reference.
@register("network_consistency", defaults=dict(NETWORK_DEFAULTS, grad_tol=1e-5))
def network_consistency(student, reference, opts, rng) -> CheckResult:
    """The student's gradient matches finite differences of the student's own cost.

    Coordinate-wise (every parameter) on small cases, along random directions
    inside each block on larger ones; graded per block.
    """
    wrong_by_case, total = [], 0
    for spec in opts["cases"]:
        args = network_case(rng, spec)
        X, labels, params, dims = args
        try:
            _, grad = _call(student, args)
        except BadReturn as exc:
            return CheckResult.fail("forward_backward_prop " + str(exc))
        step = opts["step"] * max(1.0, float(np.max(np.abs(params))))
        directions, owners = _directions(rng, dims, params.size, opts)

        def costs(points):
            records = student.map([X, labels, params, dims], 2, points)
            out = []
            for record in records:
                if not record.ok:
                    raise _StudentFailed(record)
                out.append(unpack_result(record.value, params.size)[0])
            return out

        try:
            numeric, _ = central_difference(costs, params, directions, step, int(opts["stencil"]))
        except _StudentFailed as exc:
            return CheckResult.fail("forward_backward_prop failed at a perturbed point: %s" % exc.record.error)
        except BadReturn as exc:
            return CheckResult.fail("forward_backward_prop " + str(exc))
        analytic = np.array([grad @ d for d in directions])
        err = rel_error(analytic, numeric, opts["grad_floor"])
        wrong: Dict[str, str] = {}
        for i, block in enumerate(owners):
            if block not in wrong and (not np.isfinite(err[i]) or err[i] > opts["grad_tol"]):
                nz = np.flatnonzero(directions[i])
                where = (" element %s" % index_list(np.unravel_index(nz[0] - block_slices(dims)[block].start,
                                                              block_shapes(dims)[block]))) if nz.size == 1 else \
                    " (a random direction)"
                wrong[block] = ("%s%s: your gradient gives %.6g, finite differences of your cost "
                                "give %.6g (relative error %.2g > %g)" % (block, where, analytic[i], numeric[i],
                                                                           err[i], opts["grad_tol"]))
        total += len(BLOCKS)
        wrong_by_case.append((_dims_text(args), wrong))
    return _summarize(wrong_by_case, total, "gradient agrees with finite differences of your cost",
                      "your gradient disagrees with your own cost (the backward pass is wrong)")


class _StudentFailed(Exception):
    def __init__(self, record):
        self.record = record
        super().__init__(record.error)


def _directions(rng, dims, n_params, opts):
    """Unit vectors (one per coordinate, or a few random ones per block) and their block."""
    slices = block_slices(dims)
    dirs, owners = [], []
    for name in BLOCKS:
        sl = slices[name]
        if n_params <= opts["max_coords"]:
            for k in range(sl.start, sl.stop):
                d = np.zeros(n_params)
                d[k] = 1.0
                dirs.append(d)
                owners.append(name)
        else:
            for _ in range(int(opts["directions"])):
                d = np.zeros(n_params)
                v = rng.normal(size=sl.stop - sl.start)
                d[sl] = v / np.linalg.norm(v)
                dirs.append(d)
                owners.append(name)
    return dirs, owners


def _both(student, reference, rng, spec):
    """One generated case: its arguments, the reference's (cost, grad) and the student's."""
    args = network_case(rng, spec)
    X, labels, params, dims = args
    expected = reference(X.copy(), labels.copy(), params.copy(), list(dims))
    return args, expected, _call(student, args)


@register("network_gradient", defaults=NETWORK_DEFAULTS)
def network_gradient(student, reference, opts, rng) -> CheckResult:
    """The student's gradient equals the reference's, block by block.

    Judged under the student's own cost convention (a gradient consistently
    averaged over the batch is right here; the convention has its own check).
    """
    wrong_by_case, total = [], 0
    for spec in opts["cases"]:
        try:
            args, (ref_cost, ref_grad), (cost, grad) = _both(student, reference, rng, spec)
        except BadReturn as exc:
            return CheckResult.fail("forward_backward_prop " + str(exc))
        X, _, _, dims = args
        found = convention(cost, ref_cost, X.shape[0])
        scale = 1.0 / X.shape[0] if found == "mean" else 1.0
        wrong = block_report(grad, np.asarray(ref_grad) * scale, dims, opts["grad_floor"], opts["grad_tol"])
        total += len(BLOCKS)
        if opts["check_cost"]:
            total += 1
            if found is None:
                wrong["cost"] = "cost: expected %.6g (a sum) or %.6g (a mean), got %.6g" % (
                    ref_cost, ref_cost / X.shape[0], cost)
        wrong_by_case.append((_dims_text(args) + _label_text(spec), wrong))
    return _summarize(wrong_by_case, total, "gradient equals the reference in every block",
                      "wrong result")


def _label_text(spec) -> str:
    parts = []
    if spec.get("label") == "argmax":
        parts.append("every label at the largest logit")
    if spec.get("logit_offset"):
        parts.append("logits near %g" % spec["logit_offset"])
    return (", " + ", ".join(parts)) if parts else ""


@register("network_cost", defaults=NETWORK_DEFAULTS)
def network_cost(student, reference, opts, rng) -> CheckResult:
    """The cost equals the reference's under the rubric's convention (the handout: a sum)."""
    failures, total = [], 0
    for spec in opts["cases"]:
        try:
            args, (ref_cost, _), (cost, _) = _both(student, reference, rng, spec)
        except BadReturn as exc:
            return CheckResult.fail("forward_backward_prop " + str(exc))
        X = args[0]
        total += 1
        found = convention(cost, ref_cost, X.shape[0])
        accepted = {"sum": {"sum"}, "mean": {"mean"}, "either": {"sum", "mean"}}[opts["cost"]]
        if found in accepted:
            continue
        where = "with %s%s" % (_dims_text(args), _label_text(spec))
        if found == "mean":
            failures.append("the cost is the mean over the batch (%.6g), the handout asks for the sum "
                            "(%.6g) %s" % (cost, ref_cost, where))
        elif found == "sum":
            failures.append("the cost is the sum over the batch (%.6g); this rubric asks for the mean "
                            "(%.6g) %s" % (cost, ref_cost / X.shape[0], where))
        else:
            failures.append("cost %.6g, expected %.6g %s" % (cost, ref_cost, where))
    if not failures:
        return CheckResult.ok("cost equals the reference (%s over the batch)" % opts["cost"])
    more = " (and %d more case(s))" % (len(failures) - 1) if len(failures) > 1 else ""
    return CheckResult.fail(failures[0] + more, fraction=1 - len(failures) / total)
