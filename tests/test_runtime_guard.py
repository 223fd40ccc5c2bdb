"""The runtime guard with real torch: each watched loss warns on the wrong kind of input and stays
silent on the right one, strict mode raises, results and gradients never change, and it behaves
under autocast and no_grad."""

from __future__ import annotations

import inspect
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from logitlint.runtime import (  # noqa: E402
    LogitlintRuntimeError,
    LogitlintRuntimeWarning,
    checks,  # noqa: E402
    guard,
    install,
    uninstall,
)

# The classic question: a probability table (rows sum to 1 over dim 1) given to CrossEntropyLoss.
TABLE = torch.tensor([[[[0.2, 0.5], [0.3, 0.1]], [[0.3, 0.25], [0.3, 0.6]], [[0.5, 0.25], [0.4, 0.3]]]])
TABLE_TARGET = torch.tensor([[[0, 1], [2, 1]]])


def guarded_warnings(call, **options) -> list[LogitlintRuntimeWarning]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with guard(**options):
            call()
    return [w.message for w in caught if issubclass(w.category, LogitlintRuntimeWarning)]


def codes(call) -> list[str]:
    return [w.code for w in guarded_warnings(call)]


def test_probability_table_into_cross_entropy_loss_warns():
    line = inspect.currentframe().f_lineno + 1
    (warning,) = guarded_warnings(lambda: nn.CrossEntropyLoss()(TABLE, TABLE_TARGET))
    assert warning.code == "LGT102" and warning.shape == (1, 3, 2, 2) and warning.function == "cross_entropy"
    assert (warning.filename, warning.lineno) == (__file__, line)  # the user's call, not torch's
    assert f"test_runtime_guard.py:{line}" in str(warning) and "(1, 3, 2, 2)" in str(warning)


def test_logits_do_not_warn():
    torch.manual_seed(0)
    assert codes(lambda: nn.CrossEntropyLoss()(torch.randn(1, 3, 2, 2), TABLE_TARGET)) == []


def test_strict_mode_raises():
    with pytest.raises(LogitlintRuntimeError, match="LGT102") as raised, guard(strict=True):
        F.cross_entropy(TABLE, TABLE_TARGET)
    assert raised.value.code == "LGT102"


torch.manual_seed(0)
X = torch.randn(32, 5)
LABELS = torch.randint(0, 5, (32,))
BINARY = torch.randint(0, 2, (32, 5)).float()

# (name, wrong call -> expected code, right call)
CASES = [
    (
        "cross_entropy",
        lambda x: F.cross_entropy(F.softmax(x, 1), LABELS),
        "LGT101",
        lambda x: F.cross_entropy(x, LABELS),
    ),
    (
        "CrossEntropyLoss",
        lambda x: nn.CrossEntropyLoss()(x.softmax(1), LABELS),
        "LGT101",
        lambda x: nn.CrossEntropyLoss(label_smoothing=0.1)(x, LABELS),
    ),
    (
        "nll_loss",
        lambda x: F.nll_loss(F.softmax(x, 1), LABELS),
        "LGT103",
        lambda x: F.nll_loss(F.log_softmax(x, 1), LABELS),
    ),
    ("NLLLoss logits", lambda x: nn.NLLLoss()(x, LABELS), "LGT103", lambda x: nn.NLLLoss()(x.log_softmax(1), LABELS)),
    (
        "kl_div",
        lambda x: F.kl_div(F.softmax(x, 1), F.softmax(x.flip(0), 1), reduction="batchmean"),
        "LGT104",
        lambda x: F.kl_div(F.log_softmax(x, 1), F.softmax(x.flip(0), 1), reduction="batchmean"),
    ),
    (
        "KLDivLoss log target",
        lambda x: nn.KLDivLoss(reduction="batchmean")(x.log_softmax(1), x.flip(0).log_softmax(1)),
        "LGT105",
        lambda x: nn.KLDivLoss(reduction="batchmean", log_target=True)(x.log_softmax(1), x.flip(0).log_softmax(1)),
    ),
    (
        "kl_div log_target=True on probabilities",
        lambda x: F.kl_div(x.log_softmax(1), x.flip(0).softmax(1), reduction="batchmean", log_target=True),
        "LGT105",
        lambda x: F.kl_div(x.log_softmax(1), x.flip(0).softmax(1), reduction="batchmean"),
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda x: F.binary_cross_entropy_with_logits(torch.sigmoid(x), BINARY),
        "LGT106",
        lambda x: F.binary_cross_entropy_with_logits(x, BINARY),
    ),
    (
        "BCEWithLogitsLoss",
        lambda x: nn.BCEWithLogitsLoss()(x.sigmoid(), BINARY),
        "LGT106",
        lambda x: nn.BCEWithLogitsLoss(pos_weight=torch.ones(5))(x, BINARY),
    ),
    (
        "binary_cross_entropy saturated",
        lambda x: F.binary_cross_entropy(torch.sigmoid(x * 40), BINARY),
        "LGT203",
        lambda x: F.binary_cross_entropy(torch.sigmoid(x), BINARY),
    ),
    (
        "BCELoss saturated",
        lambda x: nn.BCELoss()(torch.sigmoid(x * 40), BINARY),
        "LGT203",
        lambda x: nn.BCELoss()(torch.sigmoid(x), BINARY),
    ),
]


