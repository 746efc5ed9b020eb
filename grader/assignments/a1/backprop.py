"""Checks of ``forward_backward_prop``: gradients by finite differences, and the cost.

Two questions, told apart for the student: is the gradient consistent with the
student's own cost (if not, the backward pass is wrong), and is it the right
gradient (compared with the reference, block by block: W1, b1, W2, b2)?
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ...checks.base import CheckResult, register
from ...checks.numeric import block_directions, central_difference, index_list, rel_error
from ...checks.returns import CostGrad, check_return
from ...sandbox.student import StudentError
from .inputs import BLOCKS, block_shapes, block_slices
from .inputs import network as network_case

COST_RTOL = 1e-4   # a TA accepts log(yhat + 1e-8) and the like: off by ~1e-6 relative, not a wrong cost
FLOAT32_TOL = 2e-3  # a float32 network is right to float32's precision, not to float64's

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
    value = student(*args)
    try:
        student.last_float32 = _float32(value)
    except AttributeError:
        pass
    return unpack_result(value, np.size(args[2]), student.name)


def _dims_text(args) -> str:
    X, _, _, dims = args
    return "N=%d, Dx=%d, H=%d, Dy=%d" % (X.shape[0], dims[0], dims[1], dims[2])


def convention(cost: float, ref_cost: float, n: int) -> Optional[str]:
    """'sum' or 'mean' when the cost matches the reference under it (within COST_RTOL), else None."""
    if np.isclose(cost, ref_cost, rtol=COST_RTOL, atol=1e-9):
        return "sum"
    if n > 1 and np.isclose(cost, ref_cost / n, rtol=COST_RTOL, atol=1e-9):
        return "mean"
    return None


def _float32(value: Any) -> bool:
    """True when the student's (cost, grad) is computed in float32."""
    return (isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], np.ndarray)
            and value[1].dtype == np.float32)


