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
MODERATE = (1.0, 3.0)
EXTREME = (50.0, 1e3, "spike")  # "spike": one logit per sample raised by 1e4
DTYPES = (torch.float32, torch.float64)
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}

PROGRAMS = [p for p in programs() if p.inputs]


def make_inputs(program: FixtureProgram, layout: str, dtype, scale, seed: int) -> list:
    gen = torch.Generator().manual_seed(seed)
    shape = SHAPES[layout]
    classes = shape[0] if layout == "1d" else shape[1]
    batch_shape = () if layout == "1d" else (shape[0], *shape[2:])
    inputs = []
    for name in program.inputs:
        if name == "logits":
            x = torch.randn(shape, generator=gen, dtype=torch.float64)
            if scale == "spike":
                x.select(0 if layout == "1d" else 1, 0).add_(1e4)
            else:
                x = x * scale
            inputs.append(x.to(dtype).requires_grad_())
        elif name == "counts":
            x = torch.rand(shape, generator=gen, dtype=torch.float64) * (1.0 if scale == "spike" else scale) + 0.05
            inputs.append(x.to(dtype).requires_grad_())
        elif name == "target":
            inputs.append(torch.randint(classes, batch_shape, generator=gen))
        else:
            raise AssertionError(f"unknown input {name!r} in {program.name}")
    return inputs


def run(module, inputs: list, weights_seed: int = 7):
    """Value and gradients of ``compute`` (non-scalar outputs are reduced with random weights)."""
    copies = [x.detach().clone().requires_grad_() if x.is_floating_point() else x.clone() for x in inputs]
    out = module.compute(*copies)
    if not out.is_floating_point():
        return out, []
    loss = out
    if out.dim() > 0:
        weights = torch.rand(out.shape, generator=torch.Generator().manual_seed(weights_seed), dtype=torch.float64).to(
            out.dtype
        )
        loss = (out * weights).sum()
    grads = torch.autograd.grad(loss, [x for x in copies if x.requires_grad], allow_unused=True)
    return out.detach(), [g if g is not None else torch.zeros_like(x) for g, x in zip(grads, copies)]


def reference(program: FixtureProgram, inputs: list):
    fn = getattr(references, program.reference)
    as64 = [x.detach().double().requires_grad_() if x.is_floating_point() else x for x in inputs]
    return run(type("Ref", (), {"compute": staticmethod(fn)}), as64)


def finite(out, grads) -> bool:
    if not out.is_floating_point():
        return True
    return bool(torch.isfinite(out).all()) and all(bool(torch.isfinite(g).all()) for g in grads)


def close(a, b, dtype) -> bool:
    if not a.is_floating_point():
        return torch.equal(a, b)
    return torch.allclose(a.double(), b.double(), **TOL[dtype], equal_nan=False)


def all_close(pa, pb, dtype) -> bool:
    (va, ga), (vb, gb) = pa, pb
    return close(va, vb, dtype) and all(close(x, y, dtype) for x, y in zip(ga, gb))


def cases(program: FixtureProgram, scales):
    for layout in program.shapes:
        for dtype in DTYPES:
            for seed, scale in enumerate(scales):
                yield layout, dtype, scale, seed


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_fix_class_holds_at_run_time(program: FixtureProgram):
    before, after = program.load("before"), program.load("after")
    kind = program.fix_class
    vacuous = True  # did the extreme inputs exercise the difference at least once?
    for layout, dtype, scale, seed in cases(program, MODERATE):
        inputs = make_inputs(program, layout, dtype, scale, seed)
        b, a, ref = run(before, inputs), run(after, inputs), reference(program, inputs)
        where = f"{program.name} {layout} {dtype} scale={scale}"
        assert (
            close(a[0], ref[0].to(a[0].dtype), dtype) if not a[0].is_floating_point() else close(a[0], ref[0], dtype)
        ), f"fixed value != maths: {where}"
        assert all(close(x, y, dtype) for x, y in zip(a[1], ref[1])), f"fixed gradient != maths: {where}"
        if kind in ("exact", "finite", "precision"):
            assert all_close(b, a, dtype), f"value or gradient changed on moderate input: {where}"
        elif kind == "value-change" and scale == 1.0:  # small for soft logits, by design not exact
            loose = dict(rtol=1e-3, atol=1e-3)
            assert torch.allclose(b[0].double(), a[0].double(), **loose), f"value changed on soft logits: {where}"
            assert all(torch.allclose(x.double(), y.double(), **loose) for x, y in zip(b[1], a[1])), where
        elif kind == "bug-fix":
            assert not close(b[0], ref[0], dtype), f"the original already equals the maths: {where}"
    if kind == "bug-fix":
        return
    for layout, dtype, scale, seed in cases(program, EXTREME):
        inputs = make_inputs(program, layout, dtype, scale, 100 + seed)
        b, a, ref = run(before, inputs), run(after, inputs), reference(program, inputs)
        where = f"{program.name} {layout} {dtype} scale={scale}"
        if kind == "exact":
            assert all_close(b, a, dtype) or not finite(*b), f"exact fix differs: {where}"
            vacuous = False
        elif kind == "finite":
            assert finite(*a), f"fixed code not finite on extreme input: {where}"
            assert all_close(a, ref, dtype) or not a[0].is_floating_point(), f"fixed code != maths: {where}"
            if not finite(*b):
                vacuous = False
            else:
                assert all_close(b, a, dtype) or True  # finite both: may differ where probabilities are subnormal
        elif kind == "value-change":
            assert finite(*a) and all_close(a, ref, dtype), f"fixed code != maths at the extremes: {where}"
            if not all_close(b, a, dtype):
                vacuous = False
    assert not vacuous, f"{program.name}: no extreme input showed what the fix changes"


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
    assert all_close(fixed, expected, torch.float64)
