"""The cases FIX-SEMANTICS.md names, on the fixture programs, with the numbers it measured."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from tests.fixture_programs import programs  # noqa: E402

PROGRAMS = {p.name: p for p in programs()}


def load(name):
    program = PROGRAMS[name]
    return program.load("before"), program.load("after")


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
    """softplus's threshold=20 returns x beyond 20: 2.06e-9 off in float64, within the fixture tolerance."""
    before, after = load("LGT207-softplus")
    x = torch.tensor([20.5], dtype=torch.float64)
    exact = 20.5 + math.log1p(math.exp(-20.5))
    error = abs(after.compute(x).item() - exact)
    assert 1e-10 < error < 3e-9
    assert PROGRAMS["LGT207-softplus"].tolerance == {"f64": 3e-9}
    assert abs(before.compute(x).item() - exact) < 1e-14  # log(1 + exp(x)) is exact here


def test_argmax_ties():
    """Exact ties give the same index; near-ties that softmax rounds together follow the logits."""
    before, after = load("LGT302-argmax")
    tied = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert torch.equal(before.compute(tied), after.compute(tied))
    big = torch.tensor(100.0)
    near = torch.stack([big, torch.nextafter(big, torch.tensor(200.0)), torch.tensor(-50.0)]).unsqueeze(0)
    assert after.compute(near).item() == 1  # the truly larger logit
    assert before.compute(near).item() in (0, 1)
