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
from .numeric import central_difference, index_list, rel_error
from .returns import CostGrad, check_return

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
    """The student's function did not return (cost, grad) of the right form; ``result`` is
    the check's verdict, saying what came back."""

    def __init__(self, result: CheckResult):
        super().__init__(result.message)
        self.result = result


def unpack_result(value: Any, n_params: int, who: str) -> Tuple[float, np.ndarray]:
    """(cost, grad of shape (n_params,)) from what ``who`` returned, or BadReturn."""
    pair, failure = check_return(value, CostGrad(n_params), who)
    if failure:
        raise BadReturn(failure)
    return pair


def _call(student, args) -> Tuple[float, np.ndarray]:
    return unpack_result(student(*args), np.size(args[2]), student.name)


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
            return exc.result
        step = opts["step"] * max(1.0, float(np.max(np.abs(params))))
        directions, owners = _directions(rng, dims, params.size, opts)

        seen: List[Tuple[np.ndarray, float]] = []

        def costs(points):
            records = student.map([X, labels, params, dims], 2, points)
            out = []
            for point, record in zip(points, records):
                if not record.ok:
                    raise _StudentFailed(record)
                out.append(unpack_result(record.value, params.size, student.name)[0])
                seen.append((point, out[-1]))
            return out

        try:
            numeric, _ = central_difference(costs, params, directions, step, int(opts["stencil"]))
            lie = perturbed_costs_problem(student, reference, args, _call(student, args)[0], seen, rng)
        except _StudentFailed as exc:
            return CheckResult.fail("%s failed at a perturbed point: %s" % (student.name, exc.record.error))
        except BadReturn as exc:
            return exc.result
        if lie:
            return CheckResult.fail(lie)
        if not np.any(grad) and not np.any(numeric):
            # A constant cost with a zero gradient agrees with itself and computes nothing.
            return CheckResult.fail("%s returns a cost that does not change with params and a zero gradient "
                                    "(%s): consistency counts only for a real cost" % (student.name, _dims_text(args)))
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
                      "%s's gradient disagrees with its own cost (the backward pass is wrong)" % student.name)


def perturbed_costs_problem(student, reference, args, cost: float, seen, rng, spot: int = 6) -> Optional[str]:
    """Why the costs the finite differences used cannot be trusted, or None.

    A function could tell the batch of perturbed points from other calls and
    answer it with costs made up to fit its gradient. Where its cost is right
    (the reference's, summed or averaged), every perturbed cost must be the
    reference's at the same point; where it is not, a few perturbed points,
    asked again as ordinary single calls, must give the same costs.
    """
    X, labels, params, dims = args
    ref_cost = float(unpack_result(reference(X, labels, params, dims), params.size, "the reference")[0])
    conv = convention(cost, ref_cost, X.shape[0])
    picks = rng.choice(len(seen), size=min(spot, len(seen)), replace=False) if seen else []
    for k in (range(len(seen)) if conv else picks):
        point, got = seen[int(k)]
        if conv:
            expected = float(reference(X, labels, point, dims)[0]) / (X.shape[0] if conv == "mean" else 1)
        else:
            expected = _call(student, [X, labels, point, dims])[0]
        if not np.isclose(got, expected, rtol=1e-7, atol=1e-9):
            return ("%s's cost near the given params (%s) is %.10g in the finite-difference batch, but "
                    "%.10g %s: the cost must come from the forward pass, whatever the call"
                    % (student.name, _dims_text(args), got, expected,
                       "by the cost formula" if conv else "when asked alone"))
    return None


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
            return exc.result
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
                      "%s returned a wrong result" % student.name)


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
            return exc.result
        X = args[0]
        total += 1
        found = convention(cost, ref_cost, X.shape[0])
        accepted = {"sum": {"sum"}, "mean": {"mean"}, "either": {"sum", "mean"}}[opts["cost"]]
        if found in accepted:
            continue
        where = "with %s%s" % (_dims_text(args), _label_text(spec))
        if found == "mean":
            failures.append("%s's cost is the mean over the batch (%.6g), the handout asks for the sum "
                            "(%.6g) %s" % (student.name, cost, ref_cost, where))
        elif found == "sum":
            failures.append("%s's cost is the sum over the batch (%.6g); this rubric asks for the mean "
                            "(%.6g) %s" % (student.name, cost, ref_cost / X.shape[0], where))
        else:
            failures.append("%s returned cost %.6g, expected %.6g %s" % (student.name, cost, ref_cost, where))
    if not failures:
        return CheckResult.ok("cost equals the reference (%s over the batch)" % opts["cost"])
    more = " (and %d more case(s))" % (len(failures) - 1) if len(failures) > 1 else ""
    return CheckResult.fail(failures[0] + more, fraction=1 - len(failures) / total)
