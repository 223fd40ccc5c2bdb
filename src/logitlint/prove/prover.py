"""Proving one fix: evaluate the original and the rewritten expression on generated inputs and check
the fix's class (see ``checks``). Three verdicts: proved, refuted, not provable here."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

import torch

from logitlint.diagnostics import Diagnostic, FixClass
from logitlint.prove.checks import Side, Tally, record, summary
from logitlint.prove.inputs import Inputs, trials
from logitlint.prove.interpret import TORCH_ERRORS, Interpreter
from logitlint.prove.locate import NotProvable, Program, compared_pair

PROVED, REFUTED, UNPROVABLE = "proved", "refuted", "not provable here"
# Bug-fix rules whose intent the interpreter knows (interpret.Interpreter._intended_loss).
INTENTS = frozenset({"LGT101", "LGT102", "LGT103", "LGT104", "LGT105", "LGT106", "LGT108", "LGT203"})


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str

    @property
    def proved(self) -> bool:
        return self.status == PROVED


def prove(text: str, diagnostic: Diagnostic) -> Verdict:
    assert diagnostic.fix is not None
    torch.set_num_threads(1)  # tensors of 5 to 120 entries: threads cost more than they give
    fix_class = diagnostic.fix.fix_class
    if fix_class is FixClass.BUG_FIX and diagnostic.code not in INTENTS:
        return Verdict(UNPROVABLE, f"no stated intent for {diagnostic.code} to compare the rewrite with")
    try:
        # bug-fix and exact claims are about the result (the loss, the argmax); the others about the
        # values where the rewrite acts, compared as tightly as possible
        pair = compared_pair(text, diagnostic, whole=fix_class in (FixClass.BUG_FIX, FixClass.EXACT))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verdict = _measure(pair, diagnostic.code, fix_class)
            if verdict.status == UNPROVABLE and verdict.detail.startswith(_NEVER_RUNS):
                verdict = _measure(pair, diagnostic.code, fix_class, opaque_errors=True)
            return verdict
    except NotProvable as exc:
        return Verdict(UNPROVABLE, str(exc))
    except RecursionError:
        return Verdict(UNPROVABLE, "the expression is too deep")


_NEVER_RUNS = "the original raises on every generated input"


def _measure(pair, code: str, fix_class: FixClass, *, opaque_errors: bool = False) -> Verdict:
    tally = Tally(fix_class)
    first_error: str | None = None
    varied = False  # does any name have a second form (probability targets, (C,) factors)?
    for trial in trials():  # variant 0 first
        if trial.variant == 1 and not varied:
            continue
        if trial.kind == "small" and fix_class is FixClass.EXACT:
            continue  # logits 1e-7 apart are near-ties, the documented exception of exact fixes
        inputs = Inputs(trial)
        try:
            original = _run(pair.original, pair.before, inputs, opaque_errors=opaque_errors)
        except TORCH_ERRORS as exc:
            tally.skipped += 1
            first_error = first_error or f"{type(exc).__name__}: {_short(exc)}"
            varied = varied or inputs.varied
            continue
        varied = varied or inputs.varied
        try:
            rewrite = _run(pair.fixed, pair.after, inputs, opaque_errors=opaque_errors)
        except TORCH_ERRORS as exc:
            tally.fail(trial, f"the rewrite raises {type(exc).__name__} ({_short(exc)}) where the original runs")
            break
        reference = None
        if fix_class is FixClass.BUG_FIX:  # in the trial's dtype: rounding upstream of the fix is shared
            reference = _run(pair.original, pair.before, inputs.same(), intent=code, opaque_errors=opaque_errors)
        record(tally, trial, original, rewrite, reference)
        if tally.failure:
            break
    if tally.failure:
        return Verdict(REFUTED, tally.failure)
    if tally.inputs == 0:
        return Verdict(UNPROVABLE, f"{_NEVER_RUNS} ({first_error})")
    return Verdict(PROVED, summary(tally))


def _run(
    program: Program, node: ast.expr, inputs: Inputs, *, intent: str | None = None, opaque_errors: bool = False
) -> Side:
    interpreter = Interpreter(program, inputs, intent=intent, opaque_errors=opaque_errors)
    value = interpreter.evaluate(node, no_grad=program.under_no_grad(node))
    if isinstance(value, (bool, int, float)):
        value = torch.tensor(value)
    if not isinstance(value, torch.Tensor):
        raise NotProvable(f"the expression gives a {type(value).__name__}, not a tensor")
    names = sorted(inputs.leaves)
    grads: dict[str, torch.Tensor] = {}
    if value.requires_grad and names:
        found = torch.autograd.grad(
            value, [inputs.leaves[n] for n in names], torch.ones_like(value), allow_unused=True
        )
        grads = {n: g for n, g in zip(names, found) if g is not None}
    return Side(value.detach(), grads)


def _short(exc: BaseException) -> str:
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return line[:120]
