"""Assignment 1's known mistakes: recognize them in what a student's function returned.

The finders at the end (``FINDERS``) name the mistakes real solutions to this homework make
(sample_submissions/manifest.yaml names a sample of each); the rubric holds each mistake's
hint (a part's ``mistakes:``), and the engine calls a part's finder only when it lost points
(grader.diagnose). Value mistakes are deliberate variants of the
reference, computed here in the grading process: when the student's function
agrees with a variant (and not with the reference) on a few probe inputs chosen
to tell them apart, that mistake is named. Behaviour mistakes of a gradient
checker are read from what it did: the points where it evaluated the cost, its
verdicts, and whether x came back unchanged.

Diagnosis is deterministic (fixed probes). It adds hints; it never changes a score. What the
student's function returned is read through grader.checks.returns: a value of
the wrong form is an outcome that matches no variant (nan), never an exception.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np

from ...checks.returns import CostGrad, check_return, numbers
from ...sandbox.wire import FunctionSpec
from .inputs import block_slices, unpack

def _softmax(x, axis=-1, shift="max"):
    x = np.asarray(x, dtype=np.float64)
    if shift == "max":
        x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _rowwise(fn):
    def variant(x):
        x = np.asarray(x, dtype=np.float64)
        return fn(x) if x.ndim == 1 else fn(x, True)
    return variant


SOFTMAX_VARIANTS: Dict[str, Callable[[np.ndarray], Any]] = {
    "softmax_no_shift": lambda x: _softmax(x, shift=None),
    "softmax_shift_2d_only": lambda x: _softmax(x) if np.ndim(x) > 1 else _softmax(x, shift=None),
    "softmax_shift_min": lambda x: _softmax(np.asarray(x, float) - np.min(x, axis=-1, keepdims=True), shift=None),
    "softmax_mean_shift": lambda x: _softmax(np.asarray(x, float) - np.mean(x, axis=-1, keepdims=True), shift=None),
    "softmax_global_max": lambda x: _softmax(np.asarray(x, float) - np.max(x), shift=None),
    "softmax_argmax_shift": lambda x: _softmax(np.asarray(x, float) - np.argmax(x, axis=-1)[..., None]
                                               if np.ndim(x) > 1 else np.asarray(x, float) - np.argmax(x), shift=None),
    "softmax_wrong_axis": lambda x: _softmax(x, axis=0),
    "softmax_global_sum": lambda x: (lambda e: e / e.sum())(np.exp(np.asarray(x, float) - np.max(x, axis=-1, keepdims=True))),
    "softmax_sum_no_keepdims": lambda x: (lambda e: e / e.sum(axis=-1))(np.exp(np.asarray(x, float) - np.max(x, axis=-1, keepdims=True))),
    "softmax_no_1d": lambda x: _softmax(x, axis=1),
}
SOFTMAX_PROBES = [np.array([[708.0, 710.0, 0.0]]),   # an index-sized shift keeps exp(709) finite: no shift does not
                  np.array([1000.0, 1001.0, 1002.0]), np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 0.0]]),
                  np.array([[0.0, 800.0], [-800.0, 0.0]]), np.array([[1000.0, 1001.0], [-1000.0, -999.0]]),
                  np.array([[2.0, 1.0], [0.5, 3.0], [1.0, 1.0]]),
                  np.array([[0.0] * 9 + [800.0]])]   # a long row: only there does a mean shift overflow


def _outcome(fn, args):
    """A comparable outcome of one call: ('ok', value) or ('raises', None)."""
    try:
        with np.errstate(all="ignore"):
            return "ok", np.asarray(fn(*args), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a variant (or the student) that fails is an outcome too
        return "raises", None


def _same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raises":
        return True
    x, y = a[1], b[1]
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=1e-6, atol=1e-8, equal_nan=True))


def match_variants(student_outcomes, reference, variants, probes) -> List[str]:
    """Ids of the variants that agree with the student on every probe, where the reference does not."""
    ref = [_outcome(reference, p) for p in probes]
    if all(_same(s, r) for s, r in zip(student_outcomes, ref)):
        return []
    return [name for name, fn in variants.items()
            if all(_same(s, _outcome(fn, p)) for s, p in zip(student_outcomes, probes))]


def _student_outcomes(student, probes):
    out = []
    for args in probes:
        record = student.run(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])
        if record.ok:
            arr = numbers(record.value)
            out.append(("ok", arr if arr is not None else np.array(np.nan)))
        else:
            out.append(("raises", None))
    return out


# ------------------------------------------------------------------ network variants

def network(X, labels, params, dims, sigmoid, softmax, *, cost_mean=False, grad_mean=False, divide=None,
            bias_first=False, preact=False, transpose=False, sigmoid_out=False, order=("W1", "b1", "W2", "b2"),
            unshifted=False, skip_argmax=False, fold_at_h=False):
    """The two-layer network with switches for the known mistakes (the reference's maths otherwise)."""
    W1, b1, W2, b2 = unpack(np.asarray(params, dtype=np.float64), dims)
    n = X.shape[0]
    if fold_at_h:
        # The bias as an extra input column, inserted at index H instead of at the end.
        X1 = np.insert(X, dims[1], 1.0, axis=1)
        z1 = X1 @ np.vstack([W1, b1])
        W1_rows = X1
    else:
        z1 = X @ W1 + b1
        W1_rows = None
    h = sigmoid(z1)
    z2 = h @ W2 + b2
    if sigmoid_out:
        yhat = sigmoid(z2)
    elif unshifted:
        e = np.exp(z2)
        yhat = e / e.sum(axis=1, keepdims=True)
    else:
        yhat = softmax(z2)
    cost = -np.sum(np.log(np.sum(yhat * labels, axis=1)))
    delta2 = yhat - labels
    if skip_argmax:
        delta2[np.argmax(yhat, axis=1) == np.argmax(labels, axis=1)] = 0.0
    grads = {"W2": h.T @ delta2, "b2": delta2[0] if bias_first else delta2.sum(axis=0)}
    s = sigmoid(z1) if not preact else z1
    delta1 = (delta2 @ W2.T) * (s * (1 - s))
    if W1_rows is not None:
        folded = W1_rows.T @ delta1
        grads["W1"], grads["b1"] = folded[:-1], folded[-1]
    else:
        grads["W1"] = X.T @ delta1
        grads["b1"] = delta1.sum(axis=0)
    if transpose:
        grads["W1"] = grads["W1"].T
    if divide:
        grads[divide] = grads[divide] / n
    grad = np.concatenate([np.ravel(grads[b]) for b in order])
    if grad_mean:
        grad = grad / n
    return (cost / n if cost_mean else cost), grad


NETWORK_VARIANTS = {
    "network_mean_cost_sum_grad": {"cost_mean": True},
    "network_both_mean": {"cost_mean": True, "grad_mean": True},
    "network_double_divide": {"divide": "W2"},
    "network_bias_not_summed": {"bias_first": True},
    "network_sigmoid_grad_preactivation": {"preact": True},
    "network_transposed_weight_grad": {"transpose": True},
    "network_sigmoid_output": {"sigmoid_out": True},
    "network_packing_changed": {"order": ("W1", "W2", "b1", "b2")},
    "network_unshifted_cost": {"unshifted": True},
    "network_argmax_label_bug": {"skip_argmax": True},
    "network_bias_fold_wrong_index": {"fold_at_h": True},
}


def _network_probes():
    rng = np.random.default_rng(2024)
    probes = []
    for n, dx, h, dy, offset in ((5, 4, 3, 4, 0.0), (3, 3, 4, 2, 1000.0)):
        X = rng.normal(size=(n, dx))
        params = rng.normal(size=(dx + 1) * h + (h + 1) * dy)
        params[block_slices([dx, h, dy])["b2"]] += offset
        labels = np.eye(dy)[rng.integers(0, dy, size=n)]
        W1, b1, W2, b2 = unpack(params, [dx, h, dy])
        top = np.argmax((0.5 * (1 + np.tanh(0.5 * (X @ W1 + b1)))) @ W2 + b2, axis=1)
        labels[:2] = np.eye(dy)[top[:2]]   # two examples labelled at their largest logit
        probes.append((X, labels, params, [dx, h, dy]))
    return probes


def _pair(value, n_params):
    """('ok', [cost, *grad]) of a (cost, grad) return; ('ok', nan) when it is not one."""
    pair, failure = check_return(value, CostGrad(n_params), "")
    if failure:
        return ("ok", np.array(np.nan))
    return ("ok", np.concatenate([[pair[0]], pair[1]]))


def diagnose_network(student, reference) -> List[str]:
    probes = _network_probes()
    outcomes = []
    for args in probes:
        record = student.run(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])
        if not record.ok:
            if record.error_info.get("type") == "NotImplementedError":
                return ["network_not_implemented"]
            outcomes.append(("raises", None))
        else:
            outcomes.append(_pair(record.value, args[2].size))
    if all(o[0] == "ok" and o[1].size > 1 and np.allclose(o[1], 0) for o in outcomes):
        return ["network_constant"]
    sig, soft = reference.sibling("sigmoid"), reference.sibling("softmax")
    variants = {name: (lambda *a, _o=opts: _pair(network(*a, sig, soft, **_o), a[2].size)[1])
                for name, opts in NETWORK_VARIANTS.items()}
    return match_variants(outcomes, lambda *a: _pair(reference(*a), a[2].size)[1], variants, probes)


