"""Reference implementations: a test's oracle and a library's own definition of a stable function
write the textbook form on purpose. The numerical rules stay quiet there (and only there); the
rules about a wrong loss do not."""

from __future__ import annotations

import json
import textwrap

import pytest

from logitlint.engine import CheckSettings, check_source

# Shapes from torch's own test oracles (testing/_internal/common_nn.py, common_modules.py).
ORACLES = """\
import torch
import torch.nn.functional as F
from torch import sigmoid


def softmarginloss_reference(input, target):
    return (1 + (-input * target).exp()).log().mean()


def module_inputs(make_input):
    def multilabel_loss_reference_fn(m, p, i, t):
        return t * i.sigmoid().log() + (1 - t) * (-i).sigmoid().log()

    return [
        dict(input=make_input((3, 4)), reference_fn=lambda m, p, i: torch.log1p(torch.exp(i))),
        dict(input=make_input((3, 4)), reference_fn=lambda i, *_: -(t * sigmoid(i).log()).mean()),
        dict(input=make_input((3, 4)), referenceFn=(lambda i: torch.log(1 + i))),
    ]
"""


def codes(source: str, path: str) -> list[str]:
    return sorted(d.code for d in check_source(textwrap.dedent(source), path, CheckSettings()))


@pytest.mark.parametrize("path", ["tests/test_losses.py", "torch/testing/_internal/common_nn.py", "test_nn.py"])
def test_oracles_in_test_files_are_quiet(path):
    assert codes(ORACLES, path) == []


def test_the_same_code_outside_tests_is_reported():
    assert codes(ORACLES, "train.py") == ["LGT204", "LGT204", "LGT204", "LGT207", "LGT207", "LGT208"]


def test_only_reference_names_are_quiet_in_tests():
    source = """\
    import torch

    def test_loss_is_finite(x):
        assert torch.isfinite(torch.log(1 + torch.exp(x))).all()

    def compute(x, reference):
        return torch.log(torch.sigmoid(x)), [dict(fn=lambda i: torch.log(torch.sigmoid(i)))]
    """
    assert codes(source, "tests/test_losses.py") == ["LGT204", "LGT204", "LGT207"]


def test_a_wrong_loss_in_a_reference_is_still_reported():
    source = """\
    import torch.nn.functional as F

    def cross_entropy_reference(x, y):
        return F.cross_entropy(F.softmax(x, 1), y)
    """
    assert codes(source, "tests/test_losses.py") == ["LGT101"]


def test_a_reference_model_outside_tests_counts():
    # In training code "reference" names a model (a DPO reference policy): its log-probabilities matter.
    source = """\
    import torch

    def reference_log_probs(ref_model, x):
        return torch.log(torch.softmax(ref_model(x), -1))
    """
    assert codes(source, "trainer.py") == ["LGT201"]
    assert codes(source, "tests/test_trainer.py") == []


def test_a_definition_of_the_suggested_function_itself_is_quiet_anywhere():
    source = """\
    import torch

    def softplus(a, beta=1.0, threshold=20.0):
        rhs = torch.log1p(torch.exp(a * beta)) / beta
        return torch.where(a * beta > threshold, a, rhs)

    def _log1p(x):
        return torch.log(1 + x)

    def my_activation(a):
        return torch.log1p(torch.exp(a))
    """
    assert codes(source, "torch/_refs/nn/functional/__init__.py") == ["LGT207"]


def test_cli_on_a_project_with_tests(tmp_path, cli):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_oracles.py").write_text(ORACLES, encoding="utf-8")
    (tmp_path / "train.py").write_text(ORACLES, encoding="utf-8")
    result = cli("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)["diagnostics"]
    assert {d["path"] for d in found} == {"train.py"}, found
    assert len(found) == 6
