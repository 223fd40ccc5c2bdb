"""Family 1: a loss is given the wrong kind of tensor (cross-entropy and NLL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis.losses import LossStyle
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import Edit, FixClass, Severity
from logitlint.rules.base import Invalid, LossInputRule
from logitlint.rules.common import dead_object_edit, literal, loss_name, negated, related_for
from logitlint.rules.rewrite import class_dim_ok, describe, hidden_reason, renamed, visible_logits

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.rules.context import RuleContext

CE_WORDS = frozenset({"cross_entropy", "CrossEntropyLoss"})
NLL_WORDS = frozenset({"nll_loss", "NLLLoss"})
# Sources of probabilities that are a distribution over the class dim.
DISTRIBUTIONS = frozenset({"normalised", "table", "exp"})


class SoftmaxIntoCrossEntropy(LossInputRule):
    code = "LGT101"
    name = "softmax-into-cross-entropy"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "Softmax output passed to cross-entropy, which applies log-softmax itself (double softmax)"
    requires = CE_WORDS
    losses = frozenset({"cross_entropy"})
    what = "Checks for softmax output passed as the input of `F.cross_entropy` or an `nn.CrossEntropyLoss` object."
    why = (
        "`cross_entropy` expects unnormalised logits and applies `log_softmax` itself, so softmax output "
        "is normalised twice. The loss still falls, but it is squashed into a narrow band "
        "(for 10 classes every per-sample loss lies in [1.461, 2.461]) and its gradient shrinks with "
        "confidence (median gradient norm 0.013 of the true one for N(0, 5²) logits, 3e-9 for N(0, 50²)): "
        "the model trains slowly or stalls, silently."
    )
    example = """```python
loss = F.cross_entropy(F.softmax(logits, dim=1), target)
```"""
    use_instead = """```python
loss = F.cross_entropy(logits, target)
```"""
    fix_safety = (
        "**bug-fix** (unsafe): the fix passes the logits, which deliberately changes the loss to the "
        "cross-entropy the code meant; measured against a float64 reference it agrees to 1.1 ulp (f32). "
        "It is offered only when the softmax is over the class dim (`dim=1`, or `dim=-1` on 2-D input): "
        "for 4-D input `softmax(x, -1)` is not the class dim and the values differ (1.622 vs 1.991). "
        "A `dtype=` on the softmax blocks the fix."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.cross_entropy(logits, target)\n",
        "import torch.nn.functional as F\nprobs = F.softmax(logits, dim=1)\nacc = (probs.argmax(1) == target).float().mean()\nloss = F.cross_entropy(logits, target)\n",
        "import torch.nn.functional as F\nsoft = F.softmax(teacher / 2.0, dim=1)\nloss = F.cross_entropy(student, soft)  # soft labels: probabilities as the *target*\n",
        "import paddle.nn.functional as F\nloss = F.cross_entropy(F.softmax(logits, axis=1), target)\n",
        "import torch.nn.functional as F\nprobs = F.softmax(logits, dim=1)\nprobs = logits\nloss = F.cross_entropy(probs, target)\n",
        "import torch\nprobs = model(x)  # a name says nothing: kinds come from definitions\nloss = torch.nn.functional.cross_entropy(probs, y)\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.cross_entropy(F.softmax(logits, dim=1), target)\n",
            at="F.softmax(logits, dim=1)",
            fixed="import torch.nn.functional as F\nloss = F.cross_entropy(logits, target)\n",
        ),
        Invalid(
            "import torch\nloss = torch.nn.CrossEntropyLoss()(torch.softmax(logits, 1), target)\n",
            at="torch.softmax(logits, 1)",
            fixed="import torch\nloss = torch.nn.CrossEntropyLoss()(logits, target)\n",
        ),
        Invalid(
            "import torch as th\nfrom torch import nn\ncrit = nn.CrossEntropyLoss(reduction='sum').to('cpu')\n\ndef step(x, y):\n    p = th.softmax(model(x), dim=1)\n    return crit(p, y)\n",
            at="p",
            fixed=None,
        ),
        Invalid(
            "from torch.nn import functional as F\nimport torch.nn as nn\n\nclass Trainer:\n    def __init__(self):\n        self.criterion = nn.CrossEntropyLoss()\n\n    def step(self, logits, y):\n        return self.criterion(logits.softmax(-1), y)\n",
            at="logits.softmax(-1)",
            fixed=None,
        ),
        Invalid(
            "from torch.nn.functional import softmax, cross_entropy\nloss = cross_entropy(softmax(out, 1), y)\n",
            at="softmax(out, 1)",
            fixed="from torch.nn.functional import softmax, cross_entropy\nloss = cross_entropy(out, y)\n",
        ),
        Invalid(
            "import torch.nn as nn\nsm = nn.Softmax(dim=1)\nloss = nn.CrossEntropyLoss()(sm(x), y)\n",
            at="sm(x)",
            fixed="import torch.nn as nn\nsm = nn.Softmax(dim=1)\nloss = nn.CrossEntropyLoss()(x, y)\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.source is Source.SOFTMAX and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        message = (
            f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}, which applies "
            "log-softmax itself (double softmax); pass the logits"
        )
        fix, note = None, None
        logits = visible_logits(value, lc.input, ctx)
        producer = value.producer
        if logits is None:
            note = hidden_reason(value, lc.input, ctx)
        elif not class_dim_ok(value):
            note = "no fix: the softmax dim is not known to be the class dim"
        elif producer is not None and producer.dtype is not None:
            note = "no fix: the softmax casts with dtype="
        else:
            fix = ctx.fix(
                self,
                f"Pass logits to {lc.name} (changes the loss value)",
                [ctx.replace(lc.input, ctx.source(logits, unit=producer.unit))],
            )  # type: ignore[union-attr]
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)


class ProbabilitiesIntoCrossEntropy(LossInputRule):
    code = "LGT102"
    name = "probabilities-into-cross-entropy"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "Probabilities (sigmoid output, a normalised tensor, a probability table) passed to cross-entropy"
    requires = CE_WORDS
    losses = frozenset({"cross_entropy"})
    what = (
        "Checks for probabilities other than softmax output passed as the input of cross-entropy: "
        "sigmoid output, `p / p.sum(d, keepdim=True)`, `log_probs.exp()`, or a literal tensor whose "
        'entries lie in [0, 1] and sum to 1 over the class dim (the classic "I passed my probability '
        'table to CrossEntropyLoss").'
    )
    why = (
        "`CrossEntropyLoss` treats its input as logits and applies softmax to it. A probability table "
        "is not logits: `CrossEntropyLoss()(p, t)` computes the cross-entropy of `softmax(p)`, a much "
        "flatter distribution, so the loss is wrong and its gradient is weak."
    )
    example = """```python
# a (1, 3, 2, 2) table that sums to 1 over the classes (dim 1), and its (1, 2, 2) target
probs = torch.tensor([[[[0.4, 0.2], [0.1, 0.7]],
                       [[0.1, 0.4], [0.4, 0.15]],
                       [[0.5, 0.4], [0.5, 0.15]]]])
target = torch.tensor([[[0, 1], [2, 0]]])
criterion = nn.CrossEntropyLoss()
print(criterion(probs, target))  # 0.9488: the cross-entropy of softmax(probs), not of probs
```"""
    use_instead = """```python
print(F.nll_loss(torch.log(probs), target))  # 0.7206, the cross-entropy of these probabilities
# with reduction="sum": 2.8824 (CrossEntropyLoss(reduction="sum") gave 3.7954)
```"""
    fix_safety = (
        "**bug-fix** (unsafe): for a distribution over the class dim (a table, a normalised tensor, "
        "`exp` of log-probabilities) the fix computes `F.nll_loss(torch.log(p), t)`, the cross-entropy "
        "of those probabilities, carrying `weight`, `ignore_index` and `reduction` over (the default "
        "'mean' stays the default). A loss object used only at the fixed call is removed with it. "
        "`label_smoothing` has no NLL equivalent (FIX-SEMANTICS #7) and blocks the fix, as do "
        "probability targets. Sigmoid output is not a distribution over classes: no fix, pass the "
        "logits (or use `BCEWithLogitsLoss` for multi-label)."
    )
    valid = (
        "import torch\nimport torch.nn as nn\nlogits = torch.tensor([[2.0, -1.0, 0.5]])\nloss = nn.CrossEntropyLoss()(logits, torch.tensor([0]))\n",
        "import torch\nimport torch.nn as nn\nloss = nn.CrossEntropyLoss()(x, torch.tensor([[0.7, 0.2, 0.1]]))  # probabilities as the target\n",
        "import torch\nimport torch.nn.functional as F\np = torch.sigmoid(x)\np = x * 2\nloss = F.cross_entropy(p, y)\n",
        "import torch\nimport torch.nn as nn\nw = torch.tensor([0.2, 0.3, 0.5])\nloss = nn.CrossEntropyLoss(weight=w)(x, y)\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn as nn\np = torch.tensor([[[[0.2, 0.5], [0.1, 0.3]], [[0.3, 0.25], [0.6, 0.3]], [[0.5, 0.25], [0.3, 0.4]]]])\nt = torch.tensor([[[0, 1], [2, 0]]])\nloss = nn.CrossEntropyLoss()(p, t)\n",
            at="p",
            fixed="import torch\nimport torch.nn as nn\np = torch.tensor([[[[0.2, 0.5], [0.1, 0.3]], [[0.3, 0.25], [0.6, 0.3]], [[0.5, 0.25], [0.3, 0.4]]]])\nt = torch.tensor([[[0, 1], [2, 0]]])\nloss = nn.functional.nll_loss(torch.log(p), t)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.sigmoid(x), y)\n",
            at="torch.sigmoid(x)",
            fixed=None,
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\np = counts / counts.sum(dim=1, keepdim=True)\nloss = F.cross_entropy(p, y)\n",
            at="p",
            fixed="import torch\nimport torch.nn.functional as F\np = counts / counts.sum(dim=1, keepdim=True)\nloss = F.nll_loss(torch.log(p), y)\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nlogp = F.log_softmax(x, 1)\nloss = F.cross_entropy(logp.exp(), y)\n",
            at="logp.exp()",
            fixed="import torch.nn.functional as F\nlogp = F.log_softmax(x, 1)\nloss = F.nll_loss(logp, y)\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.source is not Source.SOFTMAX and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        hint = (
            "pass the logits (or use BCEWithLogitsLoss for multi-label targets)"
            if value.source is Source.SIGMOID
            else "it applies softmax to its input: use `F.nll_loss(torch.log(p), target)`"
        )
        message = f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}, which expects logits; {hint}"
        fix, note = self._fix(value, lc, ctx)
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)

    def _fix(self, value: Tensor, lc: LossCall, ctx: RuleContext):
        if value.source not in DISTRIBUTIONS:
            return None, (
                "no fix: the input is not a distribution over classes; whether the logits or a "
                "multi-label loss (BCEWithLogitsLoss) was meant is for you to choose"
            )
        if not class_dim_ok(value):
            return None, "no fix: the normalised dim is not known to be the class dim"
        blocked = lc.arg_names() & {"label_smoothing", "size_average", "reduce"}
        if "*" in lc.arg_names():
            return None, "no fix: the loss's arguments are not all known here (they differ between its definitions, or could not be read)"
        if blocked or not lc.complete or lc.style is LossStyle.HELPER:
            return None, "no fix: " + (
                f"`{sorted(blocked)[0]}` has no NLL equivalent" if blocked else "arguments not understood"
            )
        target = ctx.value(lc.target) if lc.target is not None else None
        if isinstance(target, Tensor) and target.kind is Kind.PROBS:
            return None, "no fix: probability targets have no NLL form"
        nll = ctx.spell("torch.nn.functional.nll_loss")
        log = ctx.spell("torch.log")
        if nll is None or log is None or lc.target is None:
            return None, None
        logged = _exp_argument(lc.input, ctx)
        if logged is not None:  # log(exp(lp)) is lp: no exp to underflow (f32 from lp < -87)
            input_code, log = ctx.source(logged), (log[0], ())
        else:
            input_code = f"{log[0]}({ctx.source(lc.input)})"
        func = lc.call.func
        if lc.style is LossStyle.FUNCTIONAL and isinstance(func, cst.Attribute):  # F.cross_entropy -> F.nll_loss
            new_func = ctx.code(func.with_changes(attr=cst.Name("nll_loss")))
            edits: list[Edit] = [ctx.replace(func, new_func), ctx.replace(lc.input, input_code), *log[1]]
        elif lc.style is LossStyle.FUNCTIONAL:
            edits = [ctx.replace(func, nll[0]), ctx.replace(lc.input, input_code), *nll[1], *log[1]]
        else:
            kwargs = []
            assert lc.loss_object is not None
            for name, text in lc.loss_object.args:
                if not literal(text):
                    return None, f"no fix: `{name}={text}` would be evaluated at the call, not at construction"
                kwargs.append(f"{name}={text}")
            call_args = [input_code, ctx.source(lc.target), *kwargs]
            edits = [ctx.replace(lc.call, f"{nll[0]}({', '.join(call_args)})"), *nll[1], *log[1]]
            dead = dead_object_edit(lc, ctx)
            if dead is not None:
                edits.append(dead)
        return ctx.fix(self, "Use nll_loss of the log-probabilities (changes the loss value)", edits), None


def _exp_argument(node: cst.BaseExpression, ctx: RuleContext) -> cst.BaseExpression | None:
    """``X`` for ``X.exp()`` or ``torch.exp(X)`` where ``X`` is log-probabilities."""
    if not isinstance(node, cst.Call):
        return None
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "exp" and not node.args and ctx.callee(node) is None:
        inner = node.func.value
    elif ctx.callee(node) == "torch.exp" and len(node.args) == 1 and node.args[0].keyword is None:
        inner = node.args[0].value
    else:
        return None
    value = ctx.value(inner)
    return inner if isinstance(value, Tensor) and value.kind is Kind.LOG_PROBS else None


class ProbabilitiesIntoNllLoss(LossInputRule):
    code = "LGT103"
    name = "probabilities-into-nll-loss"
    severity = Severity.ERROR
    fix_class = FixClass.BUG_FIX
    summary = "Softmax output (probabilities) passed to NLLLoss, which expects log-probabilities"
    requires = NLL_WORDS
    losses = frozenset({"nll_loss"})
    what = "Checks for probabilities (softmax output, or other probabilities) passed as the input of `F.nll_loss` or `nn.NLLLoss`."
    why = (
        "`nll_loss` picks `-input[target]`: it expects log-probabilities. Given probabilities it computes "
        "`-mean(p_y)`, a value in [-1, 0] (measured mean -0.098 where the true cross-entropy was 5.07): "
        'the "loss" is negative and its gradient is not the cross-entropy\'s.'
    )
    example = """```python
loss = F.nll_loss(F.softmax(logits, dim=1), target)
```"""
    use_instead = """```python
loss = F.nll_loss(F.log_softmax(logits, dim=1), target)  # or F.cross_entropy(logits, target)
```"""
    fix_safety = (
        "**bug-fix** (unsafe): softmax becomes log_softmax (same dim, `dtype=` kept as a keyword), which "
        "equals `F.cross_entropy(logits, target)` and matches a float64 reference to 1.6 ulp. Offered "
        "only when the softmax dim is the class dim. Negated uses such as `-F.nll_loss(F.softmax(z, 1), t)` "
        "(gathering `p[t]`) are left alone."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(x, dim=1), y)\n",
        "import torch.nn.functional as F\np_true = -F.nll_loss(F.softmax(z, 1), t)  # gathers p[t]\n",
        "import torch.nn as nn\nimport torch.nn.functional as F\nloss = nn.NLLLoss()(F.log_softmax(x, 1), y)\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.nll_loss(F.softmax(x, dim=1), y)\n",
            at="F.softmax(x, dim=1)",
            fixed="import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(x, dim=1), y)\n",
        ),
        Invalid(
            "import torch\nfrom torch import nn\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.loss = nn.NLLLoss()\n        self.sm = nn.Softmax(dim=1)\n\n    def forward(self, x, y):\n        return self.loss(self.sm(x), y)\n",
            at="self.sm(x)",
            fixed="import torch\nfrom torch import nn\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.loss = nn.NLLLoss()\n        self.sm = nn.Softmax(dim=1)\n\n    def forward(self, x, y):\n        return self.loss(nn.functional.log_softmax(x, dim=1), y)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nprobs = torch.softmax(x, 1, torch.float64)\nloss = F.nll_loss(probs, y)\n",
            at="probs",
            fixed="import torch\nimport torch.nn.functional as F\nprobs = torch.softmax(x, 1, torch.float64)\nloss = F.nll_loss(torch.log_softmax(x, 1, dtype=torch.float64), y)\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.PROBS and value.via is not Via.CALL and not negated(lc, ctx)

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        use = "log_softmax" if value.source is Source.SOFTMAX else "torch.log of it"
        message = f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}, which expects log-probabilities; use {use}"
        fix, note = None, None
        if value.source is Source.SOFTMAX:
            fix, note = self._fix(value, lc, ctx)
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)

    def _fix(self, value: Tensor, lc: LossCall, ctx: RuleContext):
        assert lc.input is not None
        if visible_logits(value, lc.input, ctx) is None:
            return None, hidden_reason(value, lc.input, ctx)
        if not class_dim_ok(value):
            return None, "no fix: the softmax dim is not known to be the class dim"
        new = renamed(value, "log_softmax", lc.input, ctx)
        if new is None:
            return None, None
        text, imports = new
        producer = value.producer
        assert producer is not None
        edit = (
            ctx.replace(producer.call, text, producer.unit) if value.via is Via.DIRECT else ctx.replace(lc.input, text)
        )
        return ctx.fix(self, "Use log_softmax instead of softmax (changes the loss value)", [edit, *imports]), None


class LogSoftmaxIntoCrossEntropy(LossInputRule):
    code = "LGT303"
    name = "log-softmax-into-cross-entropy"
    severity = Severity.INFO
    fix_class = FixClass.EXACT
    summary = "log_softmax output passed to cross-entropy, which applies log-softmax itself (redundant)"
    requires = CE_WORDS
    losses = frozenset({"cross_entropy"})
    what = "Checks for `log_softmax` output passed as the input of cross-entropy."
    why = (
        "`cross_entropy` applies `log_softmax` itself, and `log_softmax` is idempotent, so the result "
        "is right but the extra call costs time and memory and suggests a misunderstanding."
    )
    example = """```python
loss = F.cross_entropy(F.log_softmax(logits, dim=1), target)
```"""
    use_instead = """```python
loss = F.cross_entropy(logits, target)
```"""
    fix_safety = (
        "**exact** (safe): bitwise equal in f32 for index targets, label smoothing, weights, ignore_index "
        "and probability targets (FIX-SEMANTICS #5). Offered only when the log_softmax is over the class "
        "dim (for 4-D input `dim=-1` gives 1.835 vs 1.879)."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(x, 1), y)\n",
        "import torch.nn.functional as F\nloss = F.cross_entropy(x, F.log_softmax(t, 1).exp())\n",
    )
    invalid = (
        Invalid(
            "import torch.nn.functional as F\nloss = F.cross_entropy(F.log_softmax(x, dim=1), y)\n",
            at="F.log_softmax(x, dim=1)",
            fixed="import torch.nn.functional as F\nloss = F.cross_entropy(x, y)\n",
        ),
        Invalid(
            "import torch\nlp = x.log_softmax(1)\nloss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(lp, y)\n",
            at="lp",
            fixed="import torch\nlp = x.log_softmax(1)\nloss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(x, y)\n",
        ),
    )

    def applies(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> bool:
        return value.kind is Kind.LOG_PROBS and value.source is Source.LOG_SOFTMAX and value.via is not Via.CALL

    def report(self, value: Tensor, lc: LossCall, ctx: RuleContext) -> None:
        assert lc.input is not None
        message = f"{describe(value, ctx, lc.input)} is passed to {loss_name(lc, ctx)}, which applies log-softmax itself; pass the logits"
        fix, note = None, None
        logits = visible_logits(value, lc.input, ctx)
        if logits is None or value.producer is None:
            note = hidden_reason(value, lc.input, ctx)
        elif not class_dim_ok(value):
            note = "no fix: the log_softmax dim is not known to be the class dim"
        elif value.producer.dtype is not None:
            note = "no fix: the log_softmax casts with dtype="
        else:
            fix = ctx.fix(
                self,
                "Remove the redundant log_softmax",
                [ctx.replace(lc.input, ctx.source(logits, unit=value.producer.unit))],
            )
        ctx.report(self, lc.input, message, fix=fix, related=related_for(value, lc, ctx), fix_note=note)
