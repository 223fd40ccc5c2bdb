"""A finding without a fix says why (``= no fix: ...`` in text, ``fix_note`` in json, the hover and
quick-fix list in the editor): every rule's examples and every fixture, through the CLI."""

from __future__ import annotations

import json

from logitlint.rules import rule_classes
from tests.conftest import FIXTURES, ROOT, run_cli

LGT106_HIDDEN = """import torch
import torch.nn as nn


def step(model, x, y):
    out = torch.sigmoid(model(x))
    return nn.BCEWithLogitsLoss()(out, y)
"""


def test_lgt106_on_a_variable_names_why_there_is_no_fix(tmp_path):
    (tmp_path / "train.py").write_text(LGT106_HIDDEN)
    result = run_cli("check", str(tmp_path / "train.py"))
    assert "LGT106" in result.stdout and "[!]" not in result.stdout  # no fix...
    assert "= no fix: using the logits here would evaluate `model(x)` again" in result.stdout  # ...and why


def test_reassigned_logits_are_named(tmp_path):
    source = LGT106_HIDDEN.replace("out = torch.sigmoid(model(x))", "out = torch.sigmoid(x)\n    x = x * 2")
    (tmp_path / "train.py").write_text(source)
    (finding,) = json.loads(run_cli("check", "--format", "json", str(tmp_path / "train.py")).stdout)["diagnostics"]
    assert finding["fix"] is None
    assert finding["fix_note"] == "no fix: `x` is assigned again between `torch.sigmoid(x)` and this use"


def test_every_finding_without_a_fix_says_why(tmp_path):
    for cls in rule_classes():
        for number, example in enumerate(cls.invalid):
            (tmp_path / f"{cls.code}_{number}.py").write_text(example.source)
    for index, path in enumerate(sorted([*FIXTURES.rglob("*.py"), *(ROOT / "examples").rglob("*.py")])):
        (tmp_path / f"fixture_{index}.py").write_text(path.read_text())
    (tmp_path / "hidden.py").write_text(LGT106_HIDDEN)
    data = json.loads(run_cli("check", "--no-cache", "--format", "json", str(tmp_path)).stdout)
    without_fix = [d for d in data["diagnostics"] if d["fix"] is None]
    assert {d["code"] for d in without_fix} >= {"LGT106", "LGT107", "LGT301"}  # the test sees such findings
    silent = [(d["path"], d["line"], d["code"]) for d in without_fix if not d.get("fix_note")]
    assert silent == []


LOSS_ON_TWO_BRANCHES = """import torch.nn as nn
import torch.nn.functional as F


def step(x, y, w, weighted):
    if weighted:
        crit = nn.CrossEntropyLoss(weight=w)
    else:
        crit = nn.CrossEntropyLoss()
    lp = F.log_softmax(x, dim=1)
    return crit(lp.exp(), y)
"""


def test_a_loss_built_two_ways_is_found_but_not_rewritten(tmp_path):
    """Both branches make a CrossEntropyLoss, so the finding holds; the NLL rewrite would have to
    copy `weight=` from one of them, so it is refused and says why."""
    (tmp_path / "train.py").write_text(LOSS_ON_TWO_BRANCHES)
    (finding,) = json.loads(run_cli("check", "--format", "json", str(tmp_path / "train.py")).stdout)["diagnostics"]
    assert finding["code"] == "LGT102" and finding["fix"] is None
    assert finding["fix_note"].startswith("no fix: the loss's arguments are not all known here")
