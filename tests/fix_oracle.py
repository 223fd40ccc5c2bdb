"""Differential fix testing: run the real fixer on a generated program (``tests/fix_grammar.py``),
execute the program before and after with torch on random inputs (several ranks, scales and
dtypes; values and gradients) and judge the fix by the class it declares.

- every class: the fixed program runs wherever the original does, and computes the intended maths
  (a float64 evaluation of the canonical spelling the grammar wrote) on moderate and extreme inputs;
- exact: equal to the original (a few ulp; argmax: the same index) on every input;
- finite / precision: equal to the original on moderate inputs (f32, f64, and f16/bf16 within a few
  of their eps); finite wherever the original is finite (values and gradients) on extreme inputs;
- precision: never less accurate than the original on tiny inputs;
- value-change: equal to the original on soft (unit-scale, unmasked) logits within 1e-3;
- bug-fix: the intended maths (the original may differ: that is the point).

A refusal must name the reason the grammar knows to be true, and the rewrite it refused must
really be wrong on the witness inputs (it raises, is not finite where the original is, changes
gradients, or changes the value).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field

import torch

from logitlint.runner import Overrides, RunConfig, fix_text
from logitlint.source import Source
from tests.fix_grammar import Case, intended_source, rejected_source

N, C = 4, 5
SHAPES = {1: (C,), 2: (N, C), 3: (N, C, 3), 4: (2, C, 3, 3)}
MODERATE = (1.0, 3.0)
EXTREME = (50.0, 1e3, "spike")
TINY = (1e-4, 1e-6, 1e-8)
HALF = (torch.float16, torch.bfloat16)
# The fix classes from strongest to weakest: a program whose fixes have several is judged by the weakest.
ORDER = ("exact", "precision", "finite", "value-change", "bug-fix")
CONFIG = RunConfig(overrides=Overrides(unsafe_fixes=True))
# Tiny tensors: one thread (on a busy machine torch's thread pool costs ~10 ms per operation).
torch.set_num_threads(1)


class Failure(AssertionError):
    pass


@dataclass
class Verdict:
    case: Case
    fixed: str
    classes: tuple[str, ...] = ()  # the fix classes applied
    note: str | None = None  # the fix note of a refused finding
    reported: bool = False
    outcome: str = ""  # "fixed" | "refused" | "missed" | "unreported"
    repaired: int = 0  # elements (values or gradients) non-finite before and finite after
    failure: str | None = None


@dataclass
class Tally:
    programs: int = 0
    fixed: int = 0
    refused: int = 0  # no fix, with a reason the grammar expected, shown true by running the rejected rewrite
    refused_unchecked: int = 0  # no fix, the grammar expected none, the reason not checked by running
    missed: int = 0  # the grammar expected a fix and got none (a failure too)
    unreported: int = 0  # the rule did not fire at all
    repaired: int = 0
    failures: list[Verdict] = field(default_factory=list)
    by_rule: Counter = field(default_factory=Counter)
    by_class: Counter = field(default_factory=Counter)
    missed_notes: Counter = field(default_factory=Counter)

    def add(self, verdict: Verdict) -> None:
        self.programs += 1
        self.repaired += verdict.repaired
        if verdict.outcome == "missed":
            self.missed += 1
            self.missed_notes[f"{verdict.case.rule}: {verdict.note}"] += 1
        if verdict.failure:
            self.failures.append(verdict)
            return
        key = verdict.outcome
        if key == "fixed":
            self.fixed += 1
            self.by_rule[verdict.case.rule] += 1
            self.by_class[ORDER[max(ORDER.index(c) for c in verdict.classes)]] += 1
        elif key == "refused":
            self.refused += 1
        elif key == "refused-unchecked":
            self.refused_unchecked += 1
        else:
            self.unreported += 1

    def figures(self) -> str:
        lines = [
            f"programs generated:        {self.programs}",
            f"fixes applied (verified):  {self.fixed}  {dict(sorted(self.by_class.items()))}",
            f"refusals, reason shown:    {self.refused}",
            f"refusals, reason unchecked:{self.refused_unchecked:>3}",
            f"fix expected, not applied: {self.missed} (counted in failures)",
            f"rule did not fire:         {self.unreported}",
            f"non-finite elements made finite by a fix: {self.repaired}",
            f"failures:                  {len(self.failures)}",
            f"fixed per rule: {dict(sorted(self.by_rule.items()))}",
        ]
        return "\n".join(lines)


# --- running ------------------------------------------------------------------------------------
def fix(source: str):
    """The real `logitlint fix --unsafe-fixes` path on one file's text."""
    return fix_text(Source(text=source), "<fuzz>", CONFIG)


