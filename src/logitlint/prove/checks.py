"""Does a fix's class hold on one trial? The measurements behind each verdict.

Differences are normalised as the spec measures them: |a - b| / max(|ref|, 1), on positions where
both are finite. Tolerances: float32 2e-5, float64 1e-10 (16x that on extreme inputs, where only
bug-fix compares values). Every comparison is made in the trial's dtype, so rounding upstream of
the fix (shared by both sides) cannot pass for a change the fix made.
- exact: at most 2 machine epsilons from the original on every input (gradients 8), non-finite
  exactly where the original is; indices (argmax) equal. Small (1e-4, 1e-7) scales are skipped:
  they are near-ties, the documented exception.
- finite / precision: within tolerance of the original on moderate and small inputs, values and
  gradients; on extreme inputs finite (values and gradients) wherever the original is.
- bug-fix: within tolerance of the intent (the original as its author meant it, see interpret.py)
  on every input, values and gradients, and finite wherever the intent is.
- value-change: within 1e-3 of the original at randn scale; never NaN where the original is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from logitlint.diagnostics import FixClass
from logitlint.prove.inputs import Trial

TOLERANCE = {torch.float32: 2e-5, torch.float64: 1e-10}
EXTREME_FACTOR = 16.0
VALUE_CHANGE_BOUND = 1e-3


@dataclass
class Side:
    value: torch.Tensor
    grads: dict[str, torch.Tensor]


@dataclass
class Tally:
    fix_class: FixClass
    inputs: int = 0  # trials the original ran on
    skipped: int = 0  # trials where the original itself raises (not that input's business)
    max_difference: float = 0.0  # values, on the inputs where the class compares values
    max_grad_difference: float = 0.0
    original_nonfinite: int = 0  # trials where the original's value had inf/nan
    original_bad_grads: int = 0  # ... its gradients
    rewrite_nonfinite: int = 0
    rewrite_bad_grads: int = 0
    values_fixed: int = 0  # trials with an entry non-finite in the original and finite in the rewrite
    grads_fixed: int = 0
    failure: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, trial: Trial, what: str) -> None:
        if self.failure is None:
            self.failure = f"{what} on {trial.describe()}"


def _f64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float64) if t.is_floating_point() else t.detach().to(torch.float64)


def normalised_difference(a: torch.Tensor, ref: torch.Tensor) -> float:
    a, ref = _f64(a), _f64(ref)
    a, ref = torch.broadcast_tensors(a, ref)
    both = torch.isfinite(ref) & torch.isfinite(a)
    if not both.any():
        return 0.0
    diff = (a - ref).abs() / ref.abs().clamp(min=1.0)
    return float(diff[both].max())


def finite_where(a: torch.Tensor, ref: torch.Tensor) -> bool:
    """``a`` is finite wherever ``ref`` is."""
    a, ref = torch.broadcast_tensors(_f64(a), _f64(ref))
    return bool(torch.isfinite(a)[torch.isfinite(ref)].all())


def _nan_where_not(a: torch.Tensor, ref: torch.Tensor) -> bool:
    a, ref = torch.broadcast_tensors(_f64(a), _f64(ref))
    return bool((torch.isnan(a) & ~torch.isnan(ref)).any())


def _ulps(a: torch.Tensor, ref: torch.Tensor, dtype: torch.dtype) -> float:
    """Exact comparison: 0 when equal (NaN equal to NaN, inf to inf); ``inf`` when the non-finite
    entries differ; else the difference in machine epsilons (relative above 1)."""
    a, ref = torch.broadcast_tensors(_f64(a), _f64(ref))
    same = (a == ref) | (torch.isnan(a) & torch.isnan(ref))
    if bool(same.all()):
        return 0.0
    finite = torch.isfinite(a) & torch.isfinite(ref)
    if bool((~same & ~finite).any()):
        return float("inf")
    eps = torch.finfo(dtype).eps
    return float(((a - ref).abs() / (ref.abs().clamp(min=1.0) * eps))[~same].max())


def _grad_pairs(new: Side, old: Side):
    for name in sorted(set(new.grads) | set(old.grads)):
        a, b = new.grads.get(name), old.grads.get(name)
        if a is None and b is None:
            continue
        if a is None:
            a = torch.zeros_like(b)  # type: ignore[arg-type]
        if b is None:
            b = torch.zeros_like(a)
        yield name, a, b


def _all_finite(side: Side) -> tuple[bool, bool]:
    values = bool(torch.isfinite(_f64(side.value)).all())
    grads = all(bool(torch.isfinite(g).all()) for g in side.grads.values() if g is not None)
    return values, grads


def record(tally: Tally, trial: Trial, original: Side, rewrite: Side, reference: Side | None) -> None:
    """Check one trial. ``reference``: for bug-fix, the intent (the original as its author meant it)
    in the trial's dtype; None otherwise."""
    tally.inputs += 1
    ov, og = _all_finite(original)
    rv, rg = _all_finite(rewrite)
    tally.original_nonfinite += not ov
    tally.original_bad_grads += not og
    tally.rewrite_nonfinite += not rv
    tally.rewrite_bad_grads += not rg
    tally.values_fixed += _repairs(rewrite.value, original.value)
    tally.grads_fixed += any(_repairs(a, b) for _, a, b in _grad_pairs(rewrite, original))
    if tuple(original.value.shape) != tuple(rewrite.value.shape):
        before, after = tuple(original.value.shape), tuple(rewrite.value.shape)
        tally.fail(trial, f"the result's shape changes from {before} to {after}")
        return
    cls = tally.fix_class
    tol = TOLERANCE[trial.dtype]
    if cls is FixClass.EXACT:
        _exact(tally, trial, original, rewrite)
    elif cls in (FixClass.FINITE, FixClass.PRECISION):
        if trial.kind == "extreme":
            _finite_where(tally, trial, rewrite, original, "the original")
        else:
            _close(tally, trial, rewrite, original, tol, "the original")
            _finite_where(tally, trial, rewrite, original, "the original")
    elif cls is FixClass.BUG_FIX:
        assert reference is not None
        factor = EXTREME_FACTOR if trial.kind == "extreme" else 1.0
        _close(tally, trial, rewrite, reference, tol * factor, "the intended maths")
        _finite_where(tally, trial, rewrite, reference, "the intended maths")
    else:  # value-change
        if trial.kind == "moderate" and trial.scale == 1.0:
            d = normalised_difference(rewrite.value, original.value)
            tally.max_difference = max(tally.max_difference, d)
            if d > VALUE_CHANGE_BOUND:
                tally.fail(trial, f"values move by {d:.3g} (the bound is {VALUE_CHANGE_BOUND:g})")
        if _nan_where_not(rewrite.value, original.value):
            tally.fail(trial, "the value is NaN where the original's is not")
        for name, a, b in _grad_pairs(rewrite, original):
            if _nan_where_not(a, b):
                tally.fail(trial, f"the gradient for {name} is NaN where the original's is not")


