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


def cross_cell_notebook(path):
    """A model with a softmax layer in cell 2 and its use in cell 4, a softmax and its log in cells 4, 5
    (cell 3 is markdown: cells are numbered as Jupyter shows them, every cell counting)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F"),
        nbformat.v4.new_code_cell(
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 3)\n        self.act = nn.Softmax(dim=1)\n"
            "    def forward(self, x):\n        return self.act(self.fc(x))"
        ),
        nbformat.v4.new_markdown_cell("## Training"),
        nbformat.v4.new_code_cell(
            "model = Net()\nx, y = torch.randn(2, 4), torch.tensor([0, 1])\n"
            "loss = F.cross_entropy(model(x), y)\np = F.softmax(x, dim=1)"
        ),
        nbformat.v4.new_code_cell("lp = torch.log(p)"),
    ]
    path.write_text(nbformat.writes(nb))


def test_every_position_is_the_cells_own(tmp_path):
    """Messages, related notes and locations name the cell and count lines in it, in every format
    (not lines of the joined program: the softmax in cell 4 is line 18 of that)."""
    notebook = tmp_path / "train.ipynb"
    cross_cell_notebook(notebook)
    text = run_cli("check", str(notebook)).stdout
    assert f"{notebook}:cell 4:3:24: LGT107" in text
    assert "`Net` returns `nn.Softmax(...)` output (cell 2, line 5)" in text
    assert f"= note: `Net` applies softmax here: {notebook}:cell 2:5:20" in text
    assert f"{notebook}:cell 5:1:6: LGT201" in text
    assert "`F.softmax(...)` output, cell 4, line 4)" in text
    assert f"= note: softmax applied here: {notebook}:cell 4:4:5" in text
    assert "line 18" not in text and "here (cell" not in text
    assert run_cli("check", str(notebook), cwd=tmp_path).stdout == run_cli("check", str(notebook), cwd=tmp_path).stdout == text  # the cache keeps the cells

    data = json.loads(run_cli("check", "--format", "json", str(notebook)).stdout)
    found = {d["code"]: d for d in data["diagnostics"]}
    assert (found["LGT107"]["cell"], found["LGT107"]["line"], found["LGT107"]["column"]) == (4, 3, 24)
    assert found["LGT107"]["related"] == [
        {"path": str(notebook), "cell": 2, "line": 5, "column": 20, "message": "`Net` applies softmax here"}
    ]
    assert found["LGT201"]["related"][0]["cell"] == 4 and found["LGT201"]["related"][0]["line"] == 4

    github = run_cli("check", "--format", "github", str(notebook)).stdout
    (annotation,) = [line for line in github.splitlines() if "LGT107" in line]
    assert "line=" not in annotation.split("::")[1]  # a line of the .ipynb's JSON would point nowhere
    assert annotation.endswith(f"::{notebook}:cell 4:3:24: LGT107 {found['LGT107']['message']}")

    sarif = json.loads(run_cli("check", "--format", "sarif", str(notebook)).stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "LGT107"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["region"]["startLine"] == 3
    assert location["logicalLocations"][0]["name"] == "cell 4"
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == 5 and related["logicalLocations"][0]["name"] == "cell 2"
    (fixable,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "LGT201"]
    assert "fixes" not in fixable  # cell-relative replacements cannot apply to the notebook's JSON

    fixed = run_cli("fix", "--show-fixes", str(notebook)).stdout
    assert f"{notebook}:cell 5:1:6: LGT201 fixed" in fixed and f"{notebook}:cell 4:3:24: LGT107" in fixed


def test_positions_after_a_fix_adds_an_import_line(tmp_path):
    """A fix adds `import torch` to cell 1: the findings left in later cells keep their own lines,
    in the location, the excerpt and the message."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from torch import log, softmax, sigmoid\nimport torch.nn as nn"),
        nbformat.v4.new_code_cell("p = softmax(x, 1)\nout = sigmoid(model(x))"),
        nbformat.v4.new_code_cell("z = 1\nloss = nn.BCEWithLogitsLoss()(out, y)\nlp = log(p)"),
    ]
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(nbformat.writes(nb))
    result = run_cli("fix", "--no-cache", str(notebook))
    assert nbformat.reads(notebook.read_text(), as_version=4).cells[0].source.splitlines()[-1] == "import torch"
    assert f"{notebook}:cell 3:2:31: LGT106" in result.stdout
    assert "`out` (`sigmoid(...)` output, cell 2, line 2)" in result.stdout
    assert "2 | loss = nn.BCEWithLogitsLoss()(out, y)" in result.stdout
    again = run_cli("check", "--no-cache", str(notebook)).stdout
    assert again.splitlines()[0] == result.stdout.split("\n\n")[0].splitlines()[0]


def test_diff_shows_each_changed_cell_with_its_own_lines(tmp_path):
    notebook = tmp_path / "train.ipynb"
    before = make_notebook(notebook)
    result = run_cli("fix", "--diff", "--unsafe-fixes", str(notebook))
    assert result.returncode == 1, result.stdout + result.stderr
    assert notebook.read_text() == before  # --diff writes nothing
    name = str(notebook).lstrip("/")
    assert f"--- a/{name}:cell 3\n+++ b/{name}:cell 3\n@@ -1,4 +1,4 @@\n" in result.stdout
    assert "-logp = torch.log(F.softmax(logits, dim=1))\n+logp = F.log_softmax(logits, dim=1)\n" in result.stdout
    assert f"--- a/{name}:cell 5\n" in result.stdout
    assert "+loss = F.cross_entropy(logits, target)\n" in result.stdout
    assert '"source"' not in result.stdout and "cell 2" not in result.stdout  # no JSON, unchanged cells left out
    check = run_cli("check", "--diff", "--unsafe-fixes", str(notebook))
    assert check.stdout == result.stdout