def _median(values: np.ndarray) -> float:
    """np.median of finite values, without the import of numpy.ma that np.median makes (~13 ms)."""
    ordered = np.sort(np.ravel(values))
    return float(ordered[(ordered.size - 1) // 2] + ordered[ordered.size // 2]) / 2


def not_backpropagated(grad: np.ndarray, ref_grad: np.ndarray, floor: float) -> Optional[str]:
    """Why ``grad`` (right within tolerance) looks computed by finite differences, or None.

    Backpropagation in float64 agrees with the reference to rounding (a median
    relative error near 1e-16); finite differences are off by about 1e-9
    everywhere. Such a "gradient" earns the cost's share only.
    """
    err = rel_error(grad, ref_grad, floor)
    if err.size and np.all(np.isfinite(err)) and _median(err) > 1e-11:
        return ("the gradient is off from the exact one by about %.0e everywhere, as finite differences "
                "of the cost are: compute it by backpropagation" % float(_median(err)))
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
    whole = [next(iter(w.values())) for _, w in wrong_by_case if w and len(set(w.values())) == 1
             and len(w) >= len(BLOCKS)]
    if len(whole) == len(wrong_by_case):
        # Every case failed as a whole (it raised, or returned no usable result): say that, plainly.
        more = " (and in %d more case(s))" % (len(whole) - 1) if len(whole) > 1 else ""
        return CheckResult.fail(whole[0] + more, fraction=1 - n_wrong / total_blocks)
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
            cost, grad = _call(student, args)
        except (BadReturn, StudentError) as exc:
            total += len(BLOCKS)
            wrong_by_case.append((_dims_text(args), {b: _failure_text(student, exc) for b in BLOCKS}))
            continue
        step = opts["step"] * max(1.0, float(np.max(np.abs(params))))
        directions, owners = block_directions(rng, block_slices(dims), params.size, int(opts["max_coords"]),
                                              int(opts["directions"]))

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

        case = _dims_text(args)
        right = unpack_result(reference(X, labels, params, dims), params.size, "the reference")
        try:
            numeric, _ = central_difference(costs, params, directions, step, int(opts["stencil"]))
            why, right_slopes = perturbed_costs_problem(student, reference, args, cost, right[0], directions, step,
                                                        numeric, seen, rng, int(opts["stencil"]))
        except _StudentFailed as exc:
            why = "%s failed at a perturbed point: %s" % (student.name, exc.record.error)
        except (BadReturn, StudentError) as exc:
            why = str(exc)
        if why is None:
            why = _not_a_real_cost(student, args, cost, grad, right, opts)
        if why:
            # This case earns nothing; the others are judged on their own.
            total += len(BLOCKS)
            wrong_by_case.append((case, {b: why for b in BLOCKS}))
            continue
        analytic = np.array([grad @ d for d in directions])
        err = rel_error(analytic, numeric, opts["grad_floor"])
        if right_slopes is not None:
            err = np.minimum(err, rel_error(analytic, right_slopes, opts["grad_floor"]))
        tol = max(opts["grad_tol"], FLOAT32_TOL) if getattr(student, "last_float32", False) else opts["grad_tol"]
        wrong: Dict[str, str] = {}
        for i, block in enumerate(owners):
            if block not in wrong and (not np.isfinite(err[i]) or err[i] > tol):
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


def perturbed_costs_problem(student, reference, args, cost: float, ref_cost: float, directions, step: float,
                            numeric, seen, rng,
                            stencil: int = 2, spot: int = 6) -> Tuple[Optional[str], Optional[np.ndarray]]:
    """Why the costs the finite differences used cannot be trusted, or None.

    A function could tell the batch of perturbed points from other calls and
    answer it with costs made up to fit its (wrong) gradient. Where its cost is
    right (the reference's, summed or averaged, within COST_RTOL), the slopes of
    its costs must be the reference's slopes along the same directions; where
    it is not, a few perturbed points, asked again as ordinary single calls,
    must give the same costs. Also returns the right cost's slopes (None where
    the cost is not right): a gradient that matches them is consistent with the
    cost the assignment asks for, whatever rounding the student's cost adds
    (log(yhat + 1e-8), float32).
    """
    X, labels, params, dims = args
    conv = convention(cost, ref_cost, X.shape[0])
    if conv:
        scale = 1.0 / X.shape[0] if conv == "mean" else 1.0

        def ref_costs(points):
            return [scale * float(reference(X, labels, p, dims)[0]) for p in points]

        expected, _ = central_difference(ref_costs, params, directions, step, stencil)
        err = rel_error(np.asarray(numeric), expected, 1e-3)
        if not getattr(student, "last_float32", False) and (np.any(~np.isfinite(err)) or np.max(err) > 1e-3):
            k = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            return ("%s's costs near the given params (%s) change at a rate of %.6g along a direction where "
                    "its own cost formula changes at %.6g: the cost must come from the forward pass, "
                    "whatever the call" % (student.name, _dims_text(args), numeric[k], expected[k])), expected
        return None, expected
    picks = rng.choice(len(seen), size=min(spot, len(seen)), replace=False) if seen else []
    for k in picks:
        point, got = seen[int(k)]
        alone = _call(student, [X, labels, point, dims])[0]
        if not np.isclose(got, alone, rtol=1e-9, atol=1e-12):
            return ("%s's cost near the given params (%s) is %.10g in the finite-difference batch but %.10g "
                    "when asked alone: the cost must come from the forward pass, whatever the call"
                    % (student.name, _dims_text(args), got, alone)), None
    return None, None


def _failure_text(student, exc) -> str:
    if isinstance(exc, StudentError):
        return "%s %s" % (student.name, exc.describe())
    return str(exc)


def _not_a_real_cost(student, args, cost, grad, right, opts) -> Optional[str]:
    """Consistency counts only where the cost itself is right (a constant agrees with its zero gradient)."""
    X, labels, params, dims = args
    ref_cost, ref_grad = right
    found = convention(cost, ref_cost, X.shape[0])
    if found is None:
        return ("%s returned cost %.6g, expected %.6g (%s): the gradient's consistency counts only for the right "
                "cost" % (student.name, cost, ref_cost, _dims_text(args)))
    expected = ref_grad / (X.shape[0] if found == "mean" else 1)
    if getattr(student, "last_float32", False) or block_report(grad, expected, dims, opts["grad_floor"],
                                                                opts["grad_tol"]):
        return None   # float32 is judged at its precision; a wrong gradient is what consistency is for
    return not_backpropagated(grad, expected, opts["grad_floor"])


class _StudentFailed(Exception):
    def __init__(self, record):
        self.record = record
        super().__init__(record.error)


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
        except (BadReturn, StudentError) as exc:
            keys = BLOCKS + (("cost",) if opts["check_cost"] else ())
            total += len(keys)
            wrong_by_case.append((_dims_text(network_case(np.random.default_rng(0), spec)) + _label_text(spec),
                                  {b: _failure_text(student, exc) for b in keys}))
            continue
        X, _, _, dims = args
        found = convention(cost, ref_cost, X.shape[0])
        scale = 1.0 / X.shape[0] if found == "mean" else 1.0
        expected = np.asarray(ref_grad) * scale
        float32 = getattr(student, "last_float32", False)
        wrong = block_report(grad, expected, dims, opts["grad_floor"], max(opts["grad_tol"], FLOAT32_TOL)
                             if float32 else opts["grad_tol"])
        if wrong and float32:
            wrong = {b: "%s computes in float32, and even at float32's precision %s" % (student.name, w)
                     for b, w in wrong.items()}
        elif not wrong and not float32:
            why = not_backpropagated(grad, expected, opts["grad_floor"])
            if why:
                wrong = {b: why for b in BLOCKS}
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
        total += 1
        try:
            args, (ref_cost, _), (cost, _) = _both(student, reference, rng, spec)
        except (BadReturn, StudentError) as exc:
            failures.append(_failure_text(student, exc))
            continue
        X = args[0]
        found = convention(cost, ref_cost, X.shape[0])
        accepted = {"sum": {"sum"}, "mean": {"mean"}, "either": {"sum", "mean"}}[opts["cost"]]
        if found in accepted:
            continue
        where = "with %s%s" % (_dims_text(args), _label_text(spec))
        if found == "mean":
            failures.append("%s's cost is the mean over the batch (%.6g); this course's rubric asks for the sum "
                            "(%.6g) %s" % (student.name, cost, ref_cost, where))
        elif found == "sum":
            failures.append("%s's cost is the sum over the batch (%.6g); this rubric asks for the mean "
                            "(%.6g) %s" % (student.name, cost, ref_cost / X.shape[0], where))
        else:
            failures.append("%s returned cost %.8g, expected %.8g %s (relative difference %.1e; up to %g is "
                            "accepted)" % (student.name, cost, ref_cost, where, abs(cost - ref_cost) / max(abs(ref_cost), 1e-12),
                                           COST_RTOL))
    if not failures:
        return CheckResult.ok("cost equals the reference (%s over the batch)" % opts["cost"])
    more = " (and %d more case(s))" % (len(failures) - 1) if len(failures) > 1 else ""
    return CheckResult.fail(failures[0] + more, fraction=1 - len(failures) / total)
