"""Family 1 and 2: sigmoid output given to binary cross-entropy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.losses import LossStyle
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import Edit, FixClass, Severity
from logitlint.rules.base import Invalid, LossInputRule
from logitlint.rules.common import loss_name, related_for
from logitlint.rules.rewrite import describe, hidden_reason, renamed_callee, visible_logits

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.rules.context import RuleContext


class SigmoidIntoBceWithLogits(LossInputRule):
    code = "LGT106"
    name = "sigmoid-into-bce-with-logits"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "Sigmoid output passed to binary_cross_entropy_with_logits, which applies sigmoid itself (double sigmoid)"
    requires = frozenset({"binary_cross_entropy_with_logits", "BCEWithLogitsLoss"})
    losses = frozenset({"bce_with_logits"})
    what = "Checks for sigmoid output passed as the input of `F.binary_cross_entropy_with_logits` or an `nn.BCEWithLogitsLoss` object."
    why = (
        "The with-logits loss applies sigmoid itself. On sigmoid output it computes BCE of "
        "`sigmoid(sigmoid(x))`, which lies in (0.5, 0.73): the loss is bounded (y=1: [0.3133, 0.6931]; "
        "y=0: [0.6931, 1.3133]) and its gradient is at most 0.157 of the true one, so training stalls."
    )
    example = """```python
loss = F.binary_cross_entropy_with_logits(torch.sigmoid(logits), target)
```"""
    use_instead = """```python
loss = F.binary_cross_entropy_with_logits(logits, target)
```"""
    fix_safety = (
        "**bug-fix** (unsafe): the fix drops the sigmoid, deliberately changing the loss to the binary "
        "cross-entropy of the logits; it matches a float64 reference to 5 ulp for hard targets."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(logits, y)\n",
        "import torch\nimport torch.nn as nn\nloss = nn.BCEWithLogitsLoss()(logits, torch.sigmoid(teacher))  # soft target\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(torch.sigmoid(x), y)\n",
            at="torch.sigmoid(x)",
            fixed="import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(x, y)\n",
        ),
        Invalid(
            "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.act = nn.Sigmoid()\n        self.loss = nn.BCEWithLogitsLoss(pos_weight=w)\n    def step(self, x, y):\n        return self.loss(self.act(x), y)\n",
            at="self.act(x)",
            fixed="import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.act = nn.Sigmoid()\n        self.loss = nn.BCEWithLogitsLoss(pos_weight=w)\n    def step(self, x, y):\n        return self.loss(x, y)\n",
        ),
        Invalid(
            "import torch\ncrit = torch.nn.BCEWithLogitsLoss()\nout = x.sigmoid()\nloss = crit(out, y)\n",
            at="out",
            fixed="import torch\ncrit = torch.nn.BCEWithLogitsLoss()\nout = x.sigmoid()\nloss = crit(x, y)\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        what = "sigmoid" if value.source is Source.SIGMOID else "a probability transform"
        message = (
            f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}, which applies sigmoid "
            f"itself ({'double sigmoid' if what == 'sigmoid' else 'it expects logits'}); pass the logits"
        )
        fix, note = None, None
        logits = visible_logits(value, lc.input, ctx)
        if value.source is not Source.SIGMOID:
            note = "no fix: the input is not sigmoid output, so which logits were meant is not known"
        elif logits is None:
            note = hidden_reason(value, lc.input, ctx)
        else:
            assert value.producer is not None
            fix = ctx.fix(
                self,
                f"Pass logits to {lc.name} (changes the loss value)",
                [ctx.replace(lc.input, ctx.source(logits, unit=value.producer.unit))],
            )
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)


class SigmoidIntoBce(LossInputRule):
    code = "LGT203"
    name = "sigmoid-into-bce"
    severity = Severity.WARNING
    fix_class = FixClass.BUG_FIX
    summary = "binary_cross_entropy of sigmoid output: use binary_cross_entropy_with_logits"
    requires = frozenset({"binary_cross_entropy", "BCELoss"})
    losses = frozenset({"bce"})
    what = "Checks for `F.binary_cross_entropy(torch.sigmoid(x), y)` and `nn.BCELoss()(torch.sigmoid(x), y)` in any spelling."
    why = (
        "In float32, sigmoid rounds to exactly 1.0 from x = 16.64, where BCE clamps `log(0)` to -100: "
        "the loss is 100 and the gradient 0 instead of x and 1, so badly wrong samples stop learning "
        "(already > 1% off from |x| = 15; in float16 from 5.75). `BCELoss` also refuses to run under "
        "`torch.autocast`. The with-logits form is computed stably from the logits."
    )
    example = """```python
loss = nn.BCELoss(weight=w)(torch.sigmoid(logits), target)
```"""
    use_instead = """```python
loss = nn.BCEWithLogitsLoss(weight=w)(logits, target)
```"""
    fix_safety = (
        "**bug-fix** (unsafe). What holds: the with-logits loss equals a float64 reference of the binary "
        "cross-entropy (4.8e-7 relative in f32, 2e-3 in f16, 1.6e-2 in bf16, measured on N(0, 25²) "
        "logits), and equals the original within 2 ulp (f32) while the sigmoid is unsaturated. What "
        "changes: where the sigmoid saturates, the original's `log` clamp at -100 gave loss 100 and "
        "gradient 0, and the fix gives the true loss and gradient: in f32 from |x| = 15, in f16 from "
        "|x| = 5.75 and in bf16 from |x| = 2.75 the values move (by up to 92 per element at N(0, 25²) "
        "logits in f16). And `BCELoss` raises on targets outside [0, 1]; the with-logits loss "
        "accepts them silently. Since the original is finite everywhere (clamped), this is not a "
        "'finite' fix: it changes values, to the right ones. `weight` and `reduction` carry over; no "
        "`pos_weight` is invented. A `BCELoss` object used elsewhere (on `self`, at module level, or "
        "more than once) is reported without a fix."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.binary_cross_entropy(probs_from_dataset, y)\n",
        "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(x, y)\n",
        "import torch\nimport torch.nn as nn\ncrit = nn.BCELoss()\nloss = crit(torch.sigmoid(x) * mask, y)\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy(torch.sigmoid(x), y, reduction='sum')\n",
            at="torch.sigmoid(x)",
            fixed="import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(x, y, reduction='sum')\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nloss = nn.BCELoss(weight=w)(x.sigmoid(), y)\n",
            at="x.sigmoid()",
            fixed="import torch\nimport torch.nn as nn\nloss = nn.BCEWithLogitsLoss(weight=w)(x, y)\n",
        ),
        Invalid(
            "import torch\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.criterion = nn.BCELoss()\n    def training_step(self, batch):\n        x, y = batch\n        return self.criterion(torch.sigmoid(self(x)), y)\n",
            at="torch.sigmoid(self(x))",
            fixed=None,
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.source is Source.SIGMOID and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        message = (
            f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}: use the with-logits "
            "loss on the logits (BCE of a saturated sigmoid has zero gradient, and fails under autocast)"
        )
        fix, note = self._fix(value, lc, ctx)
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)

    def _fix(self, value: Tensor, lc: LossCall, ctx: RuleContext):
        assert lc.input is not None
        logits = visible_logits(value, lc.input, ctx)
        if logits is None or value.producer is None:
            return None, hidden_reason(value, lc.input, ctx)
        edits: list[Edit] = [ctx.replace(lc.input, ctx.source(logits, unit=value.producer.unit))]
        if lc.style is LossStyle.FUNCTIONAL:
            new = renamed_callee(lc.call.func, "binary_cross_entropy_with_logits", "torch.nn.functional.", ctx)
        elif lc.style is LossStyle.MODULE and lc.loss_object is not None and lc.loss_object.call is not None:
            ctor = lc.loss_object.call
            if ctor is not lc.call.func and not _only_use(lc, ctx):
                return None, "no fix: the BCELoss object is shared (used elsewhere or kept on self)"
            new = renamed_callee(ctor.func, "BCEWithLogitsLoss", "torch.nn.", ctx)
            if new is not None:
                edits.append(ctx.replace(ctor.func, ctx.code(new[0]), lc.loss_object.unit))
                edits.extend(new[1])
                return ctx.fix(self, f"Use BCEWithLogitsLoss on the logits {_CHANGES}", edits), None
        else:  # a loss object made elsewhere (another file, a merge of definitions, functools.partial)
            return None, "no fix: the BCELoss is not made here, so its constructor cannot be changed with it"
        if new is None:
            return None, None
        edits.append(ctx.replace(lc.call.func, ctx.code(new[0])))
        edits.extend(new[1])
        return ctx.fix(self, f"Use binary_cross_entropy_with_logits on the logits {_CHANGES}", edits), None


_CHANGES = "(changes the loss where the sigmoid saturates; targets outside [0, 1] no longer raise)"


def _only_use(lc: LossCall, ctx: RuleContext) -> bool:
    """Is the loss object a local variable of this function, assigned once and used only here?"""
    func = lc.call.func
    scope = ctx.scope
    obj = lc.loss_object
    if not isinstance(func, cst.Name) or scope is None or obj is None or obj.unit is not scope.unit:
        return False
    name = func.value
    if name not in scope.locals:
        return False
    uses = 0
    stack: list[cst.CSTNode] = [scope.node.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            uses += 1
        stack.extend(syntax.children(node))
    return uses == 2  # the assignment and this call
