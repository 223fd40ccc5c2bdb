"""Family 1: a model (or helper) that returns probabilities feeds a loss that expects logits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import Severity
from logitlint.rules.base import Invalid, LossInputRule
from logitlint.rules.common import loss_name

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.rules.context import RuleContext

_OP = {
    "softmax": "softmax",
    "sigmoid": "sigmoid",
    "softmin": "softmin",
    "normalised": "the normalisation",
    "table": "the table",
    "exp": "exp",
}


class ProbabilityModelIntoLogitLoss(LossInputRule):
    code = "LGT107"
    name = "probability-model-into-logit-loss"
    severity = Severity.ERROR
    summary = "A model (or helper) whose output is probabilities feeds a loss that expects logits or log-probabilities"
    requires = LOSS_WORDS - {"binary_cross_entropy", "BCELoss"}  # the losses that expect logits or log-probs
    losses = frozenset({"cross_entropy", "nll_loss", "kl_div", "bce_with_logits"})
    what = (
        "Checks for a loss that expects logits (or log-probabilities) receiving the output of a model or "
        "helper whose return value is probabilities: `forward` returns `F.softmax(...)`, the last layer of an "
        "`nn.Sequential` is `Softmax`/`Sigmoid`, `forward` returns `self.softmax(h)` for an `nn.Softmax` "
        "attribute, or a torchvision model's `fc` was replaced by such a layer. The model may be defined in "
        "another function, class or file of the project."
    )
    why = (
        "It is the same double softmax (or double sigmoid) as LGT101/LGT106, one step removed: about two "
        "thirds of the confirmed double-softmax bugs in public issue trackers look like this. The loss is "
        "squashed into a narrow band and the gradient vanishes as the model grows confident."
    )
    example = """```python
class Net(nn.Module):
    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

loss = nn.CrossEntropyLoss()(Net()(x), y)
```"""
    use_instead = """```python
class Net(nn.Module):
    def forward(self, x):
        return self.fc(x)  # logits; apply softmax only where probabilities are needed

loss = nn.CrossEntropyLoss()(Net()(x), y)
probs = F.softmax(Net()(x), dim=1)  # at inference
```"""
    fix_safety = (
        "**none**: the softmax is in the model, which other code (inference, metrics, exports) may rely on, "
        "so logitlint points at it (a related location) instead of rewriting it."
    )
    valid = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n    def forward(self, x):\n        return self.fc(x)\nloss = F.cross_entropy(Net()(x), y)\n",
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n    def forward(self, x):\n        return F.log_softmax(self.fc(x), dim=1)\nloss = F.nll_loss(Net()(x), y)\n",
        "import torch.nn as nn\nhead = nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))\nloss = nn.CrossEntropyLoss()(head[0](x), y)  # bypasses the softmax\n",
    )
    invalid = (
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\nmodel = Net()\nloss = nn.CrossEntropyLoss()(model(x), y)\n",
            at="model(x)",
        ),
        Invalid(
            "import torch.nn as nn\nmodel = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\ncrit = nn.BCEWithLogitsLoss()\n\ndef step(x, y):\n    out = model(x)\n    return crit(out, y)\n",
            at="out",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.softmax = nn.Softmax(dim=1)\n    def forward(self, x):\n        return self.softmax(self.fc(x))\n    def training_step(self, x, y):\n        return F.nll_loss(self(x), y)\n",
            at="self(x)",
        ),
        Invalid(
            "import torch.nn as nn\nimport torchvision\nmodel = torchvision.models.resnet18()\nmodel.fc = nn.Sequential(nn.Linear(512, 10), nn.Softmax(dim=1))\nloss = nn.CrossEntropyLoss()(model(x), y)\n",
            at="model(x)",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        if value.via is not Via.CALL or value.kind is not Kind.PROBS:
            return False
        return value.source is Source.SIGMOID if lc.spec.key == "bce_with_logits" else True

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        op = _OP.get(value.source, value.source)
        origin = value.origin
        owner = f"`{value.model}`" if value.model else "the function it calls"  # a model class or a helper
        where = ctx.where(origin)
        what = origin.description if origin is not None else op
        message = (
            f"`{ctx.code(lc.input)}` is probabilities: {owner} returns {what} ({where}); "
            f"{loss_name(lc, ctx)} expects {lc.spec.expects}: return {lc.spec.expects} from the model "
            f"and apply {op} only at inference"
        )
        related = ctx.related(origin, f"{owner} applies {op} here")
        if lc.sink is not None:
            related += ctx.related(lc.sink.origin, "the loss inside the helper")
        ctx.report(
            self,
            lc.input,
            message,
            related=related,
            fix_note=f"no fix: the change belongs in {owner} (return {lc.spec.expects}), which other code may rely on",
        )