@pytest.mark.parametrize(("name", "wrong", "code", "right"), CASES, ids=[c[0] for c in CASES])
def test_each_watched_loss(name, wrong, code, right):
    x = X.clone().requires_grad_()
    assert codes(lambda: wrong(x)) == [code]
    assert codes(lambda: right(x)) == []


@pytest.mark.parametrize(("name", "wrong", "code", "right"), CASES, ids=[c[0] for c in CASES])
def test_results_and_gradients_unchanged(name, wrong, code, right):
    for call in (wrong, right):
        plain = X.clone().requires_grad_()
        expected = call(plain)
        expected.backward()
        watched = X.clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with guard():
                got = call(watched)
            got.backward()
        torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)  # bitwise, NaN included
        torch.testing.assert_close(watched.grad, plain.grad, rtol=0, atol=0, equal_nan=True)
        assert got.grad_fn is not None  # still in the graph: the checks did not detach the loss


def test_probabilities_without_autograd_history_still_warn():
    with torch.no_grad():
        probabilities = F.softmax(X, 1)
    assert codes(lambda: F.cross_entropy(probabilities, LABELS)) == ["LGT102"]  # made by softmax, unrecorded


def test_under_no_grad():
    with torch.no_grad():
        assert codes(lambda: F.cross_entropy(TABLE, TABLE_TARGET)) == ["LGT102"]
        assert codes(lambda: F.cross_entropy(X, LABELS)) == []
        assert codes(lambda: F.nll_loss(F.log_softmax(X, 1), LABELS)) == []


def test_under_autocast():
    model = nn.Linear(5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(X)
        assert logits.dtype == torch.bfloat16
        assert codes(lambda: F.cross_entropy(logits, LABELS)) == []
        assert codes(lambda: F.cross_entropy(F.softmax(logits, 1).to(torch.bfloat16), LABELS)) == ["LGT101"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with guard():
                guarded = F.cross_entropy(logits, LABELS)
        assert torch.equal(guarded, F.cross_entropy(logits, LABELS))


def test_decorator_and_install():
    @guard()
    def step():
        return F.cross_entropy(TABLE, TABLE_TARGET)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step()
        F.cross_entropy(TABLE, TABLE_TARGET)  # outside the decorated function: not watched
        install(strict=True)
        try:
            with pytest.raises(LogitlintRuntimeError):
                F.cross_entropy(TABLE, TABLE_TARGET)
        finally:
            uninstall()
        F.cross_entropy(TABLE, TABLE_TARGET)
    assert [w.message.code for w in caught if w.category is LogitlintRuntimeWarning] == ["LGT102"]


def test_default_filter_warns_once_per_call_site():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        with guard():
            for _ in range(5):
                F.cross_entropy(TABLE, TABLE_TARGET)
    assert len([w for w in caught if w.category is LogitlintRuntimeWarning]) == 1


def test_large_inputs_are_checked_on_a_slice_without_copying():
    big = F.softmax(torch.randn(4096, 1000), 1)
    sampled = checks.sample(big, checks.SAMPLE_LIMIT)
    assert sampled.shape == (1000, 1000) and sampled.data_ptr() == big.data_ptr()
    assert codes(lambda: F.cross_entropy(big, torch.zeros(4096, dtype=torch.long))) == ["LGT102"]


def test_non_float_and_odd_inputs_are_left_alone():
    assert codes(lambda: F.cross_entropy(torch.ones(4, 1), torch.zeros(4, dtype=torch.long))) == []  # one class
    assert codes(lambda: F.binary_cross_entropy_with_logits(torch.rand(4), torch.ones(4))) == []  # too few to say
    with pytest.raises(ValueError, match="batch_size"), guard():
        F.cross_entropy(torch.randn(3, 4), torch.zeros(5, dtype=torch.long))  # torch's own error still surfaces
