"""Family 2: the log of a softmax, written the fragile way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import FixClass, Severity
from logitlint.rules.base import Invalid, Rule
from logitlint.rules.rewrite import describe, hidden_reason, occurrences, renamed, visible_logits

if TYPE_CHECKING:
    from logitlint.rules.context import RuleContext


def log_argument(node: cst.Call, ctx: RuleContext) -> cst.BaseExpression | None:
    """``X`` for ``torch.log(X)`` or ``X.log()``."""
    if ctx.callee(node) == "torch.log":
        if len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
            return node.args[0].value
        return None
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value == "log" and not node.args:
        if ctx.callee(node) is None:  # a method on a value, not torch.log / math.log
            return func.value
    return None


def softmax_value(node: cst.BaseExpression, ctx: RuleContext) -> Tensor | None:
    value = ctx.value(node)
    if isinstance(value, Tensor) and value.kind is Kind.PROBS and value.source is Source.SOFTMAX:
        return value
    return None


def log_softmax_fix(
    rule: Rule, value: Tensor, probs_node: cst.BaseExpression, log_call: cst.Call, ctx: RuleContext, title: str
):
    """Replace the whole ``log(...)`` by log_softmax of the softmax's input, if it is visible here;
    else ``(None, why not)``."""
    if visible_logits(value, probs_node, ctx) is None:
        return None, hidden_reason(value, probs_node, ctx)
    new = renamed(value, "log_softmax", probs_node, ctx)
    if new is None:
        return None, "no fix: no safe spelling of log_softmax here"
    text, imports = new
    return ctx.fix(rule, title, [ctx.replace(log_call, text), *imports]), None


class LogOfSoftmax(Rule):
    code = "LGT201"
    name = "log-of-softmax"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "log of softmax output: use log_softmax (finite where softmax underflows)"
    requires = frozenset({"log"})
    implements = frozenset({"log_softmax"})
    what = "Checks for `torch.log(softmax(x, d))`, `softmax(x, d).log()` and `torch.log(nn.Softmax(d)(x))`, in any spelling and through variables."
    why = (
        "Softmax underflows to 0 for logits far below the maximum, and `log(0)` is `-inf`: the loss "
        "becomes inf/NaN, and the gradient of `log(softmax)` is NaN for the whole row as soon as one "
        "entry underflows (x = [0, -200, 5]). Even where it stays finite, a subnormal probability "
        "costs up to 0.55 in log space (f32). `log_softmax` computes the same value stably."
    )
    example = """```python
log_probs = torch.log(F.softmax(logits, dim=1))
```"""
    use_instead = """```python
log_probs = F.log_softmax(logits, dim=1)
```"""
    fix_safety = (
        "**finite** (safe): the same value within 1 ulp wherever the original is finite and its "
        "probabilities are normal numbers, and finite (with finite gradients) where the original "
        "gives -inf/NaN (3,924 such elements fixed in the f32 measurement). `dtype=` is kept as a keyword."
    )
    valid = (
        "import torch.nn.functional as F\nlp = F.log_softmax(x, dim=1)\n",
        "import torch\nimport math\nv = math.log(2.0)\nw = torch.log(x)\n",
        "import torch\nimport torch.nn.functional as F\np = F.softmax(x, 1)\np = p * mask\nlp = torch.log(p)\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\nlp = torch.log(F.softmax(x, dim=1))\n",
            at="torch.log(F.softmax(x, dim=1))",
            fixed="import torch\nimport torch.nn.functional as F\nlp = F.log_softmax(x, dim=1)\n",
        ),
        Invalid(
            "import torch\nlp = torch.softmax(x, -1).log()\n",
            at="torch.softmax(x, -1).log()",
            fixed="import torch\nlp = torch.log_softmax(x, -1)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nlp = torch.log(nn.Softmax(dim=1)(x))\n",
            at="torch.log(nn.Softmax(dim=1)(x))",
            fixed="import torch\nimport torch.nn as nn\nlp = nn.LogSoftmax(dim=1)(x)\n",
        ),
        Invalid(
            "import torch as th\np = th.special.softmax(x, 1)\nlp = th.log(p)\n",
            at="th.log(p)",
            fixed="import torch as th\np = th.special.softmax(x, 1)\nlp = th.special.log_softmax(x, 1)\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        arg = log_argument(node, ctx)
        if arg is None:
            return
        value = softmax_value(arg, ctx)
        if value is None:
            return
        message = f"log of {describe(value, ctx, arg)}: use log_softmax, which stays finite where softmax underflows"
        fix, note = log_softmax_fix(self, value, arg, node, ctx, "Use log_softmax")
        related = ctx.related(value.origin, "softmax applied here") if value.via is not Via.DIRECT else ()
        ctx.report(self, node, message, fix=fix, related=related, fix_note=note)


class LogOfSoftmaxWithEps(Rule):
    code = "LGT202"
    name = "log-of-softmax-with-eps"
    severity = Severity.WARNING
    fix_class = FixClass.VALUE_CHANGE
    summary = "log(softmax + eps) or log(softmax.clamp(min=eps)): use log_softmax"
    requires = frozenset({"log"})
    implements = frozenset({"log_softmax"})
    what = "Checks for `torch.log(softmax(x, d) + eps)`, `torch.log(softmax(...).clamp(min=eps))` and `torch.log(torch.clamp(softmax(...), eps, 1))`."
    why = (
        "The eps hides the `log(0)` of an underflowing softmax but caps every log-probability at "
        "`log(eps)` (per-sample loss at most 18.42 for eps=1e-8) and gives confident wrong classes a "
        "near-zero gradient. In float16, eps=1e-8 rounds to 0 and protects nothing. `log_softmax` needs no eps."
    )
    example = """```python
log_probs = torch.log(F.softmax(logits, dim=1) + 1e-8)
```"""
    use_instead = """```python
log_probs = F.log_softmax(logits, dim=1)
```"""
    fix_safety = (
        "**value-change** (unsafe): removing the eps changes values where probabilities are tiny: "
        "small for soft logits (mean NLL shift 2e-7 for N(0,1), 10 classes) but large for confident ones "
        "(-3.2, 20%, for N(0, 10²)); masked `-inf` logits become `-inf` log-probabilities again."
    )
    valid = (
        "import torch\nimport torch.nn.functional as F\nlp = F.log_softmax(x, 1)\n",
        "import torch\nlp = torch.log(x + 1e-8)\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\nlp = torch.log(F.softmax(x, dim=1) + 1e-8)\n",
            at="torch.log(F.softmax(x, dim=1) + 1e-8)",
            fixed="import torch\nimport torch.nn.functional as F\nlp = F.log_softmax(x, dim=1)\n",
        ),
        Invalid(
            "import torch\nlp = torch.log(torch.softmax(x, 1).clamp(min=1e-6))\n",
            at="torch.log(torch.softmax(x, 1).clamp(min=1e-6))",
            fixed="import torch\nlp = torch.log_softmax(x, 1)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\np = F.softmax(x, -1)\nlp = torch.log(torch.clamp(p, 1e-7, 1.0))\n",
            at="torch.log(torch.clamp(p, 1e-7, 1.0))",
            fixed="import torch\nimport torch.nn.functional as F\np = F.softmax(x, -1)\nlp = F.log_softmax(x, -1)\n",
        ),
        Invalid(
            "import torch\nEPS = 1e-12\nlp = (torch.softmax(x, 1) + EPS).log()\n",
            at="(torch.softmax(x, 1) + EPS).log()",
            fixed="import torch\nEPS = 1e-12\nlp = torch.log_softmax(x, 1)\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        arg = log_argument(node, ctx)
        probs = eps_guarded(arg, ctx) if arg is not None else None
        value = softmax_value(probs, ctx) if probs is not None else None
        if value is None:
            return
        assert probs is not None
        message = f"log of {describe(value, ctx, probs)} guarded by an eps: use log_softmax, which needs no eps"
        fix, note = None, None
        if meets_a_product(node, ctx):
            note = (
                "no fix: these log-probabilities are multiplied or passed on (soft targets, kl_div); without "
                "the eps a masked (-inf) logit would give 0 * -inf = NaN there"
            )
        else:
            fix, note = log_softmax_fix(self, value, probs, node, ctx, "Use log_softmax (removes the eps)")
        ctx.report(self, node, message, fix=fix, fix_note=note)


def eps_guarded(arg: cst.BaseExpression, ctx: RuleContext) -> cst.BaseExpression | None:
    """``S`` in ``S + eps``, ``eps + S``, ``S.clamp(min=eps)`` or ``torch.clamp(S, eps, 1)``: the
    tensor a small constant keeps away from 0 under a log (a node of the tree, never a copy)."""
    if isinstance(arg, cst.BinaryOperation) and isinstance(arg.operator, cst.Add):
        for guarded, eps in ((arg.left, arg.right), (arg.right, arg.left)):
            if _small_constant(eps):
                return guarded
        return None
    if not isinstance(arg, cst.Call):
        return None
    qual = ctx.callee(arg)
    if qual in ("torch.clamp", "torch.clip", "torch.clamp_min") and arg.args:
        guarded, rest = arg.args[0].value, arg.args[1:]
    elif isinstance(arg.func, cst.Attribute) and arg.func.attr.value in ("clamp", "clip", "clamp_min") and qual is None:
        guarded, rest = arg.func.value, arg.args
    else:
        return None
    lower = next((a.value for a in rest if a.keyword is None or a.keyword.value == "min"), None)
    return guarded if lower is not None and _small_constant(lower) else None


# Calls that read log-probabilities without multiplying them by a probability.
_SAFE_CONSUMERS = frozenset({"nll_loss", "NLLLoss", "argmax", "max", "topk", "gather", "print"})


def meets_a_product(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """May ``node``'s value be multiplied by a probability (a soft target, kl_div's target)? Then
    the eps was what kept ``0 * log(0)`` finite (FIX-SEMANTICS trap 6). Checked where ``node`` is
    used and where the local name it is assigned to is read. A heuristic ("may"): any call other
    than an index-target loss or an argmax counts as passing it on."""
    scope = ctx.scope
    root: cst.CSTNode = scope.node.body if scope is not None else ctx.unit.module
    names: set[str] = set()
    for ancestors, _ in occurrences(root, lambda n: n is node):
        if _multiplied(ancestors):
            return True
        parent = ancestors[-1] if ancestors else None
        if isinstance(parent, cst.Assign):
            names.update(t.target.value for t in parent.targets if isinstance(t.target, cst.Name))
    return any(
        _multiplied(ancestors)
        for ancestors, _ in occurrences(root, lambda n: isinstance(n, cst.Name) and n.value in names)
    )


def _multiplied(ancestors: tuple[cst.CSTNode, ...]) -> bool:
    """Is the innermost expression (the last of ``ancestors`` is its parent) a factor or an argument?"""
    for i in range(len(ancestors) - 1, -1, -1):
        parent = ancestors[i]
        if isinstance(parent, cst.BinaryOperation):
            return isinstance(parent.operator, (cst.Multiply, cst.MatrixMultiply))
        if isinstance(parent, cst.Arg) and i > 0 and isinstance(ancestors[i - 1], cst.Call):
            callee = syntax.dotted_name(ancestors[i - 1].func) or ""
            return callee.rsplit(".", 1)[-1] not in _SAFE_CONSUMERS
        if isinstance(parent, cst.Attribute):
            return parent.attr.value in ("mul", "mul_", "multiply")
        if not isinstance(parent, (cst.Subscript, cst.SubscriptElement, cst.Index)):
            return False  # assigned, returned, compared...: not multiplied here
    return False


def _small_constant(node: cst.BaseExpression) -> bool:
    value = syntax.number_literal(node)
    if value is not None:
        return 0 < value <= 1e-3
    return isinstance(node, (cst.Name, cst.Attribute)) and "eps" in (syntax.dotted_name(node) or "").lower()
