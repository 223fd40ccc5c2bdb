"""``# noqa`` as `logitlint check` reads it, on its own (flake8's own reading is compared in
tests/test_flake8.py): a bare noqa, a code, a prefix and a list suppress; another code does not."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

LINE = "    return F.cross_entropy(F.softmax(logits, dim=1), target)"
PROGRAM = "import torch.nn.functional as F\n\n\ndef compute(logits, target):\n{line}\n"


def codes(tmp_path, comment: str) -> list[str]:
    path = tmp_path / "train.py"
    path.write_text(PROGRAM.format(line=LINE + comment))
    result = run_cli("check", "--no-cache", "--format", "json", str(path))
    assert result.returncode in (0, 1), result.stderr
    return [d["code"] for d in json.loads(result.stdout)["diagnostics"]]


def test_without_a_comment_the_finding_is_reported(tmp_path):
    assert codes(tmp_path, "") == ["LGT101"]


@pytest.mark.parametrize(
    "comment", ["  # noqa", "  # NOQA", "  # noqa: LGT101", "  # noqa:LGT1", "  # noqa: E501, LGT101", "  # noqa: LGT"]
)
def test_noqa_suppresses(tmp_path, comment):
    assert codes(tmp_path, comment) == []


@pytest.mark.parametrize("comment", ["  # noqa: LGT2", "  # noqa: E501", "  # no qa", "  # noqa: LGT1012"])
def test_noqa_for_other_codes_does_not(tmp_path, comment):
    assert codes(tmp_path, comment) == ["LGT101"]
