"""The cases FIX-SEMANTICS.md names, on the fixture programs, with the numbers it measured.

"after" is always what the real ``logitlint fix --unsafe-fixes`` wrote for the fixture's ``before.py``."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from tests.fixture_programs import programs  # noqa: E402

PROGRAMS = {p.name: p for p in programs()}


def load(name):
    program = PROGRAMS[name]
    assert program.fixed.read_text() != program.before.read_text(), f"{name}: logitlint fix did not fix it"
    return program.load("before"), program.load("fixed")


def value_and_grad(module, *inputs):
    inputs = [x.clone().requires_grad_() if x.is_floating_point() and i == 0 else x for i, x in enumerate(inputs)]
    out = module.compute(*inputs)
    (grad,) = torch.autograd.grad(out.sum(), [inputs[0]])
    return out.detach(), grad


def test_bce_saturation_gradient():
    """BCE(sigmoid(x)) at x = 20, y = 0 (f32): loss 100 and gradient 0; the fix: loss 20, gradient 1."""
    before, after = load("LGT203-functional")
    x, y = torch.tensor([20.0]), torch.tensor([0.0])
    loss, grad = value_and_grad(before, x, y)
    assert loss.item() == pytest.approx(100.0) and grad.item() == 0.0
    loss, grad = value_and_grad(after, x, y)
    assert loss.item() == pytest.approx(20.0) and grad.item() == pytest.approx(1.0)


def test_log_one_minus_sigmoid_for_large_x():
    """log(1 - sigmoid(x)) is -inf from x = 16.75 (f32); logsigmoid(-x) is -x - e^-x."""
    before, after = load("LGT204-one-minus")
    x = torch.tensor([20.0, 12.1])
    assert torch.isinf(before.compute(x)[0])
    assert abs(before.compute(x)[1].item() - (-12.1 - math.exp(-12.1))) > 1e-3  # already off at 12.1
    fixed = after.compute(x)
    assert fixed[0].item() == pytest.approx(-20.0, abs=1e-6) and fixed[1].item() == pytest.approx(
        -12.1 - math.exp(-12.1), abs=1e-5
    )


def test_exp_overflow_log_sum_exp_and_manual_softmax():
    logits = torch.tensor([[100.0, 0.0, -5.0]])
    before, after = load("LGT205-dim")
    assert torch.isinf(before.compute(logits)).all()
    assert after.compute(logits).item() == pytest.approx(100.0)
    before, after = load("LGT206-manual-softmax")
    assert torch.isnan(before.compute(logits)).any()
    assert torch.allclose(after.compute(logits), torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-30)


def test_softplus_float64_threshold():
    """softplus's threshold=20 returns x beyond 20: up to e^-20 = 2.06e-9 off in float64 (FIX-SEMANTICS
    #13), so the fixture's f64 tolerance (3e-9) covers what the fixed code does and is not looser than
    needed; in float32 the fixed code stays within 1.2 ulp of 40-digit maths (the linearisation is
    invisible) while the original overflows from 88.7."""
    import mpmath

    mpmath.mp.dps = 40
    before, after = load("LGT207-softplus")
    x = torch.linspace(20.0, 30.0, 201, dtype=torch.float64)
    exact = torch.tensor([float(mpmath.log(1 + mpmath.exp(mpmath.mpf(float(v))))) for v in x], dtype=torch.float64)
    error = (after.compute(x) - exact).abs().max().item()
    tolerance = PROGRAMS["LGT207-softplus"].tolerance["f64"]
    assert tolerance / 2 < error <= tolerance, error  # the threshold shows, and the tolerance is tight
    assert error == pytest.approx(math.exp(-20.0), rel=0.05)
    assert (before.compute(x) - exact).abs().max().item() < 1e-14  # log(1 + exp(x)) is exact here
    x32 = torch.linspace(-30.0, 80.0, 1101)
    exact32 = torch.tensor([float(mpmath.log(1 + mpmath.exp(mpmath.mpf(float(v))))) for v in x32], dtype=torch.float64)
    ulp = torch.finfo(torch.float32).eps * exact32.abs().clamp(min=torch.finfo(torch.float32).tiny)
    assert ((after.compute(x32).double() - exact32).abs() / ulp).max().item() <= 1.2
    big = torch.tensor([89.0, 100.0])
    assert torch.isinf(before.compute(big)).all() and torch.equal(after.compute(big), big)


def test_argmax_ties():
    """Exact ties give the same (first) index; a near-tie that softmax rounds together ([0, 1e-45])
    gives the first index before the fix and the truly larger logit after it; a row with NaN or +inf
    makes the softmax row all-NaN (index 0) while the fixed code points at the NaN/inf (FIX-SEMANTICS #16)."""
    before, after = load("LGT302-argmax")
    tied = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert before.compute(tied).tolist() == after.compute(tied).tolist() == [1]
    tiny = torch.nextafter(torch.tensor(0.0), torch.tensor(1.0))
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        near = torch.stack([torch.tensor(0.0), tiny, torch.tensor(-5.0)]).unsqueeze(0).to(dtype)
        near[0, 1] = torch.nextafter(torch.tensor(0.0, dtype=dtype), torch.tensor(1.0, dtype=dtype))
        assert before.compute(near).item() == 0, dtype  # softmax gives both the same probability
        assert after.compute(near).item() == 1, dtype  # the truly larger logit
    for special in (float("nan"), float("inf")):
        row = torch.tensor([[1.0, special, 3.0]])
        assert before.compute(row).item() == 0 and after.compute(row).item() == 1
