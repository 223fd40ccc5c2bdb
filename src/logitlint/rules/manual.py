"""Family 2: softmax and cross-entropy written by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.values import Kind, Source, Tensor
from logitlint.diagnostics import FixClass, Severity
from logitlint.rules.base import Invalid, Rule
from logitlint.rules.log_softmax import log_argument
from logitlint.rules.rewrite import class_dim_ok, visible_logits

if TYPE_CHECKING:
    from logitlint.rules.context import RuleContext


def _sum_call(node: cst.BaseExpression, ctx: RuleContext) -> tuple[cst.BaseExpression, syntax.BoundArgs] | None:
    """(what is summed, the sum's arguments) for ``X.sum(...)`` or ``torch.sum(X, ...)``."""
    if not isinstance(node, cst.Call):
        return None
    qual = ctx.callee(node)
    if qual == "torch.sum" and node.args and node.args[0].keyword is None:
        return node.args[0].value, syntax.bind_args(node, torchapi.SIGNATURES["torch.sum"])
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "sum" and qual is None:
        return node.func.value, syntax.bind_args(node, torchapi.SIGNATURES["torch.Tensor.sum"])
    return None


def stabilised(node: cst.BaseExpression | None) -> bool:
    """``x - x.max(...)`` or ``x - m``: already shifted (by a max, or a name that likely holds one)."""
    return node is not None and syntax.shifted_by_max(node)


class ManualSoftmax(Rule):
    code = "LGT206"
    name = "manual-softmax"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "exp(x) / exp(x).sum(d, keepdim=True): use torch.softmax(x, dim=d)"
    requires = frozenset({"exp"})
    implements = frozenset({"softmax"})
    what = (
        "Checks for a softmax written by hand: `torch.exp(x) / torch.exp(x).sum(dim=d, keepdim=True)`, in any spelling."
    )
    why = (
        "`exp` overflows for large logits (x > 88.7 in float32), giving inf / inf = NaN, and underflows "
        "to 0 / 0 = NaN when every logit is very negative. `torch.softmax` subtracts the max first. "
        "Without `keepdim=True` the division broadcasts wrongly: square inputs run and are silently wrong."
    )
    example = """```python
probs = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
```"""
    use_instead = """```python
probs = torch.softmax(logits, dim=1)
```"""
    fix_safety = (
        "**finite** (safe): the same value (1 ulp) where the original is finite, and finite where it gives "
        "NaN. Offered only with `keepdim=True` (or over dim 0, where the sum without keepdim broadcasts "
        "back correctly on every rank) and the same side-effect-free `x` on both sides; otherwise the "
        "finding is reported with no fix. In float16 on a 1-D input torch's softmax backward is less exact "
        "than the hand-written form (11.9 against 1.8 mulp from the maths, measured); on 2-D and 4-D inputs "
        "it is the more exact one."
    )
    valid = (
        "import torch\np = torch.softmax(x, dim=1)\n",
        "import torch\ne = torch.exp(x - x.max(dim=1, keepdim=True).values)\np = e / e.sum(dim=1, keepdim=True)\n",
        "import torch\np = torch.exp(x) / torch.exp(y).sum(dim=1, keepdim=True)\n",
        # a Gaussian kernel: the exponent is <= 0, nothing overflows
        "import torch\ng = torch.exp(-x.pow(2.0) / (2 * sigma.pow(2.0)))\nk = g / g.sum(-1, keepdim=True)\n",
        "import torch\nw = torch.exp(-c * (img - centers) ** 2)\nw = w / torch.sum(w, dim=-1, keepdim=True)\n",
    )
    invalid = (
        Invalid(
            "import torch\np = torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)\n",
            at="torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)",
            fixed="import torch\np = torch.softmax(x, dim=1)\n",
        ),
        Invalid(
            "import torch\ne = x.exp()\np = e / e.sum(-1, keepdim=True)\n",
            at="e / e.sum(-1, keepdim=True)",
            fixed="import torch\ne = x.exp()\np = torch.softmax(x, dim=-1)\n",
        ),
        Invalid(
            "import torch\np = torch.exp(x) / torch.sum(torch.exp(x), 1)\n",
            at="torch.exp(x) / torch.sum(torch.exp(x), 1)",
            fixed=None,
        ),
        Invalid(  # a square that is not negated can overflow
            "import torch\ng = torch.exp(x ** 2)\nk = g / g.sum(-1, keepdim=True)\n",
            at="g / g.sum(-1, keepdim=True)",
            fixed="import torch\ng = torch.exp(x ** 2)\nk = torch.softmax(x ** 2, dim=-1)\n",
        ),
    )

    def on_binary(self, node: cst.BinaryOperation, ctx: RuleContext) -> None:
        if not isinstance(node.operator, cst.Divide):
            return
        value = ctx.value(node.left)
        if not isinstance(value, Tensor) or value.source is not Source.EXP or value.producer is None:
            return
        found = _sum_call(node.right, ctx)
        if found is None:
            return
        summed, bound = found
        if ctx.code(syntax.unparenthesized(summed)) != ctx.code(syntax.unparenthesized(node.left)):
            return
        if stabilised(value.producer.operand) or "dtype" in bound or bound.get("dim") is None:
            return
        fix, note = None, None
        logits = visible_logits(value, node.left, ctx)
        # Without keepdim the sum loses its dim and broadcasting aligns from the right: that is
        # right only for dim 0 (sum(0) has shape x.shape[1:]), on every rank.
        if not syntax.is_true(bound.get("keepdim")) and syntax.int_literal(bound.get("dim")) != 0:
            note = "no fix: without keepdim=True the division does not normalise over the dim (check it)"
        elif logits is None or not value.producer.reusable:
            note = "no fix: the exponent is not a side-effect-free local expression"
        else:
            spelled = ctx.spell("torch.softmax")
            if spelled is not None:
                text = f"{spelled[0]}({ctx.source(logits, unit=value.producer.unit)}, dim={ctx.code(bound.get('dim'))})"
                fix = ctx.fix(self, "Use torch.softmax", [ctx.replace(node, text, absorb_parens=True), *spelled[1]])
        ctx.report(
            self,
            node,
            "softmax written by hand overflows where exp does: use `torch.softmax(x, dim=...)`",
            fix=fix,
            fix_note=note,
        )


class ManualCrossEntropy(Rule):
    code = "LGT209"
    name = "manual-cross-entropy"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "-(p * log(softmax(x, 1))).sum(1).mean(): use F.cross_entropy(x, p)"
    requires = frozenset({"log", "log_softmax"})
    implements = frozenset({"cross_entropy"})
    what = (
        "Checks for cross-entropy with probability targets written by hand: `-(p * torch.log(F.softmax(x, 1)))"
        ".sum(1).mean()` (a warning: it is fragile) and close variants (`torch.sum`, `torch.mean`, the minus "
        "inside). The same sum over `F.log_softmax(x, 1)` is already stable: it is reported as information "
        "only, as a simplification. The entropy of a distribution (`-(p * torch.log(p))`, "
        "`-(logp.exp() * logp)`: the targets are the same distribution) is not a cross-entropy and is left alone."
    )
    why = (
        "The hand-written form over `log(softmax(x))` is NaN where a probability is 0 and the softmax underflows "
        "(0 * -inf), and it costs an extra pass; `F.cross_entropy(x, p)` accepts probability targets "
        "(PyTorch >= 1.10) and computes exactly `-(p * log_softmax(x, 1)).sum(1).mean()`, stably. Written "
        "over `log_softmax` the sum is stable already, and `F.cross_entropy` only says what it means."
    )
    example = """```python
loss = -(soft_targets * torch.log(F.softmax(logits, dim=1))).sum(dim=1).mean()
```"""
    use_instead = """```python
loss = F.cross_entropy(logits, soft_targets)
```"""
    fix_safety = (
        "**finite** (safe): `F.cross_entropy(x, p)` equals `-(p * log_softmax(x, 1)).sum(1).mean()` exactly "
        "(difference 0.0 measured), and is finite where the `log(softmax)` original is NaN; over `log_softmax` "
        "the fix is **exact**. Offered only for a plain mean over the samples and a log-softmax over the class "
        "dim; weights would change what `mean` divides by."
    )
    valid = (
        "import torch.nn.functional as F\nloss = F.cross_entropy(x, p)\n",
        "import torch\nimport torch.nn.functional as F\nent = -(p * torch.log(p)).sum(1).mean()\n",
        "import torch.nn.functional as F\nloss = -(p * F.log_softmax(x, dim=1)).sum(dim=0).mean()\n",
        # the entropy of the model's own distribution: the "targets" are the log-probabilities' own
        "import torch.nn.functional as F\nlogp = F.log_softmax(x, -1)\nent = -(logp.exp() * logp).sum(-1).mean()\n",
        "import torch\np = torch.softmax(x, 1)\nent = -(p * torch.log(p)).sum(1).mean()\n",
        "import torch\nent = -(torch.softmax(x, 1) * torch.log_softmax(x, 1)).sum(1).mean()\n",
        "import torch\ne = torch.exp(x)\np = e / e.sum(1, keepdim=True)\nent = -(p * torch.log(p)).sum(1).mean()\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = -(p * torch.log(F.softmax(x, dim=1))).sum(dim=1).mean()\n",
            at="-(p * torch.log(F.softmax(x, dim=1))).sum(dim=1).mean()",
            fixed="import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(x, p.expand_as(x))\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nlogp = F.log_softmax(x, 1)\nloss = torch.mean(torch.sum(-t * logp, dim=1))\n",
            at="torch.mean(torch.sum(-t * logp, dim=1))",
            fixed="import torch\nimport torch.nn.functional as F\nlogp = F.log_softmax(x, 1)\nloss = F.cross_entropy(x, t.expand_as(x))\n",
        ),
        Invalid(
            "import torch\nloss = -torch.sum(torch.log_softmax(x, -1) * y, -1).mean()\n",
            at="-torch.sum(torch.log_softmax(x, -1) * y, -1).mean()",
            fixed=None,
        ),
        Invalid(  # the same logits, reassigned: the target is another distribution (distillation)
            "import torch\np = torch.softmax(x, 1)\nx = student(inputs)\nloss = -(p * torch.log_softmax(x, 1)).sum(1).mean()\n",
            at="-(p * torch.log_softmax(x, 1)).sum(1).mean()",
            fixed="import torch\np = torch.softmax(x, 1)\nx = student(inputs)\nloss = torch.nn.functional.cross_entropy(x, p.expand_as(x))\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        parent = ctx.parent(node)
        if isinstance(parent, cst.UnaryOperation):
            return  # reported at the negation
        self._check(node, ctx)

    def on_unary(self, node: cst.UnaryOperation, ctx: RuleContext) -> None:
        self._check(node, ctx)

    def _check(self, node: cst.BaseExpression, ctx: RuleContext) -> None:
        match = _manual_ce(node, ctx)
        if match is None:
            return
        log_probs, target, dim, stable = match
        fix, note = None, None
        logits, value = _logits_of(log_probs, ctx)
        if logits is None or value is None or value.producer is None:
            note = "no fix: the logits are not a clean local expression here"
        elif value.dim != dim or not class_dim_ok(value):
            note = "no fix: the log-softmax dim is not known to be the class dim"
        elif not syntax.is_pure(syntax.unparenthesized(logits)):
            # The product broadcasts (a (C,) class prior); cross_entropy needs the logits' shape, so
            # the target is expanded to it, which reads the logits twice.
            note = "no fix: the target may broadcast, and expanding it would evaluate the logits twice"
        else:
            spelled = ctx.spell("torch.nn.functional.cross_entropy")
            if spelled is not None:
                x = ctx.source(logits, unit=value.producer.unit)
                text = f"{spelled[0]}({x}, {ctx.source(target, atom=True)}.expand_as({x}))"
                fix = ctx.fix(
                    self,
                    "Use F.cross_entropy with probability targets",
                    [ctx.replace(node, text, absorb_parens=True), *spelled[1]],
                    fix_class=FixClass.EXACT if stable else None,
                )
        if stable:
            message = (
                "cross-entropy written out over log_softmax (already stable): if the targets are probabilities, "
                "it can be written as `F.cross_entropy(logits, targets)`"
            )
            ctx.report(self, node, message, fix=fix, severity=Severity.INFO, fix_note=note)
            return
        ctx.report(
            self,
            node,
            "cross-entropy with probability targets written by hand: use `F.cross_entropy(logits, "
            "probs)`, which is stable where a probability is 0",
            fix=fix,
            fix_note=note,
        )


def _peel_minus(node: cst.BaseExpression) -> tuple[cst.BaseExpression, int]:
    negations = 0
    while isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node, negations = node.expression, negations + 1
    return node, negations


def _mean_of(node: cst.BaseExpression, ctx: RuleContext) -> cst.BaseExpression | None:
    if not isinstance(node, cst.Call):
        return None
    if ctx.callee(node) == "torch.mean" and len(node.args) == 1 and node.args[0].keyword is None:
        return node.args[0].value
    if (
        isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "mean"
        and not node.args
        and ctx.callee(node) is None
    ):
        return node.func.value
    return None


def _manual_ce(node: cst.BaseExpression, ctx: RuleContext):
    """(log-probabilities node, target node, dim, computed stably) for -mean(sum(t * logp, dim)) where
    the targets t are not the log-probabilities' own distribution (that sum is an entropy), else None."""
    inner, negations = _peel_minus(node)
    summed_node = _mean_of(inner, ctx)
    if summed_node is None:
        return None
    summed_node, more = _peel_minus(summed_node)
    negations += more
    found = _sum_call(summed_node, ctx)
    if found is None:
        return None
    product, bound = found
    product, more = _peel_minus(product)
    negations += more
    dim = syntax.int_literal(bound.get("dim"))
    if dim is None or "keepdim" in bound or "dtype" in bound:
        return None
    if not (isinstance(product, cst.BinaryOperation) and isinstance(product.operator, cst.Multiply)):
        return None
    for log_probs, target in ((product.left, product.right), (product.right, product.left)):
        target, more_target = _peel_minus(target)
        value = ctx.value(log_probs)
        if (
            isinstance(value, Tensor)
            and value.kind is Kind.LOG_PROBS
            and value.source in (Source.LOG_SOFTMAX, Source.LOG)
        ):
            if (negations + more_target) % 2 == 1 and value.dim == dim and not _same_distribution(target, value, ctx):
                return log_probs, target, dim, value.source is Source.LOG_SOFTMAX
    return None


def _same_distribution(target: cst.BaseExpression, log_probs: Tensor, ctx: RuleContext) -> bool:
    """``p`` in ``p * log(p)``, ``logp.exp()`` in ``logp.exp() * logp``: the distribution itself."""
    value = ctx.value(target)
    if isinstance(value, Tensor) and value.dist is not None and value.dist == log_probs.dist:
        return True
    origin = log_probs.origin
    same_unit = origin is not None and origin.unit is ctx.unit and log_probs.source is Source.LOG
    logged = origin.node if same_unit else None  # type: ignore[union-attr]
    argument = log_argument(logged, ctx) if isinstance(logged, cst.Call) else None
    return argument is not None and ctx.code(syntax.unparenthesized(argument)) == ctx.code(
        syntax.unparenthesized(target)
    )


def _logits_of(log_probs: cst.BaseExpression, ctx: RuleContext):
    """The logits behind log_softmax(x) or log(softmax(x)), when a fix may use them here."""
    value = ctx.value(log_probs)
    if not isinstance(value, Tensor):
        return None, None
    if value.source is Source.LOG_SOFTMAX:
        return visible_logits(value, log_probs, ctx), value
    inner = log_argument(log_probs, ctx) if isinstance(log_probs, cst.Call) else None
    if inner is not None:
        probs = ctx.value(inner)
        if isinstance(probs, Tensor) and probs.source is Source.SOFTMAX:
            return visible_logits(probs, inner, ctx), probs
    return None, None
