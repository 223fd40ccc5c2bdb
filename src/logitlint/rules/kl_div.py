"""Family 1: ``kl_div`` given the wrong kind of tensor, or the wrong reduction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.losses import LossStyle
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import FixClass, Severity
from logitlint.rules.base import Invalid, LossInputRule, LossRule, Rule
from logitlint.rules.common import loss_name, related_for, set_keyword
from logitlint.rules.log_softmax import log_argument
from logitlint.rules.rewrite import describe, hidden_reason, renamed, visible_logits

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.rules.context import RuleContext

KL_WORDS = frozenset({"kl_div", "KLDivLoss"})


class ProbabilitiesIntoKlDiv(LossInputRule):
    code = "LGT104"
    name = "probabilities-into-kl-div"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "Probabilities passed as the input of kl_div, which expects log-probabilities"
    requires = KL_WORDS
    losses = frozenset({"kl_div"})
    what = "Checks for softmax output (or other probabilities) passed as the *input* (first argument) of `F.kl_div` or an `nn.KLDivLoss` object."
    why = (
        "`kl_div(input, target)` computes `target * (log(target) - input)`: the input must be "
        "log-probabilities. Given probabilities it computes `Σ p (log p - q)`, which is not a "
        "divergence and can be negative (measured -1.4665 where KL was 2.5053). Probabilities as the "
        "*target* are right: `kl_div(log_softmax(s / T), softmax(t / T))` is the distillation loss."
    )
    example = """```python
loss = F.kl_div(F.softmax(student, dim=1), teacher_probs, reduction="batchmean")
```"""
    use_instead = """```python
loss = F.kl_div(F.log_softmax(student, dim=1), teacher_probs, reduction="batchmean")
```"""
    fix_safety = (
        "**bug-fix** (unsafe): softmax becomes log_softmax (same dim; `dtype=` kept as a keyword), "
        "which matches a float64 KL reference to 1.4 ulp (f32) under every reduction. The fix never "
        "touches `reduction` or `log_target`."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction='batchmean')\n",
        "import torch.nn as nn\nimport torch.nn.functional as F\nkl = nn.KLDivLoss(reduction='batchmean')\nloss = kl(F.log_softmax(s, 1), F.softmax(t, 1))\n",
        "import torch.nn.functional as F\nloss = F.kl_div(log_q, p, reduction='batchmean')\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.kl_div(F.softmax(s, dim=1), p, reduction='batchmean')\n",
            at="F.softmax(s, dim=1)",
            fixed="import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, dim=1), p, reduction='batchmean')\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\ncrit = nn.KLDivLoss(reduction='sum')\nq = torch.softmax(s, -1)\nloss = crit(q, p)\n",
            at="q",
            fixed="import torch\nimport torch.nn as nn\ncrit = nn.KLDivLoss(reduction='sum')\nq = torch.softmax(s, -1)\nloss = crit(torch.log_softmax(s, -1), p)\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nloss = F.kl_div(F.softmax(t, 1), F.log_softmax(s, 1), reduction='batchmean')  # swapped\n",
            at="F.softmax(t, 1)",
            fixed="import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(t, 1), F.log_softmax(s, 1), reduction='batchmean')  # swapped\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        message = (
            f"{describe(value, ctx, lc.input)} is passed as the input of {loss_name(lc, ctx)}, which "
            "expects log-probabilities (probabilities belong in the target); use log_softmax"
        )
        fix, note = None, None
        if value.source is Source.SOFTMAX:
            if visible_logits(value, lc.input, ctx) is None:
                note = hidden_reason(value, lc.input, ctx)
            else:
                new = renamed(value, "log_softmax", lc.input, ctx)
                if new is not None:
                    producer = value.producer
                    assert producer is not None
                    edit = (
                        ctx.replace(producer.call, new[0], producer.unit)
                        if value.via is Via.DIRECT
                        else ctx.replace(lc.input, new[0])
                    )
                    fix = ctx.fix(
                        self, "Use log_softmax for the kl_div input (changes the loss value)", [edit, *new[1]]
                    )
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)


class KlDivLogTargetMismatch(LossRule):
    code = "LGT105"
    name = "kl-div-log-target-mismatch"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "kl_div target is log-probabilities but log_target is not True (or the reverse)"
    requires = KL_WORDS
    losses = frozenset({"kl_div"})
    what = (
        "Checks for a `kl_div` target that is log-probabilities (`log_softmax`, `torch.log(...)`) "
        "without `log_target=True`, and for `log_target=True` with a probability target."
    )
    why = (
        "Without `log_target=True`, `kl_div` reads its target as probabilities: a log-probability target "
        "(all entries <= 0) makes `target * log(target)` NaN or meaningless. With `log_target=True` and "
        "a probability target the value is silently wrong (measured 42.2 where KL was 2.505)."
    )
    example = """```python
loss = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction="batchmean")
```"""
    use_instead = """```python
loss = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction="batchmean", log_target=True)
```"""
    fix_safety = (
        "**bug-fix** (unsafe): the fix adds `log_target=True` (or, for a probability target, removes "
        "`log_target=True`), which makes the value the KL divergence the code computes the inputs for. "
        "A loss object built elsewhere is reported without a fix, since other calls may share it."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction='batchmean', log_target=True)\n",
        "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction='batchmean')\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction='batchmean')\n",
            at="F.log_softmax(t, 1)",
            fixed="import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction='batchmean', log_target=True)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nloss = nn.KLDivLoss(reduction='batchmean')(s.log_softmax(1), torch.log(p))\n",
            at="torch.log(p)",
            fixed="import torch\nimport torch.nn as nn\nloss = nn.KLDivLoss(reduction='batchmean', log_target=True)(s.log_softmax(1), torch.log(p))\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction='batchmean', log_target=True)\n",
            at="F.softmax(t, 1)",
            fixed="import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction='batchmean', log_target=False)\n",
        ),
    )

    def check(self, lc: LossCall, ctx: RuleContext) -> None:
        if lc.target is None or lc.style is LossStyle.HELPER:
            return
        target = ctx.value(lc.target)
        declared = self._log_target(lc)
        if declared is None:
            return  # not a literal: cannot tell
        logged = isinstance(lc.target, cst.Call) and log_argument(lc.target, ctx) is not None
        if logged or isinstance(target, Tensor) and target.kind is Kind.LOG_PROBS and target.via is not Via.CALL:
            if declared:
                return
            what = f"`{ctx.code(lc.target)}`" if logged else describe(target, ctx, lc.target)  # type: ignore[arg-type]
            message = (
                f"the target of {loss_name(lc, ctx)} is log-probabilities ({what}) "
                "but `log_target` is not True: pass `log_target=True`"
            )
            self._report(lc, ctx, message, "True", "Pass log_target=True (changes the loss value)")
        elif isinstance(target, Tensor) and target.kind is Kind.PROBS and declared and target.via is not Via.CALL:
            message = (
                f"`log_target=True` but the target of {loss_name(lc, ctx)} is probabilities "
                f"({describe(target, ctx, lc.target)}): drop `log_target=True`"
            )
            self._report(lc, ctx, message, "False", "Drop log_target=True (changes the loss value)")

    @staticmethod
    def _log_target(lc: LossCall) -> bool | None:
        node = lc.bound.get("log_target")
        text = None if node is None else ("True" if syntax.is_true(node) else getattr(node, "value", None))
        if node is None and lc.loss_object is not None:
            text = dict(lc.loss_object.args).get("log_target", "False")
        if node is None and lc.loss_object is None:
            text = "False"
        return {"True": True, "False": False}.get(text or "")

    def _report(self, lc: LossCall, ctx: RuleContext, message: str, value: str, title: str) -> None:
        fix = None
        if lc.style is LossStyle.FUNCTIONAL:
            fix = ctx.fix(self, title, [set_keyword(lc.call, "log_target", value, ctx.unit)])
        elif isinstance(lc.call.func, cst.Call):  # nn.KLDivLoss(...)(input, target): the object is not shared
            fix = ctx.fix(self, title, [set_keyword(lc.call.func, "log_target", value, ctx.unit)])
        assert lc.target is not None
        ctx.report(
            self,
            lc.target,
            message,
            fix=fix,
            fix_note=None if fix else "no fix: the loss object may be shared with other calls",
        )


class KlDivMeanReduction(Rule):
    code = "LGT108"
    name = "kl-div-mean-reduction"
    severity = Severity.WARNING
    fix_class = FixClass.BUG_FIX
    summary = "kl_div with reduction='mean' (the default) is not the KL divergence: use 'batchmean'"
    requires = KL_WORDS
    what = "Checks for `F.kl_div(...)` and `nn.KLDivLoss(...)` with `reduction='mean'`, written or by default."
    why = (
        "`reduction='mean'` divides the summed KL by the batch size *and* the number of classes, so the "
        "value is KL / C (measured 0.25053 where KL was 2.50530 with 10 classes), and PyTorch warns that "
        "it does not match the KL divergence's definition; `'batchmean'` does."
    )
    example = """```python
loss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1))
```"""
    use_instead = """```python
loss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")
```"""
    fix_safety = (
        "**bug-fix** (unsafe): 'mean' divides the summed KL by `input.numel()`, 'batchmean' by "
        "`input.size(0)`, so the fix multiplies the loss by `numel / size(0)`: the number of classes C on "
        "`(N, C)` input, C·H·W on `(N, C, H, W)` input (×45 on `(N, 5, 3, 3)`), and 1 on unbatched `(C,)` "
        "input, where 'batchmean' also divides by C (the value does not change). The new value is the "
        "KL divergence per sample; tune the learning rate or loss weight you chose for the old value. "
        "No other fix ever changes `reduction`."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.kl_div(lq, p, reduction='batchmean')\n",
        "import torch.nn as nn\nkl = nn.KLDivLoss(reduction='sum')\n",
        "import torch.nn.functional as F\nloss = F.kl_div(lq, p, size_average=False)\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1))\n",
            at="F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1))",
            fixed='import torch.nn.functional as F\nloss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")\n',
        ),
        Invalid(
            "import torch.nn as nn\ncriterion = nn.KLDivLoss()\n",
            at="nn.KLDivLoss()",
            fixed='import torch.nn as nn\ncriterion = nn.KLDivLoss(reduction="batchmean")\n',
        ),
        Invalid(
            "from torch.nn import KLDivLoss\ncriterion = KLDivLoss(reduction='mean', log_target=True)\n",
            at="KLDivLoss(reduction='mean', log_target=True)",
            fixed='from torch.nn import KLDivLoss\ncriterion = KLDivLoss(reduction="batchmean", log_target=True)\n',
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        qual = ctx.callee(node)
        if qual == "torch.nn.functional.kl_div":
            bound = syntax.bind_args(node, torchapi.SIGNATURES[qual])
        elif qual == "torch.nn.KLDivLoss":
            bound = syntax.bind_args(node, torchapi.SIGNATURES[qual])
        else:
            return
        if not bound.complete or "size_average" in bound or "reduce" in bound:
            return
        reduction = bound.get("reduction")
        if reduction is not None and syntax.string_literal(reduction) != "mean":
            return
        what = "`reduction='mean'`" if reduction is not None else "the default `reduction='mean'`"
        message = (
            f"{what} divides the KL divergence by the number of classes as well as the batch size "
            "(PyTorch warns it is not the KL divergence); use `reduction='batchmean'`"
        )
        fix = ctx.fix(
            self,
            "Use reduction='batchmean' (multiplies the loss by numel / batch size: C for N×C input, "
            "C·H·W for N×C×H×W input, 1 for unbatched input)",
            [set_keyword(node, "reduction", '"batchmean"', ctx.unit)],
        )
        ctx.report(self, node, message, fix=fix)