# ------------------------------------------------------------------ gradient checker behaviour

def diagnose_gradcheck(student, part) -> List[str]:
    verdicts = {c.id: c.details.get("verdict") for c in part.checks}
    passed = {c.id: c.passed for c in part.checks}
    found: List[str] = []
    if verdicts.get("reports_wrong") == "both":
        found.append("gradcheck_no_return")
    elif verdicts.get("reports_wrong") == "error":
        found.append("gradcheck_format_bug")
    elif verdicts.get("reports_wrong") == "pass" and verdicts.get("reports_wrong_odd_index") == "pass" and \
            any(v == "no_control" for v in verdicts.values()):
        return ["gradcheck_always_passes"]
    steps = _perturbations(student)
    if steps is not None:
        deltas, indices, size, moved, finished = steps
        if deltas and all(d > 0 for d in deltas):
            found.append("gradcheck_one_sided")
        elif deltas and not np.allclose(sorted({round(abs(d), 12) for d in deltas}), 1e-4, rtol=1e-3):
            found.append("gradcheck_changed_step")
        # Only a checker that went to the end without reporting shows which elements it skips.
        if finished and len(indices) > 1 and len(indices) <= (size + 1) // 2 and all(i % 2 == 0 for i in indices):
            found.append("gradcheck_double_iternext")
        if moved == "far":
            found.append("gradcheck_x_not_restored")
        elif moved == "rounding":
            found.append("gradcheck_x_restored_inexactly")
    if passed.get("passes_correct") and passed.get("passes_curved") is not False:
        if passed.get("passes_random_cost") is False:
            found.append("gradcheck_random_state_once")
        if passed.get("passes_large_negative") is False:
            found.append("gradcheck_no_abs")
    return found


