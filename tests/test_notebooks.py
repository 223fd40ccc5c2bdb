"""Jupyter notebooks (made with nbformat): code cells checked in order, IPython lines left alone,
findings reported by cell, fixes written back with the notebook's JSON otherwise unchanged."""

from __future__ import annotations

import difflib
import json

import pytest

from tests.conftest import run_cli

nbformat = pytest.importorskip("nbformat")


def make_notebook(path, *, indent=1):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training\n`torch.log(torch.softmax(x, 1))` in markdown is not code"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport torch\nimport torch.nn.functional as F\n!nvidia-smi"),
        nbformat.v4.new_code_cell(
            "logits = torch.randn(4, 3)\nlogp = torch.log(F.softmax(logits, dim=1))\nfiles = !ls\nlogp?"
        ),
        nbformat.v4.new_code_cell("%%bash\necho torch.log"),
        nbformat.v4.new_code_cell(
            "target = torch.tensor([0, 1, 2, 0])\nloss = F.cross_entropy(F.softmax(logits, dim=1), target)"
        ),
    ]
    text = json.dumps(nb, indent=indent, ensure_ascii=False) + "\n"
    path.write_text(text)
    return text


def test_check_reports_by_cell(tmp_path):
    notebook = tmp_path / "train.ipynb"
    make_notebook(notebook)
    result = run_cli("check", "--no-source", str(notebook))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{notebook}:cell 3:2:8: LGT201" in result.stdout
    assert f"{notebook}:cell 5:2:24: LGT101" in result.stdout
    data = json.loads(run_cli("check", "--format", "json", str(notebook)).stdout)
    assert {(d["cell"], d["line"], d["code"]) for d in data["diagnostics"]} == {(3, 2, "LGT201"), (5, 2, "LGT101")}


@pytest.mark.parametrize("indent", [1, 2])
def test_fix_changes_only_the_fixed_lines(tmp_path, indent):
    notebook = tmp_path / "train.ipynb"
    before = make_notebook(notebook, indent=indent)
    result = run_cli("fix", "--unsafe-fixes", str(notebook))
    assert result.returncode == 0, result.stdout + result.stderr
    after = notebook.read_text()
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert len(changed) == 4, changed  # two lines out, two in: nothing else moved
    fixed = nbformat.reads(after, as_version=4)
    assert fixed.cells[2].source.splitlines()[1] == "logp = F.log_softmax(logits, dim=1)"
    assert fixed.cells[2].source.splitlines()[2:] == ["files = !ls", "logp?"]  # IPython lines kept
    assert fixed.cells[4].source.endswith("loss = F.cross_entropy(logits, target)")
    nbformat.validate(fixed)
    again = run_cli("fix", "--unsafe-fixes", str(notebook))
    assert notebook.read_text() == after and "Fixed 0 findings" in again.stdout


def test_a_cell_that_does_not_parse(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell("x = 1\ny = torch.log(torch.softmax(x, 1)\n"),
    ]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(path))
    result = run_cli("check", str(path))
    assert result.returncode == 2 and "syntax error in cell 2, line 2" in result.stdout


def test_malformed_notebook(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text('{"cells": [')
    result = run_cli("check", str(path))
    assert result.returncode == 2 and "not a notebook" in result.stdout


def test_json_edits_say_which_cell_they_change(tmp_path):
    """The import a fix adds goes with the notebook's imports, in another cell than the finding."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from torch import log, sigmoid\nx = 2.0"),
        nbformat.v4.new_code_cell("lp = log(sigmoid(x))"),
    ]
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(nbformat.writes(nb))
    (finding,) = json.loads(run_cli("check", "--format", "json", str(notebook)).stdout)["diagnostics"]
    assert finding["cell"] == 2
    edits = {(e["cell"], e["line"], e["content"]) for e in finding["fix"]["edits"]}
    assert edits == {(2, 1, "F.logsigmoid(x)"), (1, 2, "import torch.nn.functional as F\n")}
