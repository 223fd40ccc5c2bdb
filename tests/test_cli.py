"""The command line as a user drives it: output, exit codes, stdin, and safe writes."""

from __future__ import annotations

import json
import os
import stat

from tests.conftest import run_cli

DOUBLE_SOFTMAX = "import torch.nn.functional as F\n\n\ndef step(logits, y):\n    return F.cross_entropy(F.softmax(logits, dim=1), y)\n"
LOG_SOFTMAX = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))  # keep this comment\n"
CLEAN = "import torch.nn.functional as F\n\n\ndef step(logits, y):\n    return F.cross_entropy(logits, y)\n"


def test_check_reports_position_excerpt_and_summary(tmp_path):
    (tmp_path / "train.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 1
    path = str(tmp_path / "train.py")
    assert f"{path}:5:28: LGT101 [!] " in result.stdout
    assert "5 |     return F.cross_entropy(F.softmax(logits, dim=1), y)" in result.stdout
    assert "^^^^^^^^^^^^^^^^^^^^^^^^ LGT101" in result.stdout
    assert "unsafe: apply with `logitlint fix --unsafe-fixes`" in result.stdout
    assert "Found 1 finding." in result.stdout


def test_check_clean_exits_zero(tmp_path):
    (tmp_path / "ok.py").write_text(CLEAN)
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "All checks passed." in result.stdout


def test_select_and_ignore(tmp_path):
    (tmp_path / "a.py").write_text(DOUBLE_SOFTMAX + LOG_SOFTMAX)
    codes = lambda out: {line.split()[1] for line in out.splitlines() if ": LGT" in line}  # noqa: E731
    assert codes(run_cli("check", "--no-source", str(tmp_path)).stdout) == {"LGT101", "LGT201"}
    assert codes(run_cli("check", "--no-source", "--select", "LGT2", str(tmp_path)).stdout) == {"LGT201"}
    assert codes(run_cli("check", "--no-source", "--ignore", "LGT201", str(tmp_path)).stdout) == {"LGT101"}
    bad = run_cli("check", "--select", "XYZ9", str(tmp_path))
    assert bad.returncode == 2 and "--select" in bad.stderr and "XYZ9" in bad.stderr


def test_json_output_carries_fix_class_and_edits(tmp_path):
    (tmp_path / "a.py").write_text(LOG_SOFTMAX)
    result = run_cli("check", "--format", "json", str(tmp_path))
    data = json.loads(result.stdout)
    (finding,) = data["diagnostics"]
    assert finding["code"] == "LGT201" and finding["line"] == 5 and finding["column"] == 12
    assert finding["fix"]["class"] == "finite" and finding["fix"]["safe"] is True
    assert finding["fix"]["edits"][0]["content"] == "torch.log_softmax(x, dim=1)"


def test_stdin(tmp_path):
    result = run_cli("check", "-", "--stdin-filename", "from_editor.py", stdin=DOUBLE_SOFTMAX)
    assert result.returncode == 1 and "from_editor.py:5:28: LGT101" in result.stdout
    fixed = run_cli("fix", "-", stdin=LOG_SOFTMAX)
    assert fixed.stdout == LOG_SOFTMAX.replace("torch.log(torch.softmax(x, dim=1))", "torch.log_softmax(x, dim=1)")


def test_fix_writes_and_reports(tmp_path):
    target = tmp_path / "a.py"
    target.write_text(
        LOG_SOFTMAX + DOUBLE_SOFTMAX.replace("import torch.nn.functional as F\n", "import torch.nn.functional as F\n")
    )
    result = run_cli("fix", "--show-fixes", str(target))
    assert "LGT201 fixed: Use log_softmax [finite]" in result.stdout
    assert "Fixed 1 finding in 1 file." in result.stdout
    assert "Remaining 1 finding." in result.stdout  # the unsafe one stays without --unsafe-fixes
    assert result.returncode == 1
    assert "torch.log_softmax(x, dim=1)  # keep this comment" in target.read_text()


def test_fix_keeps_encoding_bom_newlines_and_mode(tmp_path):
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# caf\xe9\n" + LOG_SOFTMAX).encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + LOG_SOFTMAX.replace("\n", "\r\n").encode())
    os.chmod(bom, 0o754)
    result = run_cli("fix", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert latin.read_bytes().decode("latin-1").startswith("# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert b"torch.log_softmax" in latin.read_bytes()
    data = bom.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"torch.log_softmax(x, dim=1)" in data
    assert data.count(b"\r\n") == LOG_SOFTMAX.count("\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert stat.S_IMODE(os.stat(bom).st_mode) == 0o754
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_fix_diff_changes_nothing(tmp_path):
    target = tmp_path / "a.py"
    target.write_text(LOG_SOFTMAX)
    result = run_cli("fix", "--diff", str(target))
    assert result.returncode == 1
    assert "-    return torch.log(torch.softmax(x, dim=1))" in result.stdout
    assert "+    return torch.log_softmax(x, dim=1)" in result.stdout
    assert target.read_text() == LOG_SOFTMAX
    target.write_text(CLEAN)
    assert run_cli("fix", "--diff", str(target)).returncode == 0


def test_bad_files_are_reported_and_the_rest_checked(tmp_path):
    (tmp_path / "a_broken.py").write_text("import torch\ndef f(:\n    return torch.log(x)\n")
    (tmp_path / "b_binary.py").write_bytes(b"\x00\x01\x02torch")
    (tmp_path / "c_ok.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", str(tmp_path), str(tmp_path / "missing.py"))
    assert result.returncode == 2
    out = result.stdout
    assert "a_broken.py:2:" in out and "syntax error" in out
    assert "b_binary.py: error: binary file" in out
    assert "missing.py: error: no such file or directory" in out
    assert "c_ok.py:5:28: LGT101" in out


def test_rule_and_rules_commands():
    doc = run_cli("rule", "LGT101")
    assert doc.returncode == 0
    for heading in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety"):
        assert heading in doc.stdout
    listing = run_cli("rules")
    assert "LGT101" in listing.stdout and "softmax-into-cross-entropy" in listing.stdout and "bug-fix" in listing.stdout
    assert run_cli("rule", "LGT999").returncode == 2


def test_help_explains():
    result = run_cli("check", "--help")
    assert result.returncode == 0
    assert "--unsafe-fixes" in run_cli("fix", "--help").stdout
    assert "exit codes" in result.stdout and "[!]" in result.stdout


def test_fix_adds_the_import_it_needs():
    source = '"""Doc."""\nfrom torch import log, sigmoid\n\n\ndef f(x):\n    return log(sigmoid(x))\n'
    fixed = run_cli("fix", "-", stdin=source).stdout
    assert (
        fixed
        == '"""Doc."""\nfrom torch import log, sigmoid\nimport torch.nn.functional as F\n\n\ndef f(x):\n    return F.logsigmoid(x)\n'
    )


def test_fix_does_not_shadow_a_name_in_use():
    source = "from torch import log, sigmoid\nF = 3\n\n\ndef f(x):\n    return log(sigmoid(x))\n"
    fixed = run_cli("fix", "-", stdin=source).stdout
    assert "import torch\n" in fixed and "torch.nn.functional.logsigmoid(x)" in fixed and "F = 3" in fixed


def test_cross_entropy_over_log_softmax_is_information_and_entropy_is_not_reported(tmp_path):
    """Issue 12 point 9: the written-out soft cross-entropy over log_softmax is stable already (a
    simplification, not a warning); an entropy of the model's own distribution is not a cross-entropy."""
    (tmp_path / "losses.py").write_text(
        "import torch\nimport torch.nn.functional as F\n\n\n"
        "def stable(x, t):\n    return -(t * F.log_softmax(x, 1)).sum(1).mean()\n\n\n"
        "def fragile(x, t):\n    return -(t * torch.log(F.softmax(x, 1))).sum(1).mean()\n\n\n"
        "def entropy(x):\n    logp = F.log_softmax(x, -1)\n    return -(logp.exp() * logp).sum(-1).mean()\n"
    )
    result = run_cli("check", "--no-cache", "--format", "json", "--select", "LGT209", str(tmp_path))
    found = {d["line"]: d for d in json.loads(result.stdout)["diagnostics"]}
    assert set(found) == {6, 10}, found
    assert found[6]["severity"] == "info"
    assert "already stable" in found[6]["message"] and "stable where" not in found[6]["message"]
    assert found[10]["severity"] == "warning"


def test_parenthesised_operand_of_a_log_is_checked(tmp_path):
    """A parenthesised softmax under a log (with or without an eps) is read, not copied: a rule that
    reports on the softmax itself (LGT301) must find it in the file (found by fuzzing)."""
    (tmp_path / "p.py").write_text(
        "import torch\nimport torch.nn.functional as F\nlp = torch.log((F.softmax(a + b)))\n"
        "lr = torch.log((F.softmax(z)) + 1e-8)\n"
    )
    result = run_cli("check", "--no-cache", "--no-source", str(tmp_path))
    assert result.returncode == 1, result.stderr
    codes = sorted((line.split(":")[1], line.split()[1]) for line in result.stdout.splitlines() if ": LGT" in line)
    assert codes == [("3", "LGT201"), ("3", "LGT301"), ("4", "LGT202"), ("4", "LGT301")], result.stdout
