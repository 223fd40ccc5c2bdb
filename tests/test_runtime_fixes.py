"""Every fix, proven by running the code before and after it with real torch.

For each fixture program: import ``before.py`` and ``after.py`` and call ``compute`` on the same
random inputs (several shapes, f32 and f64, moderate and extreme magnitudes), then assert the fix
class of the docstring on values *and* gradients:

- exact: the same value (a few ulp) and gradient on every input;
- finite: the same value and gradient on moderate inputs; where the original is inf/NaN (in its
  value or gradient) on extreme inputs, the fixed code is finite; it matches the float64 maths;
- precision: never worse than the original against the float64 maths;
- bug-fix: equal to the float64 maths, and the original is not;
- value-change: the same on moderate inputs, different (and equal to the maths) at the extremes.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tests import references  # noqa: E402
from tests.fixture_programs import FixtureProgram, programs  # noqa: E402

SHAPES = {"2d": (8, 5), "4d": (2, 5, 3, 3), "1d": (5,)}
EXTREME = (50.0, 1e3, "spike")  # "spike": one logit per sample raised by 1e4
TINY = (1e-4, 1e-6, 1e-8)  # where log(1 + x) and exp(x) - 1 lose precision
DTYPES = (torch.float32, torch.float64)
TOL = {torch.float32: 2e-5, torch.float64: 1e-10}

PROGRAMS = [p for p in programs() if p.inputs]


def make_inputs(program: FixtureProgram, layout: str, dtype, scale, seed: int) -> list:
    gen = torch.Generator().manual_seed(seed)
    shape = SHAPES[layout]
    class_dim = 0 if layout == "1d" else 1
    classes = shape[class_dim]
    batch_shape = () if layout == "1d" else (shape[0], *shape[2:])
    magnitude = 100.0 if scale == "spike" else scale

    def randn():
        return torch.randn(shape, generator=gen, dtype=torch.float64)

    inputs = []
    for name in program.inputs:
        if name in ("logits", "teacher_logits"):
            x = randn()
            if scale == "spike":
                x.select(class_dim, 0).add_(1e4)
            else:
                x = x * scale
            inputs.append(x.to(dtype).requires_grad_())
        elif name == "x":
            inputs.append((randn() * magnitude).to(dtype).requires_grad_())
        elif name == "small":  # in (-1, 1) times the scale: log(1 + x) stays defined
            x = (torch.rand(shape, generator=gen, dtype=torch.float64) * 1.8 - 0.9) * min(magnitude, 1.0)
            inputs.append(x.to(dtype).requires_grad_())
        elif name == "counts":
            x = torch.rand(shape, generator=gen, dtype=torch.float64) * min(magnitude, 10.0) + 0.05
            inputs.append(x.to(dtype).requires_grad_())
        elif name == "target":
            inputs.append(torch.randint(classes, batch_shape, generator=gen))
        elif name == "btarget":
            inputs.append(torch.randint(2, shape, generator=gen).to(dtype))
        elif name == "target_probs":  # a distribution over the class dim with some exact zeros
            p = torch.softmax(randn() * 2, dim=class_dim)
            p = p * (torch.rand(shape, generator=gen, dtype=torch.float64) > 0.3)
            p.select(class_dim, 0).add_(1e-3)
            inputs.append((p / p.sum(dim=class_dim, keepdim=True)).to(dtype))
        else:
            raise AssertionError(f"unknown input {name!r} in {program.name}")
    return inputs


def run(module, inputs: list, weights_seed: int = 7):
    """Value and gradients of ``compute`` (non-scalar outputs are reduced with random weights)."""
    copies = [x.detach().clone().requires_grad_() if x.requires_grad else x.clone() for x in inputs]
    out = module.compute(*copies)
    if not out.is_floating_point() or not out.requires_grad:
        return out.detach(), []
    loss = out
    if out.dim() > 0:
        weights = torch.rand(out.shape, generator=torch.Generator().manual_seed(weights_seed), dtype=torch.float64).to(
            out.dtype
        )
        loss = (out * weights).sum()
    grads = torch.autograd.grad(loss, [x for x in copies if x.requires_grad], allow_unused=True)
    wanted = [x for x in copies if x.requires_grad]
    return out.detach(), [g if g is not None else torch.zeros_like(x) for g, x in zip(grads, wanted)]


def reference(program: FixtureProgram, inputs: list):
    fn = getattr(references, program.reference)
    as64 = [
        x.detach().double().requires_grad_() if x.requires_grad else (x.double() if x.is_floating_point() else x)
        for x in inputs
    ]
    return run(type("Ref", (), {"compute": staticmethod(fn)}), as64)


def finite(out, grads) -> bool:
    if not out.is_floating_point():
        return True
    return bool(torch.isfinite(out).all()) and all(bool(torch.isfinite(g).all()) for g in grads)


def tolerance(program: FixtureProgram, dtype) -> float:
    overrides = program.tolerance or {}
    return overrides.get("f32" if dtype == torch.float32 else "f64", TOL[dtype])


def close(a, b, tol: float) -> bool:
    if not a.is_floating_point():
        return torch.equal(a, b.to(a.dtype))
    return torch.allclose(a.double(), b.double(), rtol=tol, atol=tol, equal_nan=False)


def all_close(pa, pb, tol: float) -> bool:
    (va, ga), (vb, gb) = pa, pb
    return close(va, vb, tol) and (not ga or not gb or all(close(x, y, tol) for x, y in zip(ga, gb)))


def cases(program: FixtureProgram, scales):
    for layout in program.shapes:
        for dtype in DTYPES:
            for seed, scale in enumerate(scales):
                yield layout, dtype, scale, seed


def check_moderate(program, before, after):
    kind = program.fix_class
    for layout, dtype, scale, seed in cases(program, program.moderate):
        inputs = make_inputs(program, layout, dtype, scale, seed)
        b, a, ref = run(before, inputs), run(after, inputs), reference(program, inputs)
        tol = tolerance(program, dtype)
        where = f"{program.name} {layout} {dtype} scale={scale}"
        assert close(a[0], ref[0], tol), f"fixed value != maths: {where}"
        assert all_close(a, ref, tol), f"fixed gradient != maths: {where}"
        if kind in ("exact", "finite", "precision"):
            assert all_close(b, a, tol), f"value or gradient changed on moderate input: {where}"
        elif kind == "value-change" and scale == program.moderate[0]:  # small for soft logits, by design
            assert all_close(b, a, 1e-3), f"value changed on soft logits: {where}"
        elif kind == "bug-fix":
            assert not close(b[0], ref[0], tol), f"the original already equals the maths: {where}"


def check_extremes(program, before, after) -> bool:
    """True if some extreme input showed what the fix changes (the test must not be vacuous)."""
    kind = program.fix_class
    shown = False
    for layout, dtype, scale, seed in cases(program, EXTREME):
        inputs = make_inputs(program, layout, dtype, scale, 100 + seed)
        b, a, ref = run(before, inputs), run(after, inputs), reference(program, inputs)
        tol = tolerance(program, dtype)
        where = f"{program.name} {layout} {dtype} scale={scale}"
        if kind == "exact":
            assert all_close(b, a, tol) or not finite(*b), f"exact fix differs: {where}"
            shown = True
        elif kind in ("finite", "value-change"):
            assert finite(*a), f"fixed code not finite on extreme input: {where}"
            assert all_close(a, ref, tol), f"fixed code != maths on extreme input: {where}"
            # the original is inf/NaN there, or (BCE's clamp, an eps) finite but wrong
            shown = shown or not finite(*b) or not all_close(b, ref, tol)
    return shown


def check_precision(program, before, after) -> bool:
    """On tiny inputs the fixed code is never less accurate, and strictly better somewhere."""
    better = False
    for layout, dtype, scale, seed in cases(program, TINY):
        inputs = make_inputs(program, layout, dtype, scale, 200 + seed)
        exact = reference(program, inputs)[0]
        err_before = (run(before, inputs)[0].double() - exact).abs()
        err_after = (run(after, inputs)[0].double() - exact).abs()
        eps = torch.finfo(dtype).eps
        assert bool((err_after <= err_before + eps * exact.abs()).all()), (
            f"less accurate: {program.name} {dtype} {scale}"
        )
        assert bool((err_after <= 2 * eps * exact.abs() + 1e-300).all()), (
            f"not accurate: {program.name} {dtype} {scale}"
        )
        better = better or bool((err_before > 4 * eps * exact.abs()).any())
    return better


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_fix_class_holds_at_run_time(program: FixtureProgram):
    before, after = program.load("before"), program.load("after")
    check_moderate(program, before, after)
    if program.fix_class == "bug-fix":
        return
    if program.fix_class == "precision":
        assert check_precision(program, before, after), f"{program.name}: no tiny input showed the precision loss"
        return
    assert check_extremes(program, before, after), f"{program.name}: no extreme input showed what the fix changes"


def test_every_fixable_rule_has_a_runtime_fixture():
    from logitlint.rules import rule_classes

    covered = {p.code for p in programs()}
    missing = [cls.code for cls in rule_classes() if cls.fix_class is not None and cls.code not in covered]
    assert not missing, f"rules with a fix but no fixture under fixtures/fixes: {missing}"


def test_motivating_example_probability_table():
    """nn.CrossEntropyLoss on a (1, 3, 2, 2) probability table: the fixed code computes the
    cross-entropy of those probabilities (sum over pixels of -log p[target]); the original does not."""
    program = next(p for p in programs() if p.name == "LGT102-probability-table")
    before, after = program.load("before"), program.load("after")
    sums = before.probs.sum(dim=1)
    assert before.probs.shape == (1, 3, 2, 2) and torch.allclose(sums, torch.ones_like(sums))
    expected = references.table_cross_entropy_sum(before)
    fixed = after.compute()
    original = before.compute()
    assert torch.allclose(fixed.double(), expected, rtol=1e-6), (fixed, expected)
    assert abs(original.item() - expected.item()) > 0.1, (original, expected)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 6),
    classes=st.integers(2, 12),
    scale=st.floats(0.1, 20.0),
    seed=st.integers(0, 2**16),
    name=st.sampled_from(["LGT101-direct", "LGT103-direct", "LGT201-direct", "LGT303-label-smoothing"]),
)
def test_fixed_programs_match_the_maths_on_random_shapes(batch, classes, scale, seed, name):
    program = next(p for p in PROGRAMS if p.name == name)
    gen = torch.Generator().manual_seed(seed)
    inputs = []
    for input_name in program.inputs:
        if input_name == "logits":
            inputs.append((torch.randn(batch, classes, generator=gen, dtype=torch.float64) * scale).requires_grad_())
        else:
            inputs.append(torch.randint(classes, (batch,), generator=gen))
    fixed = run(program.load("after"), inputs)
    expected = reference(program, inputs)
    assert all_close(fixed, expected, TOL[torch.float64])
