"""Family 3: softmax calls that are redundant or unclear."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.values import Kind, Source, Tensor, Via
from logitlint.diagnostics import FixClass, Severity
from logitlint.outline import SOFTMAX_NODIM
from logitlint.rules.base import Invalid, Rule
from logitlint.rules.rewrite import hidden_reason, visible_logits

if TYPE_CHECKING:
    from logitlint.rules.context import RuleContext

_IMPLICIT = {
    "torch.nn.functional.softmax": "F.softmax",
    "torch.nn.functional.log_softmax": "F.log_softmax",
    "torch.nn.functional.softmin": "F.softmin",
    "torch.nn.Softmax": "nn.Softmax",
    "torch.nn.LogSoftmax": "nn.LogSoftmax",
    "torch.nn.Softmin": "nn.Softmin",
}


class ImplicitSoftmaxDim(Rule):
    code = "LGT301"
    name = "implicit-softmax-dim"
    severity = Severity.INFO
    summary = "softmax without dim: PyTorch picks dim 0 for 0-, 1- and 3-D input (often the batch)"
    requires = frozenset({SOFTMAX_NODIM})
    what = "Checks for `F.softmax/log_softmax/softmin(x)` and `nn.Softmax()/LogSoftmax()/Softmin()` without `dim`."
    why = (
        "Without `dim`, PyTorch picks dim 0 when the input has 0, 1 or 3 dims and dim 1 otherwise, and "
        "warns that this is deprecated. For a 3-D input (batch, boxes, classes) that is the batch dim: "
        "a real bug in widely used detection post-processing made every score 1.0 at batch size 1. "
        "Where logitlint can see the input's rank it says which dim PyTorch picks, and the finding "
        "becomes a warning for 3-D input."
    )
    example = """```python
scores = F.softmax(logits)
```"""
    use_instead = """```python
scores = F.softmax(logits, dim=-1)
```"""
    fix_safety = (
        "**none**: no literal dim keeps the behaviour for every rank (`dim=1` is what PyTorch picks only "
        "for 2-, 4- and 5-D input, `dim=-1` only for 1- and 2-D), so the dim is for you to choose."
    )
    valid = (
        "import torch.nn.functional as F\np = F.softmax(x, dim=1)\n",
        "import torch.nn as nn\nlayer = nn.Softmax(dim=-1)\n",
        "import torch.nn.functional as F\np = F.softmax(x, 1)\n",
        "import jax\np = jax.nn.softmax(x)\n",
    )
    invalid = (
        Invalid("import torch.nn.functional as F\np = F.softmax(x)\n", at="F.softmax(x)"),
        Invalid("import torch.nn as nn\nlayer = nn.LogSoftmax()\n", at="nn.LogSoftmax()"),
        Invalid(
            "import torch.nn.functional as F\nscores = F.softmax(pred.view(b, n, c))[:, :, :-1]\n",
            at="F.softmax(pred.view(b, n, c))",
        ),
        Invalid("from torch.nn.functional import softmin\nw = softmin(d, None)\n", at="softmin(d, None)"),
        Invalid(
            "import torch.nn.functional as F\n\ndef decode(pred):\n    b, n, c = pred.shape\n    return F.softmax(pred)\n",
            at="F.softmax(pred)",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        qual = ctx.callee(node)
        if qual not in _IMPLICIT:
            return
        params = torchapi.SIGNATURES[qual]
        bound = syntax.bind_args(node, params)
        if not bound.complete:
            return
        dim = bound.get("dim")
        if dim is not None and not (isinstance(dim, cst.Name) and dim.value == "None"):
            return
        name = _IMPLICIT[qual]
        rank, evidence = self._rank(node, bound, ctx)
        severity = None
        if rank is not None:
            picked = 0 if rank in (0, 1, 3) else 1
            detail = f"the input appears to be {rank}-D ({evidence}), so PyTorch normalises over dim {picked}"
            if rank == 3:
                detail += ", usually the batch dim"
                severity = Severity.WARNING
        else:
            detail = "PyTorch picks dim 0 for 0-, 1- and 3-D input and dim 1 otherwise"
        ctx.report(
            self,
            node,
            f"`{name}` without `dim`: {detail}; pass `dim` explicitly",
            severity=severity,
            fix_note="no fix: which dim was meant is for you to say (usually the class dim, 1 or -1)",
        )

    @staticmethod
    def _rank(node: cst.Call, bound: syntax.BoundArgs, ctx: RuleContext) -> tuple[int | None, str]:
        operand = bound.get("input")
        if operand is not None:
            value = ctx.value(operand)
            if isinstance(value, Tensor) and value.ndim is not None:
                return value.ndim, value.ndim_evidence or "its definition"
        parent = ctx.parent(node)
        if isinstance(parent, cst.Subscript) and parent.value is node:
            if not any(
                isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.Ellipsis) for e in parent.slice
            ):
                if len(parent.slice) == 3:
                    return 3, "its result is indexed with three subscripts"
        scope = ctx.scope
        if isinstance(operand, cst.Name) and scope is not None:
            rank = _rank_read_nearby(operand.value, scope.node)
            if rank is not None:
                return rank
        return None, ""


def _rank_read_nearby(name: str, function: cst.FunctionDef) -> tuple[int, str] | None:
    """``B, T, C = x.shape`` or ``x.shape[2]`` (and no higher index) read in the same function."""
    highest = -1
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and _shape_of(node.value, name):
            target = node.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)) and not any(
                isinstance(e, cst.StarredElement) for e in target.elements
            ):
                n = len(target.elements)
                return (
                    n,
                    f"`{syntax.dotted_name(node.value.func if isinstance(node.value, cst.Call) else node.value)}` unpacks into {n} names",
                )
        if isinstance(node, cst.Subscript) and _shape_of(node.value, name) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index):
                value = syntax.int_literal(index.value)
                highest = max(highest, value if value is not None else 99)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "size"
            and syntax.dotted_name(node.func.value) == name
            and node.args
        ):
            value = syntax.int_literal(node.args[0].value)
            highest = max(highest, value if value is not None else 99)
        stack.extend(syntax.children(node))
    if highest == 2:
        return 3, f"`{name}.shape[2]` is read nearby"
    return None


def _shape_of(node: cst.BaseExpression, name: str) -> bool:
    if isinstance(node, cst.Attribute) and node.attr.value == "shape":
        return syntax.dotted_name(node.value) == name
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "size"
        and not node.args
    ):
        return syntax.dotted_name(node.func.value) == name
    return False


class ArgmaxOfSoftmax(Rule):
    code = "LGT302"
    name = "argmax-of-softmax"
    severity = Severity.INFO
    fix_class = FixClass.EXACT
    summary = "argmax of softmax over the same dim: softmax is monotonic, take argmax of the logits"
    requires = frozenset({"argmax"})
    what = "Checks for `argmax(softmax(x, d), d)` (any spelling) with the same explicit dim."
    why = (
        "Softmax is monotonic along its dim, so the argmax is the same; the softmax only costs time "
        "and memory, and can merge near-ties (two logits 1 ulp apart round to the same probability)."
    )
    example = """```python
pred = F.softmax(logits, dim=1).argmax(dim=1)
```"""
    use_instead = """```python
pred = logits.argmax(dim=1)
```"""
    fix_safety = (
        "**exact** (safe): 0 mismatches over 675 rows per dtype and magnitude; it differs only on "
        "near-ties 1-3 ulp apart (the fix picks the truly larger logit) and rows holding NaN or +inf."
    )
    valid = (
        "import torch\nimport torch.nn.functional as F\npred = torch.argmax(F.softmax(x, 1))\n",
        "import torch.nn.functional as F\npred = F.softmax(x, 1).argmax(0)\n",
        "import torch\npred = torch.argmax(x, 1)\n",
    )
    invalid = (
        Invalid(
            "import torch\nimport torch.nn.functional as F\npred = torch.argmax(F.softmax(x, dim=1), dim=1)\n",
            at="torch.argmax(F.softmax(x, dim=1), dim=1)",
            fixed="import torch\nimport torch.nn.functional as F\npred = torch.argmax(x, dim=1)\n",
        ),
        Invalid(
            "import torch\npred = torch.softmax(out, -1).argmax(-1)\n",
            at="torch.softmax(out, -1).argmax(-1)",
            fixed="import torch\npred = out.argmax(-1)\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nprobs = F.softmax(x, 1)\nconf = probs.max(1)\npred = probs.argmax(dim=1)\n",
            at="probs.argmax(dim=1)",
            fixed="import torch.nn.functional as F\nprobs = F.softmax(x, 1)\nconf = probs.max(1)\npred = x.argmax(dim=1)\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        qual = ctx.callee(node)
        if qual == "torch.argmax" and node.args:
            probs = node.args[0].value
            bound = syntax.bind_args(node, torchapi.SIGNATURES["torch.argmax"])
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "argmax" and qual is None:
            probs = node.func.value
            bound = syntax.bind_args(node, torchapi.SIGNATURES["torch.Tensor.argmax"])
        else:
            return
        value = ctx.value(probs)
        if not isinstance(value, Tensor) or value.kind is not Kind.PROBS or value.source is not Source.SOFTMAX:
            return
        dim = syntax.int_literal(bound.get("dim"))
        if dim is None or dim != value.dim or value.via is Via.CALL:
            return
        fix = None
        logits = visible_logits(value, probs, ctx)
        note = hidden_reason(value, probs, ctx) if logits is None or value.producer is None else None
        if logits is not None and value.producer is not None:
            atom = qual is None  # the receiver of .argmax(...)
            fix = ctx.fix(
                self,
                "Take argmax of the logits",
                [ctx.replace(probs, ctx.source(logits, atom=atom, unit=value.producer.unit))],
            )
        ctx.report(
            self,
            node,
            "argmax of softmax over the same dim: softmax keeps the order, take argmax of the logits",
            fix=fix,
            fix_note=note,
        )