def load(source: str, name: str):
    namespace: dict = {"__name__": name}
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 - generated test programs
    return namespace["compute"]


def make_inputs(
    rank: int, dtype, scale, seed: int, *, masked: bool = False, dim: int | None = None, soft_y=False, square=False
):
    gen = torch.Generator().manual_seed(seed)
    shape = (C, C) if square and rank == 2 else SHAPES[rank]
    cd = 0 if rank == 1 else 1
    batch = tuple(n for i, n in enumerate(shape) if i != cd)
    magnitude = 1.0 if scale == "spike" else float(scale)

    def randn(*size):
        return torch.randn(size or shape, generator=gen, dtype=torch.float64)

    x = randn() * magnitude
    if scale == "spike":
        x.select(cd, 0).add_(1e4)
    if masked:
        mask = torch.rand(shape, generator=gen) < 0.3
        for d in {cd, dim if dim is not None and -rank <= dim < rank else cd}:
            mask.select(d, 0).fill_(False)  # every slice along the softmax (and class) dim keeps one logit
        mask.view(-1)[-1] = True  # and one logit is masked
        x = x.masked_fill(mask, float("-inf"))
    z = randn() * min(magnitude, 3.0)
    q = torch.softmax(randn() * 2, dim=cd)
    y = (torch.rand(shape, generator=gen, dtype=torch.float64) if soft_y else torch.randint(2, shape, generator=gen)).double()
    s = (torch.rand(shape, generator=gen, dtype=torch.float64) * 1.8 - 0.9) * min(magnitude, 1.0)
    inputs = {
        "x": x,
        "t": torch.randint(C, batch, generator=gen),
        "q": q,
        "y": y,
        "w": torch.rand(C, generator=gen, dtype=torch.float64) + 0.5,
        "bw": torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5,
        "s": s,
        "z": z,
        "pw": torch.rand(shape[-1], generator=gen, dtype=torch.float64) + 0.5,
    }
    grads = ("x", "z", "s")
    return {
        k: (v.to(dtype).requires_grad_() if k in grads else v.to(dtype)) if v.is_floating_point() else v
        for k, v in inputs.items()
    }


