"""`logitlint fix --prove`: each fix is evaluated with torch before it is written.

Driven as a user would: a `logitlint fix --prove` subprocess on copies of the shipped example and of
fixtures; wrong fixes (the mutations the issue lists) given to the prover must be refused with what
was measured; without torch the flag says how to install it and exits 2.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

pytest.importorskip("torch")

from logitlint.diagnostics import Edit, Fix, FixClass, Span  # noqa: E402
from logitlint.prove.prover import PROVED, REFUTED, UNPROVABLE, prove  # noqa: E402
from logitlint.runner import RunConfig, _checker  # noqa: E402

NOT_PROVABLE = '''\
import torch
import torch.nn.functional as F


def normalise(x):
    return x - x.mean(dim=1, keepdim=True)


def compute(logits):
    return torch.log(F.softmax(normalise(logits), dim=1))
'''


def _fixes(path: Path) -> list:
    text = path.read_text()
    return [d for d in _checker(str(path), RunConfig())(text) if d.fix is not None]


def test_prove_writes_the_proved_fixes_of_the_example_and_says_what_it_measured(tmp_path):
    proved, plain = tmp_path / "proved", tmp_path / "plain"
    shutil.copytree(ROOT / "examples", proved / "examples")
    shutil.copytree(ROOT / "examples", plain / "examples")
    result = run_cli("fix", "--prove", "--unsafe-fixes", "examples", cwd=proved)
    run_cli("fix", "--unsafe-fixes", "examples", cwd=plain)
    err = result.stderr
    assert result.returncode in (0, 1), err
    # every fix of the example holds its class, so --prove writes what the fixer writes
    assert (proved / "examples/train_classifier.py").read_text() == (plain / "examples/train_classifier.py").read_text()
    assert (proved / "examples/train_classifier.py").read_text() != (ROOT / "examples/train_classifier.py").read_text()
    assert "LGT201 examples/train_classifier.py:33:17: [finite] proved: values equal to the original to" in err
    assert "gradients finite where the original's were NaN or inf on" in err
    assert "LGT101 examples/train_classifier.py:24:30: [bug-fix] proved: values equal to the intended maths" in err
    assert "LGT302 examples/train_classifier.py:35:19: [exact] proved" in err
    assert "prove: 3 proved, 0 refuted, 0 not provable here" in err


def test_a_fix_that_calls_user_code_is_not_provable_and_not_written(tmp_path):
    target = tmp_path / "model.py"
    target.write_text(NOT_PROVABLE)
    result = run_cli("fix", "--prove", str(target.name), cwd=tmp_path)
    assert target.read_text() == NOT_PROVABLE  # untouched
    assert "not provable here, fix not written: calls normalise(...), which is not a known torch function" in result.stderr
    assert "prove: 0 proved, 0 refuted, 1 not provable here" in result.stderr
    assert "fix not written: not provable here" in result.stdout  # the finding stays, saying why
    assert result.returncode == 1
    # without --prove the same fix is written: the refusal is the prover's
    run_cli("fix", str(target.name), cwd=tmp_path)
    assert "F.log_softmax(normalise(logits), dim=1)" in target.read_text()


def test_a_class_claim_that_does_not_hold_is_refused(tmp_path):
    """LGT209 classes `-(t * F.log_softmax(x, 1)).sum(1).mean()` -> `F.cross_entropy(x, t)` as exact;
    measured, the two differ by more than the 2 ulp exact allows (prob-target CE sums in another
    order), so --prove refuses it and says by how much."""
    source = (FIXTURES / "fixes/LGT209-log-softmax/before.py").read_text()
    target = tmp_path / "soft.py"
    target.write_text(source)
    result = run_cli("fix", "--prove", target.name, cwd=tmp_path)
    assert target.read_text() == source
    assert "LGT209 soft.py:14:12: [exact] refuted, fix not written: values differ by" in result.stderr
    assert "ulp from the original (exact allows 2)" in result.stderr


def _edit(text: str, old: str, new: str) -> Edit:
    """Replace the one occurrence of ``old`` in ``text``."""
    assert text.count(old) == 1, old
    at = text.index(old)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1)
    return Edit(Span(line, col, line, col + len(old)), new)


def _wrong(diagnostic, text: str, edits, fix_class: FixClass | None = None):
    """The same finding with a rewrite the test supplies: a deliberately wrong fixer."""
    fix = diagnostic.fix
    return dataclasses.replace(
        diagnostic,
        fix=Fix(fix.title, fix_class or fix.fix_class, tuple(_edit(text, old, new) for old, new in edits)),
    )


@pytest.mark.parametrize(
    ("fixture", "edits", "reason"),
    [
        # drop a keyword argument: the rewrite passes the logits but loses weight=
        (
            "LGT101-weight-sum",
            [("weight=weight, ", ""), ("torch.softmax(logits, dim=1)", "logits")],
            "values differ from the intended maths",
        ),
        # change a dim
        ("LGT201-direct", [("torch.log(F.softmax(logits, dim=1))", "F.log_softmax(logits, dim=0)")], "values differ from the original"),
        # keep the softmax
        (
            "LGT201-direct",
            [("torch.log(F.softmax(logits, dim=1))", "F.log_softmax(F.softmax(logits, dim=1), dim=1)")],
            "values differ from the original",
        ),
        (
            "LGT101-direct",
            [("F.softmax(logits, dim=1)", "F.softmax(F.softmax(logits, dim=1), dim=1)")],
            "values differ from the intended maths",
        ),
        # argmax of something else
        ("LGT302-argmax", [("F.softmax(logits, dim=1)", "-logits")], "indices differ from the original's"),
    ],
)
def test_wrong_rewrites_are_refuted_with_what_was_measured(fixture, edits, reason):
    path = FIXTURES / "fixes" / fixture / "before.py"
    text = path.read_text()
    [diagnostic] = _fixes(path)
    assert prove(text, diagnostic).status == PROVED  # the real fix holds
    verdict = prove(text, _wrong(diagnostic, text, edits))
    assert verdict.status == REFUTED, verdict
    assert reason in verdict.detail, verdict.detail


def test_a_rewrite_calling_an_unknown_function_is_never_run():
    path = FIXTURES / "fixes/LGT201-direct/before.py"
    text = path.read_text()
    [diagnostic] = _fixes(path)
    wrong = _wrong(diagnostic, text, [("torch.log(F.softmax(logits, dim=1))", "__import__('os').getcwd()")])
    verdict = prove(text, wrong)
    assert verdict.status == UNPROVABLE
    assert "calls __import__(...), which is not a known torch function" in verdict.detail


def test_moving_log_softmax_out_of_no_grad_is_refuted():
    """The issue's first wrong fix: `p = F.softmax(logits, 1)` under no_grad, `torch.log(p)` outside.
    The fixer no longer offers it; a fixer that did would be refused: gradients reach the logits."""
    path = FIXTURES / "fixes/LGT201-no-grad/before.py"
    text = path.read_text()
    [finding] = [d for d in _checker(str(path), RunConfig())(text) if d.code == "LGT201"]
    assert finding.fix is None
    row = text.splitlines()[finding.span.line - 1]
    col = row.index("torch.log(p)")
    span = Span(finding.span.line, col, finding.span.line, col + len("torch.log(p)"))
    wrong = dataclasses.replace(
        finding, fix=Fix("wrong", FixClass.FINITE, (Edit(span, "F.log_softmax(logits, 1)"),))
    )
    verdict = prove(text, wrong)
    assert verdict.status == REFUTED
    assert "gradient for logits" in verdict.detail


def test_prove_without_torch_says_how_to_install_and_exits_2(tmp_path):
    shim = tmp_path / "shim" / "torch"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("torch is blocked for this test")\n')
    target = tmp_path / "work" / "model.py"
    target.parent.mkdir()
    source = (FIXTURES / "fixes/LGT201-direct/before.py").read_text()
    target.write_text(source)
    env = {"PYTHONPATH": f"{tmp_path / 'shim'}:{ROOT / 'src'}"}
    result = run_cli("fix", "--prove", "model.py", cwd=target.parent, env=env)
    assert result.returncode == 2
    assert "pip install 'logitlint[prove]'" in result.stderr
    assert "torch is blocked for this test" in result.stderr
    assert target.read_text() == source
    # the checker itself never needs torch: plain `fix` works with the same shim
    plain = run_cli("fix", "model.py", cwd=target.parent, env=env)
    assert plain.returncode == 0, plain.stderr
    assert "F.log_softmax(logits, dim=1)" in target.read_text()


def test_help_documents_prove():
    result = run_cli("fix", "--help")
    text = " ".join(result.stdout.split())
    assert "--prove" in text
    assert "are 'not provable here' and not written" in text
    assert "pip install 'logitlint[prove]'" in text


REBOUND = '''\
import torch


def normalise(video, text, temperature):
    similarity = torch.matmul(video, text.T)
    if temperature is not None:
        similarity /= temperature
    weights = torch.exp(similarity)
    weights = weights / torch.sum(weights, dim=0, keepdims=True)
    return weights
'''


def test_a_name_rebound_from_itself_is_read_before_the_rebinding(tmp_path):
    """transformers' videoprism: `w = exp(s)` then `w = w / w.sum(0)`: the right side reads the first
    value (a prover that followed the rebinding itself refuted this correct fix)."""
    target = tmp_path / "sim.py"
    target.write_text(REBOUND)
    result = run_cli("fix", "--prove", target.name, cwd=tmp_path)
    assert "LGT206 sim.py:9:15: [finite] proved: values equal to the original to" in result.stderr, result.stderr
    assert "weights = torch.softmax(similarity, dim=0)" in target.read_text()