def _perturbations(student):
    """How the checker moved x on a correct quadratic: (signed steps, indices, size, how x came back)."""
    x = np.linspace(-7.3, 9.1, 12).reshape(3, 4) + np.pi
    record = student.run(FunctionSpec("quadratic"), x.copy(), keep_args=True)
    if not record.f_calls:
        return None
    deltas, indices = [], set()
    for point in record.f_calls[0]:
        point = numbers(point)
        if point is None or point.size != x.size:   # f called on something else than x: no step to read
            continue
        diff = point.reshape(-1) - x.reshape(-1)
        nz = np.flatnonzero(np.abs(diff) > 1e-9)
        if nz.size == 1:
            deltas.append(float(diff[nz[0]]))
            indices.add(int(nz[0]))
    after = record.args_after[1] if record.args_after and len(record.args_after) > 1 else None
    moved = None
    if isinstance(after, np.ndarray) and after.shape == x.shape and not np.array_equal(after, x):
        moved = "rounding" if np.allclose(after, x, rtol=1e-12, atol=0) else "far"
    from ...checks.gradcheck import verdict
    return deltas, sorted(indices), x.size, moved, verdict(record) == "pass"


# ------------------------------------------------------------------ finders (the rubric names them)

def softmax(part, student, reference) -> List[str]:
    found = match_variants(_student_outcomes(student, [(p,) for p in SOFTMAX_PROBES]), reference,
                           SOFTMAX_VARIANTS, [(p,) for p in SOFTMAX_PROBES])[:1]
    if any(c.id == "input_unchanged" and not c.passed and "in place" in c.message for c in part.checks):
        found.append("softmax_mutates_input")
    # Only a timing failure says loops; a vectorized check can also fail on what came back.
    if any(c.id == "vectorized" and not c.passed and "timing" in c.details for c in part.checks) and not found:
        found.append("softmax_loops")
    return found


def sigmoid(part, student, reference) -> List[str]:
    probe = [(np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0]),)]
    variant = {"sigmoid_unstable": lambda x: np.exp(x) / (np.exp(x) + 1.0)}
    return match_variants(_student_outcomes(student, probe), reference, variant, probe)


def sigmoid_grad(part, student, reference) -> List[str]:
    sig = reference.sibling("sigmoid")
    probe = [(np.array([0.1, 0.5, 0.9, 0.99]),)]
    return match_variants(_student_outcomes(student, probe), reference,
                          {"sigmoid_grad_from_x": lambda s: sig(s) * (1 - sig(s))}, probe)


def ce_grad(part, student, reference) -> List[str]:
    theta = np.array([[1.0, 2.0, 0.5], [0.2, -1.0, 3.0]])
    labels = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    soft = reference.sibling("softmax")
    probe = [(theta, labels)]
    return match_variants(_student_outcomes(student, probe), reference,
                          {"ce_grad_diagonal": lambda t, y: soft(t) * (1 - soft(t))}, probe)


def gradcheck(part, student, reference) -> List[str]:
    return diagnose_gradcheck(student, part)


def network_mistakes(part, student, reference) -> List[str]:
    return diagnose_network(student, reference)[:1]


# finder function -> the ids it can name: every one needs a hint in the rubric's ``mistakes:``.
IDS = {
    "softmax": list(SOFTMAX_VARIANTS) + ["softmax_mutates_input", "softmax_loops"],
    "sigmoid": ["sigmoid_unstable"],
    "sigmoid_grad": ["sigmoid_grad_from_x"],
    "ce_grad": ["ce_grad_diagonal"],
    "gradcheck": ["gradcheck_one_sided", "gradcheck_changed_step", "gradcheck_x_not_restored",
                  "gradcheck_x_restored_inexactly", "gradcheck_random_state_once", "gradcheck_double_iternext",
                  "gradcheck_no_abs", "gradcheck_no_return", "gradcheck_always_passes", "gradcheck_format_bug"],
    "network_mistakes": ["network_not_implemented", "network_constant"] + list(NETWORK_VARIANTS),
}