def evaluate(fn, inputs: dict):
    """(value, gradients of x, z, s) of ``fn``; a non-scalar value is reduced with fixed weights."""
    copies = {k: v.detach().clone().requires_grad_(v.requires_grad) for k, v in inputs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(**copies)
    wanted = [copies[k] for k in ("x", "z", "s")]
    if not isinstance(out, torch.Tensor) or not out.is_floating_point() or not out.requires_grad:
        return out.detach() if isinstance(out, torch.Tensor) else out, [torch.zeros_like(v) for v in wanted]
    weights = torch.rand(out.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64).to(out.dtype)
    total = (out * weights).sum() if out.dim() else out
    grads = torch.autograd.grad(total, wanted, allow_unused=True)
    return out.detach(), [g if g is not None else torch.zeros_like(v) for g, v in zip(grads, wanted)]


def as64(inputs: dict) -> dict:
    return {k: (v.detach().double().requires_grad_(v.requires_grad) if v.is_floating_point() else v) for k, v in inputs.items()}


def close(a, b, rtol: float, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    if not a.is_floating_point() or not b.is_floating_point():
        return torch.equal(a, b.to(a.dtype))
    a, b = a.double(), b.double()
    both = ~(torch.isfinite(a) & torch.isfinite(b))
    if bool((both & ~((a == b) | (a.isnan() & b.isnan()))).any()):
        return False  # the same inf, or both NaN
    fin = ~both
    return bool(((a[fin] - b[fin]).abs() <= atol + rtol * b[fin].abs()).all())


def same(pa, pb, rtol: float, atol: float, *, grads: bool = True) -> bool:
    (va, ga), (vb, gb) = pa, pb
    return close(va, vb, rtol, atol) and (not grads or all(close(x, y, rtol, atol) for x, y in zip(ga, gb)))


def no_worse(pb, pa, pref, rtol: float, atol: float) -> bool:
    """Is ``pa`` (values and gradients) nowhere further from ``pref`` than ``pb``, beyond a tolerance?"""
    (vb, gb), (va, ga), (vr, gr) = pb, pa, pref
    for b, a, r in [(vb, va, vr), *zip(gb, ga, gr)]:
        if not a.is_floating_point() or a.shape != b.shape or a.shape != r.shape:
            continue
        b, a, r = b.double(), a.double(), r.double()
        fin = torch.isfinite(a) & torch.isfinite(b) & torch.isfinite(r)
        err_a, err_b = (a - r).abs()[fin], (b - r).abs()[fin]
        if bool((err_a > err_b + atol + rtol * r.abs()[fin]).any()):
            return False
    return True


def finite_where(pb, pa) -> bool:
    """Is ``pa`` finite wherever ``pb`` is (values and gradients)?"""
    (vb, gb), (va, ga) = pb, pa
    pairs = [(vb, va), *zip(gb, ga)]
    for b, a in pairs:
        if not b.is_floating_point():
            continue
        if b.shape != a.shape or bool((torch.isfinite(b) & ~torch.isfinite(a)).any()):
            return False
    return True


def repaired(pb, pa) -> int:
    (vb, gb), (va, ga) = pb, pa
    return sum(
        int((~torch.isfinite(b) & torch.isfinite(a)).sum())
        for b, a in [(vb, va), *zip(gb, ga)]
        if b.is_floating_point() and b.shape == a.shape
    )


def tol(dtype, kind: str) -> tuple[float, float]:
    if dtype == torch.float64:
        return (1e-10, 3e-9) if kind != "exact" else (1e-13, 1e-13)
    if dtype == torch.float32:
        return (2e-5, 2e-5) if kind != "exact" else (1e-6, 1e-6)
    eps = torch.finfo(dtype).eps
    return 8 * eps, 8 * eps


# --- judging --------------------------------------------------------------------------------------
def judge(case: Case, seed: int) -> Verdict:
    report = fix(case.source)
    if report.error is not None:
        return Verdict(case, case.source, failure=f"the fixer failed: {report.error}")
    fixed = report.fixed or case.source
    verdict = Verdict(case, fixed)
    mine = [d for d in report.applied if d.code == case.rule]
    left = [d for d in report.diagnostics if d.code == case.rule]
    verdict.reported = bool(mine or left)
    verdict.classes = tuple(d.fix.fix_class.value for d in report.applied if d.fix is not None)
    notes = [d.fix_note for d in left if d.fix_note]
    verdict.note = notes[0] if notes else None
    try:
        if mine:
            verdict.outcome = "fixed"
            check_fixed(case, fixed, verdict, seed)
        elif verdict.reported:
            check_refused(case, verdict, seed)
        else:
            verdict.outcome = "unreported"
    except Failure as exc:
        verdict.failure = str(exc)
    except Exception as exc:  # noqa: BLE001 - an oracle error is a failure to look at, not a crash of the run
        verdict.failure = f"the oracle failed on this program: {type(exc).__name__}: {exc}"
    return verdict


def input_sets(case: Case, seed: int, scales, dtypes, rank: int | None = None):
    rank = rank or case.rank
    i = 0
    for dtype in dtypes:
        for scale in scales:
            for masked in (False, True) if case.masked else (False,):
                i += 1
                yield dtype, scale, masked, make_inputs(
                    rank, dtype, scale, seed * 1000 + i, masked=masked, dim=case.dim, soft_y=case.soft_y, square=case.square
                )


def attempt(fn, inputs):
    try:
        return evaluate(fn, inputs)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        return exc


def check_fixed(case: Case, fixed: str, verdict: Verdict, seed: int) -> None:
    if case.expect.startswith("refuse"):
        raise Failure(f"fixed although the grammar expects a refusal ({case.reason})")
    kind = ORDER[max(ORDER.index(c) for c in verdict.classes)]
    before, after = load(case.source, "before"), load(fixed, "after")
    intended_text = intended_source(case)
    intended = load(intended_text, "intended") if intended_text else None
    if kind == "bug-fix" and intended is None:
        raise Failure("a bug-fix with no intended maths to check it against (grammar)")
    ran = 0
    for dtype, scale, masked, inputs in input_sets(case, seed, (*MODERATE, *EXTREME), (torch.float32, torch.float64)):
        where = f"{dtype} scale={scale}{' masked' if masked else ''}"
        b, a = attempt(before, inputs), attempt(after, inputs)
        if isinstance(b, Exception):
            continue  # the original does not run on these inputs
        ran += 1
        if isinstance(a, Exception):
            raise Failure(f"the fixed program raises where the original runs ({where}): {a}")
        if isinstance(a[0], torch.Tensor) and isinstance(b[0], torch.Tensor) and a[0].dtype != b[0].dtype:
            raise Failure(f"the fix changed the result's dtype from {b[0].dtype} to {a[0].dtype} ({where})")
        moderate = scale in MODERATE
        if intended is not None:
            ref = evaluate(intended, as64(inputs))
            mine = evaluate(after, as64(inputs))
            if not same(mine, ref, 1e-9, 3e-9, grads=True):
                raise Failure(f"the fixed program is not the intended maths (float64, {where})")
            if dtype == torch.float32:
                rt, at = (2e-5, 2e-5) if moderate else (1e-4, 1e-3)
                if not same(a, ref, rt, at, grads=moderate):
                    raise Failure(f"the fixed program is not the intended maths (float32, {where})")
        rt, at = tol(dtype, kind)
        if kind == "exact" and not same(b, a, rt, at):
            raise Failure(f"an exact fix changed the value or gradient ({where})")
        if kind in ("finite", "precision") and moderate and not masked:
            # Equal to the original; or, where the original is itself inaccurate (1 - sigmoid(x)
            # cancels from x ~ 8 in f32), never further from the maths than it.
            if intended is None and not same(b, a, rt, at):
                raise Failure(f"a {kind} fix changed the value or gradient on moderate input ({where})")
            if intended is not None and not no_worse(b, a, ref, rt, at):
                raise Failure(f"a {kind} fix is less accurate than the original on moderate input ({where})")
        if kind in ("finite", "precision"):
            if not finite_where(b, a):
                raise Failure(f"a {kind} fix is not finite where the original is ({where})")
        if kind == "value-change" and case.bound is not None and dtype == torch.float64:
            fixed_value = evaluate(after, inputs)[0]
            bounded = eval(case.bound, {"torch": torch, "math": math, "a": fixed_value})  # noqa: S307
            if not close(b[0], bounded, 1e-9, 1e-12):
                raise Failure(f"a value-change fix moved values beyond the documented bound {case.bound} ({where})")
        elif kind == "value-change" and case.bound is None and scale == MODERATE[0] and not masked and not same(b, a, 1e-3, 1e-3):
            raise Failure(f"a value-change fix changed values on soft logits ({where})")
        verdict.repaired += repaired(b, a)
    if not ran:
        raise Failure("the original raises on every input: nothing was checked (a grammar error)")
    if kind in ("exact", "finite", "precision"):
        for dtype, scale, masked, inputs in input_sets(case, seed + 1, (1.0,), HALF):
            b, a = attempt(before, inputs), attempt(after, inputs)
            if isinstance(b, Exception):
                continue
            if isinstance(a, Exception):
                raise Failure(f"the fixed program raises where the original runs ({dtype}): {a}")
            rt, at = tol(dtype, kind)
            if not a[0].is_floating_point() and intended is not None:
                # argmax: softmax rounds near-ties to one probability in half precision and takes the
                # first (FIX-SEMANTICS #16); the fix takes the larger logit, as argmax of the logits does
                if not close(a[0], evaluate(intended, inputs)[0], 0, 0):
                    raise Failure(f"the fixed argmax is not the argmax of the logits ({dtype})")
            elif not masked and not same(b, a, rt, at, grads=False):
                raise Failure(f"a {kind} fix changed the value ({dtype}, unit-scale input)")
            if not finite_where(b, a):
                raise Failure(f"a {kind} fix is not finite where the original is ({dtype})")
    if kind == "precision" and intended is not None:
        for dtype, scale, masked, inputs in input_sets(case, seed + 2, TINY, (torch.float32,)):
            ref = evaluate(intended, as64(inputs))[0]
            err_b = (evaluate(before, inputs)[0].double() - ref).abs()
            err_a = (evaluate(after, inputs)[0].double() - ref).abs()
            eps = torch.finfo(dtype).eps
            if bool((err_a > err_b + eps * ref.abs()).any()):
                raise Failure(f"a precision fix is less accurate than the original (scale {scale})")


def check_refused(case: Case, verdict: Verdict, seed: int) -> None:
    note = verdict.note or ""
    if case.expect == "fix":  # the grammar knows the fix holds here: it must be applied
        verdict.outcome = "missed"
        raise Failure(f"no fix applied where one holds (note: {verdict.note!r})")
    if case.expect == "any":
        verdict.outcome = "refused-unchecked"
        return
    if not note.startswith("no fix"):
        raise Failure(f"refused without saying why (note: {verdict.note!r})")
    if case.reason and case.reason not in note:
        raise Failure(f"refused for another reason than the one that holds ({case.reason!r}): {note}")
    if case.expect == "refuse-unchecked":
        verdict.outcome = "refused-unchecked"
        return
    rejected = load(rejected_source(case) or "", "rejected")
    before = load(case.source, "before")
    ran = False
    witnesses = [
        item
        for rank in case.witness
        for k in range(3)  # a few draws: one may hide it (a rank-1 target that is ignore_index)
        for item in input_sets(case, seed + 3 + k, (1.0,), (torch.float32,), rank=rank)
    ]
    for _dtype, _scale, masked, inputs in witnesses:
        if case.wrong == "nonfinite" and not masked:
            continue
        b, r = attempt(before, inputs), attempt(rejected, inputs)
        if isinstance(b, Exception):
            continue
        ran = True
        if isinstance(r, Exception):  # where the original runs
            verdict.outcome = "refused"
            return
        if case.wrong == "raises":
            continue
        shown = {
            "nonfinite": lambda: not finite_where(b, r),
            "gradients": lambda: not all(close(x, y, 1e-5, 1e-5) for x, y in zip(b[1], r[1])),
            "differs": lambda: not same(b, r, 1e-5, 1e-5),
        }.get(case.wrong or "", lambda: False)()
        if shown:
            verdict.outcome = "refused"
            return
    if not ran:  # the original does not run on the witness inputs: nothing to show
        verdict.outcome = "refused-unchecked"
        return
    raise Failure(f"the refused rewrite ({case.wrong}) behaved like the original on ranks {case.witness}: {note}")


def fuzz(count: int, seed: int, rules=None, tally: Tally | None = None) -> Tally:
    """Generate and judge ``count`` programs (round-robin over ``rules``, default every fixable rule)."""
    import random

    from tests.fix_grammar import SITES, generate

    rng = random.Random(seed)
    tally = tally or Tally()
    names = sorted(rules or SITES)
    for i in range(count):
        case = generate(rng, names[i % len(names)])
        tally.add(judge(case, seed * 100000 + i))
    return tally