def _repairs(a: torch.Tensor, ref: torch.Tensor) -> bool:
    a, ref = torch.broadcast_tensors(_f64(a), _f64(ref))
    return bool((~torch.isfinite(ref) & torch.isfinite(a)).any())


def _exact(tally: Tally, trial: Trial, original: Side, rewrite: Side) -> None:
    if not original.value.is_floating_point():  # indices (argmax): equal, position by position
        wrong = int((rewrite.value != original.value).sum())
        if wrong:
            tally.fail(trial, f"{wrong} of {original.value.numel()} indices differ from the original's")
        return
    u = _ulps(rewrite.value, original.value, trial.dtype)
    tally.max_difference = max(tally.max_difference, u)
    if u > 2:
        tally.fail(trial, f"values differ by {u:.3g} ulp from the original (exact allows 2)")
    for name, a, b in _grad_pairs(rewrite, original):
        g = _ulps(a, b, trial.dtype)
        tally.max_grad_difference = max(tally.max_grad_difference, g)
        if g > 8:
            tally.fail(trial, f"the gradient for {name} differs by {g:.3g} ulp from the original's")


def _close(tally: Tally, trial: Trial, rewrite: Side, reference: Side, tol: float, against: str) -> None:
    d = normalised_difference(rewrite.value, reference.value)
    tally.max_difference = max(tally.max_difference, d)
    if d > tol:
        tally.fail(trial, f"values differ from {against} by {d:.3g} (tolerance {tol:g})")
    for name, a, b in _grad_pairs(rewrite, reference):
        g = normalised_difference(a, b)
        tally.max_grad_difference = max(tally.max_grad_difference, g)
        if g > tol:
            tally.fail(trial, f"the gradient for {name} differs from that of {against} by {g:.3g} (tolerance {tol:g})")


def _finite_where(tally: Tally, trial: Trial, rewrite: Side, reference: Side, against: str) -> None:
    if not finite_where(rewrite.value, reference.value):
        tally.fail(trial, f"the value is not finite where {against}'s is")
    for name, a, b in _grad_pairs(rewrite, reference):
        if not finite_where(a, b):
            tally.fail(trial, f"the gradient for {name} is not finite where {against}'s is")


def summary(tally: Tally) -> str:
    """What was measured, in one line."""
    cls = tally.fix_class
    n = tally.inputs
    parts = []
    if cls is FixClass.EXACT:
        parts.append(f"values within {tally.max_difference:.3g} ulp of the original (indices: equal)")
        if tally.max_grad_difference:
            parts.append(f"gradients within {tally.max_grad_difference:.3g} ulp")
    elif cls is FixClass.BUG_FIX:
        parts.append(f"values equal to the intended maths (float32 and float64) to {tally.max_difference:.2g}")
        parts.append(f"gradients to {tally.max_grad_difference:.2g}")
    elif cls is FixClass.VALUE_CHANGE:
        parts.append(f"values move by at most {tally.max_difference:.2g} at randn scale (bound {VALUE_CHANGE_BOUND:g})")
        parts.append("never NaN where the original is not")
    else:
        parts.append(f"values equal to the original to {tally.max_difference:.2g}")
        parts.append(f"gradients to {tally.max_grad_difference:.2g} on moderate inputs")
        parts.append("finite wherever the original is")
    if tally.values_fixed:
        parts.append(f"values finite where the original's were not on {tally.values_fixed} of {n} inputs")
    if tally.grads_fixed:
        parts.append(f"gradients finite where the original's were NaN or inf on {tally.grads_fixed} of {n} inputs")
    text = "; ".join(parts) + f" [{n} inputs"
    if tally.skipped:
        text += f", {tally.skipped} more where the original itself raises"
    return text + "]"
