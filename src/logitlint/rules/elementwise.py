"""Family 2: log/exp compositions with a stable built-in (logsigmoid, logsumexp, softplus, log1p, expm1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.values import Kind, Source, Tensor, Via, is_whole
from logitlint.diagnostics import FixClass, Severity
from logitlint.rules.base import Invalid, Rule
from logitlint.rules.log_softmax import eps_guarded, log_argument
from logitlint.rules.manual import stabilised
from logitlint.rules.rewrite import describe, hidden_reason, visible_logits

if TYPE_CHECKING:
    from logitlint.rules.context import RuleContext


def _is_one(node: cst.BaseExpression) -> bool:
    return syntax.number_literal(node) == 1.0


def _tensor(node: cst.BaseExpression, ctx: RuleContext, source: str) -> Tensor | None:
    value = ctx.value(node)
    if isinstance(value, Tensor) and value.source == source:
        return value
    return None


def _negated(text: str, node: cst.BaseExpression) -> str:
    """``-x`` for an atom, ``-(a + b)`` otherwise (FIX-SEMANTICS trap 17)."""
    return f"-{text}" if syntax.is_atomic(syntax.unparenthesized(node)) and not text.startswith("-") else f"-({text})"


def _sigmoid_under_log(arg: cst.BaseExpression, ctx: RuleContext):
    """For the argument of a log: (the sigmoid node, is it ``1 - sigmoid``, is an eps added), else None.
    Reads ``S``, ``1 - S``, ``S + eps``, ``1 - S + eps``, ``1 + eps - S`` and the ``clamp(min=eps)`` forms."""
    inner = eps_guarded(arg, ctx)
    guarded = inner is not None
    arg = inner if inner is not None else arg  # nodes of the tree (rules report on what is evaluated)
    negate = False
    if isinstance(arg, cst.BinaryOperation) and isinstance(arg.operator, cst.Subtract):
        one = arg.left if _is_one(arg.left) else eps_guarded(arg.left, ctx)
        if one is None or not _is_one(one):
            return None
        guarded, negate = guarded or one is not arg.left, True
        arg = arg.right
    value = ctx.value(arg)
    if not isinstance(value, Tensor) or value.kind is not Kind.PROBS or value.source is not Source.SIGMOID:
        return None
    return arg, value, negate, guarded


class LogOfSigmoid(Rule):
    code = "LGT204"
    name = "log-of-sigmoid"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "log(sigmoid(x)) or log(1 - sigmoid(x)), with or without an eps: use F.logsigmoid(x) / F.logsigmoid(-x)"
    requires = frozenset({"log"})
    implements = frozenset({"logsigmoid"})
    what = (
        "Checks for `torch.log(torch.sigmoid(x))`, `torch.sigmoid(x).log()` and `torch.log(1 - torch.sigmoid(x))`, "
        "and the same with an eps: `torch.log(torch.sigmoid(x) + 1e-8)`, `torch.log(1 - torch.sigmoid(x) + eps)`, "
        "`torch.log(torch.sigmoid(x).clamp(min=eps))`, `torch.log(torch.clamp(1 - torch.sigmoid(x), eps, 1))`. "
        "(LGT202 is the eps form for softmax; a sigmoid under a log is this rule's in every form.)"
    )
    why = (
        "`log(sigmoid(x))` is -inf for x <= -88.75 (f32); `log(1 - sigmoid(x))` is -inf from x = 16.75 "
        "and already off by more than 0.01 from x = 12.1 (f32), because `1 - sigmoid(x)` cancels. An eps "
        "hides the -inf but caps the log at `log(eps)` (-18.42 for 1e-8) and leaves the cancellation. "
        "`F.logsigmoid` computes both stably (`torch.logsigmoid` does not exist)."
    )
    example = """```python
log_p = torch.log(torch.sigmoid(x))
log_not_p = torch.log(1 - torch.sigmoid(x) + 1e-8)
```"""
    use_instead = """```python
log_p = F.logsigmoid(x)
log_not_p = F.logsigmoid(-x)
```"""
    fix_safety = (
        "**finite** (safe): the same value (1 ulp) where the original is finite, and finite where it is "
        "-inf; the fix adds `import torch.nn.functional as F` when needed and parenthesises the negated operand. "
        "With an eps the fix is **value-change** (unsafe), as LGT202's: removing the eps changes values where "
        "the probability is tiny (by about eps elsewhere)."
    )
    valid = (
        "import torch.nn.functional as F\nlp = F.logsigmoid(x)\n",
        "import torch\nlp = torch.log(1 - p)\n",
        "import torch\nlp = torch.log(torch.sigmoid(x) * 0.5 + 0.25)\n",
        "import torch\nlp = torch.log(torch.sigmoid(x) + 0.5)\n",
        "import torch\nlp = torch.log(2 - torch.sigmoid(x) + 1e-8)\n",
        "import torch\nlp = torch.log(torch.sigmoid(x).clamp(max=1e-6))\n",
        "import torch\nlp = torch.log(p + 1e-8)\n",
    )
    invalid = (
        Invalid(
            "import torch\nlp = torch.log(torch.sigmoid(x))\n",
            at="torch.log(torch.sigmoid(x))",
            fixed="import torch\nlp = torch.nn.functional.logsigmoid(x)\n",
        ),
        Invalid(
            "import torch\nlq = torch.log(1 - torch.sigmoid(a + b))\n",
            at="torch.log(1 - torch.sigmoid(a + b))",
            fixed="import torch\nlq = torch.nn.functional.logsigmoid(-(a + b))\n",
        ),
        Invalid(
            "import torch\np = x.sigmoid()\nlp = p.log()\n",
            at="p.log()",
            fixed="import torch\np = x.sigmoid()\nlp = torch.nn.functional.logsigmoid(x)\n",
        ),
        Invalid(
            "import torch\nlp = torch.log(torch.sigmoid(d) + 1e-8)\n",
            at="torch.log(torch.sigmoid(d) + 1e-8)",
            fixed="import torch\nlp = torch.nn.functional.logsigmoid(d)\n",
        ),
        Invalid(
            "import torch\neps = 1e-7\nlq = torch.log(1 - torch.sigmoid(x) + eps)\n",
            at="torch.log(1 - torch.sigmoid(x) + eps)",
            fixed="import torch\neps = 1e-7\nlq = torch.nn.functional.logsigmoid(-x)\n",
        ),
        Invalid(
            "import torch\np = torch.sigmoid(x)\nlp = torch.log(p.clamp(min=1e-6))\n",
            at="torch.log(p.clamp(min=1e-6))",
            fixed="import torch\np = torch.sigmoid(x)\nlp = torch.nn.functional.logsigmoid(x)\n",
        ),
        Invalid(
            "import torch\np = torch.sigmoid(x)\nlq = torch.log(torch.clamp(1 - p, 1e-6, 1.0))\n",
            at="torch.log(torch.clamp(1 - p, 1e-6, 1.0))",
            fixed="import torch\np = torch.sigmoid(x)\nlq = torch.nn.functional.logsigmoid(-x)\n",
        ),
        Invalid(
            "import torch\nlq = (1 + 1e-8 - torch.sigmoid(x)).log()\n",
            at="(1 + 1e-8 - torch.sigmoid(x)).log()",
            fixed="import torch\nlq = torch.nn.functional.logsigmoid(-x)\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        arg = log_argument(node, ctx)
        found = _sigmoid_under_log(arg, ctx) if arg is not None else None
        if found is None:
            return
        probs_node, value, negate, guarded = found
        form = "log(1 - sigmoid(x))" if negate else "log of sigmoid"
        x = "-x" if negate else "x"
        guard = " guarded by an eps" if guarded else ""
        message = (
            f"{form}: {describe(value, ctx, probs_node)} under a log{guard}; use `F.logsigmoid({x})`, "
            "which is finite for every x" + (" and needs no eps" if guarded else "")
        )
        fix = None
        logits = visible_logits(value, probs_node, ctx)
        note = hidden_reason(value, probs_node, ctx) if logits is None else None
        spelled = ctx.spell("torch.nn.functional.logsigmoid")
        if logits is not None and spelled is not None and value.producer is not None:
            operand = ctx.source(logits, unit=value.producer.unit)
            operand = _negated(operand, logits) if negate else operand
            fix = ctx.fix(
                self,
                f"Use F.logsigmoid({x})" + (" (removes the eps)" if guarded else ""),
                [ctx.replace(node, f"{spelled[0]}({operand})"), *spelled[1]],
                fix_class=FixClass.VALUE_CHANGE if guarded else None,
            )
        ctx.report(self, node, message, fix=fix, fix_note=note)


def _summed_exp(node: cst.BaseExpression, ctx: RuleContext):
    """For ``torch.sum(E, ...)`` / ``E.sum(...)`` with E an exp: (E's value, bound sum args)."""
    if not isinstance(node, cst.Call):
        return None
    qual = ctx.callee(node)
    if qual == "torch.sum" and node.args:
        summed = node.args[0].value
        bound = syntax.bind_args(node, torchapi.SIGNATURES["torch.sum"])
    elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "sum" and qual is None:
        summed = node.func.value
        bound = syntax.bind_args(node, torchapi.SIGNATURES["torch.Tensor.sum"])
    else:
        return None
    value = _tensor(summed, ctx, "exp")
    if value is None or not bound.complete:
        return None
    return value, summed, bound


class LogSumExp(Rule):
    code = "LGT205"
    name = "log-sum-exp"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "log(sum(exp(x))): use torch.logsumexp, which does not overflow"
    requires = frozenset({"log"})
    implements = frozenset({"logsumexp"})
    what = (
        "Checks for `torch.log(torch.sum(torch.exp(x), d))` and `torch.log(torch.exp(x).sum(d))`, `keepdim` included."
    )
    why = (
        "`exp` overflows to inf from x = 88.73 in float32 (11.09 in float16), so the log-sum-exp becomes "
        "inf and its gradient NaN; `torch.logsumexp` subtracts the max first and stays finite."
    )
    example = """```python
lse = torch.log(torch.sum(torch.exp(scores), dim=1))
```"""
    use_instead = """```python
lse = torch.logsumexp(scores, dim=1)
```"""
    fix_safety = (
        "**finite** (safe): the same value (1.5 ulp) where the original is finite, finite where it "
        "overflows. `keepdim` is kept. `logsumexp` requires a dim: without one the fix writes "
        "`dim=tuple(range(x.ndim))`, only when `x` is a plain name (it is evaluated twice). "
        "`sum(..., dtype=)` blocks the fix (logsumexp has no dtype)."
    )
    valid = (
        "import torch\nlse = torch.logsumexp(x, dim=1)\n",
        "import torch\nv = torch.log(torch.sum(x, dim=1))\n",
        "import torch\nm = x.max(1, keepdim=True).values\nlse = m + torch.log(torch.exp(x - m).sum(1, keepdim=True))\n",
        # exp of a max-shifted tensor is at most 1: the stable form written out (torch's own decomposition)
        "import torch\nshifted = x - torch.amax(x, 1, keepdim=True)\nlse = torch.log(torch.sum(torch.exp(shifted), 1, keepdim=True))\n",
        # an empty tensor: nothing to overflow (torch's own reference logsumexp)
        "import torch\ndef lse(x, dim):\n    if x.numel() == 0:\n        return torch.sum(torch.exp(x), dim).log()\n    return torch.logsumexp(x, dim)\n",
        "import torch\ndef lse(x, dim):\n    if not torch.numel(x):\n        return torch.log(torch.exp(x).sum(dim))\n    return torch.logsumexp(x, dim)\n",
    )
    invalid = (
        Invalid(
            "import torch\ndef f(x, y):\n    if y.numel() == 0:\n        return torch.log(torch.exp(x).sum(1))\n",
            at="torch.log(torch.exp(x).sum(1))",
            fixed="import torch\ndef f(x, y):\n    if y.numel() == 0:\n        return torch.logsumexp(x, 1)\n",
        ),
        Invalid(
            "import torch\ndef f(x):\n    if x.numel() == 0:\n        pass\n    else:\n        return torch.log(torch.exp(x).sum(1))\n",
            at="torch.log(torch.exp(x).sum(1))",
            fixed="import torch\ndef f(x):\n    if x.numel() == 0:\n        pass\n    else:\n        return torch.logsumexp(x, 1)\n",
        ),
        Invalid(
            "import torch\nlse = torch.log(torch.sum(torch.exp(x), dim=1))\n",
            at="torch.log(torch.sum(torch.exp(x), dim=1))",
            fixed="import torch\nlse = torch.logsumexp(x, dim=1)\n",
        ),
        Invalid(
            "import torch\nlse = torch.log(torch.exp(x).sum(-1, keepdim=True))\n",
            at="torch.log(torch.exp(x).sum(-1, keepdim=True))",
            fixed="import torch\nlse = torch.logsumexp(x, -1, keepdim=True)\n",
        ),
        Invalid(
            "import torch\ne = torch.exp(scores)\nlse = e.sum().log()\n",
            at="e.sum().log()",
            fixed="import torch\ne = torch.exp(scores)\nlse = torch.logsumexp(scores, dim=tuple(range(scores.ndim)))\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        arg = log_argument(node, ctx)
        found = _summed_exp(arg, ctx) if arg is not None else None
        if found is None:
            return
        value, summed, bound = found
        if value.producer is not None and stabilised(value.producer.operand):
            return  # m + log(sum(exp(x - m))): already the stable form
        if value.producer is not None and _under_empty_guard(node, value.producer.operand, ctx):
            return  # `if x.numel() == 0: return torch.sum(torch.exp(x)).log()`: nothing can overflow
        message = "log(sum(exp(x))) overflows where exp does: use `torch.logsumexp`"
        fix, note = None, None
        logits = visible_logits(value, summed, ctx)
        spelled = ctx.spell("torch.logsumexp")
        if "dtype" in bound or "out" in bound:
            note = "no fix: logsumexp has no dtype"
        elif logits is None:
            note = hidden_reason(value, summed, ctx)
        elif logits is not None and spelled is not None and value.producer is not None:
            x = ctx.source(logits, unit=value.producer.unit)
            dim = bound.args.get("dim")
            if dim is not None and _all_dims(dim.value):
                dim = None  # sum(dim=None), sum(dim=()) sum everything; logsumexp rejects both
            if dim is not None:
                args = [x, _arg_text(dim, ctx)]
            elif isinstance(syntax.unparenthesized(logits), cst.Name):
                args = [x, f"dim=tuple(range({x}.ndim))"]
            else:
                args = None
                note = "no fix: without a dim the input would be evaluated twice"
            if args is not None:
                keepdim = bound.get("keepdim")
                if keepdim is not None:
                    args.append(f"keepdim={ctx.code(keepdim)}")
                fix = ctx.fix(
                    self, "Use torch.logsumexp", [ctx.replace(node, f"{spelled[0]}({', '.join(args)})"), *spelled[1]]
                )
        ctx.report(self, node, message, fix=fix, fix_note=note)


def _all_dims(node: cst.BaseExpression) -> bool:
    node = syntax.unparenthesized(node)
    if isinstance(node, cst.Name):
        return node.value == "None"
    return isinstance(node, (cst.Tuple, cst.List)) and not node.elements


def _arg_text(arg: cst.Arg, ctx: RuleContext) -> str:
    value = ctx.code(arg.value)
    return f"{arg.keyword.value}={value}" if arg.keyword is not None else value


def _one_plus_exp(arg: cst.BaseExpression, ctx: RuleContext) -> tuple[Tensor, cst.BaseExpression] | None:
    if isinstance(arg, cst.BinaryOperation) and isinstance(arg.operator, cst.Add):
        for one, other in ((arg.left, arg.right), (arg.right, arg.left)):
            if _is_one(one):
                value = _tensor(other, ctx, "exp")
                if value is not None:
                    return value, other
    return None


class LogOnePlusExp(Rule):
    code = "LGT207"
    name = "log-one-plus-exp"
    severity = Severity.WARNING
    fix_class = FixClass.FINITE
    summary = "log(1 + exp(x)) or log1p(exp(x)): use F.softplus(x)"
    requires = frozenset({"log", "log1p"})
    implements = frozenset({"softplus"})
    what = "Checks for `torch.log(1 + torch.exp(x))`, `torch.log(torch.exp(x) + 1)` and `torch.log1p(torch.exp(x))`."
    why = (
        "`exp(x)` overflows to inf for x > 88.7 (f32; 11.09 in f16), so the softplus written by hand "
        "returns inf where the answer is about x; and `log(1 + exp(x))` returns 0 for very negative x "
        "where the answer is e^x. `F.softplus` is stable on both sides."
    )
    example = """```python
sp = torch.log(1 + torch.exp(x))
```"""
    use_instead = """```python
sp = F.softplus(x)
```"""
    fix_safety = (
        "**finite** (safe) in float32/16: the same value within 1 ulp where the original is finite. In "
        "float64 softplus's default `threshold=20` returns x for x > 20, an absolute error up to "
        "e^-20 = 2.06e-9 (the runtime test allows 3e-9)."
    )
    valid = (
        "import torch.nn.functional as F\nsp = F.softplus(x)\n",
        "import torch\nv = torch.log(1 + x)\n",
        # exp(-|x|) <= 1 cannot overflow: the stable softplus and logaddexp forms
        "import torch\nsp = torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))\n",
        "import torch\nz = torch.exp(-x.abs())\nsp = x.clamp(min=0) + torch.log1p(z)\n",
        "import torch\nv = max_ + torch.log1p(torch.exp(min_ - max_))\n",
    )
    invalid = (
        Invalid(
            "import torch\nsp = torch.log(1 + torch.exp(x))\n",
            at="torch.log(1 + torch.exp(x))",
            fixed="import torch\nsp = torch.nn.functional.softplus(x)\n",
        ),
        Invalid(
            "import torch\nsp = torch.log1p(x.exp())\n",
            at="torch.log1p(x.exp())",
            fixed="import torch\nsp = torch.nn.functional.softplus(x)\n",
        ),
        Invalid(
            "import torch\nsp = (torch.exp(x) + 1.0).log()\n",
            at="(torch.exp(x) + 1.0).log()",
            fixed="import torch\nsp = torch.nn.functional.softplus(x)\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        found = None
        arg = log_argument(node, ctx)
        if arg is not None:
            found = _one_plus_exp(arg, ctx)
        elif ctx.callee(node) in ("torch.log1p", "torch.special.log1p") and len(node.args) == 1:
            inner = node.args[0].value
            value = _tensor(inner, ctx, "exp")
            found = (value, inner) if value is not None else None
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "log1p" and not node.args:
            inner = node.func.value
            value = _tensor(inner, ctx, "exp")
            found = (value, inner) if value is not None else None
        if found is None:
            return
        value, exp_node = found
        fix = None
        logits = visible_logits(value, exp_node, ctx)
        note = hidden_reason(value, exp_node, ctx) if logits is None else None
        spelled = ctx.spell("torch.nn.functional.softplus")
        if logits is not None and spelled is not None and value.producer is not None:
            fix = ctx.fix(
                self,
                "Use F.softplus",
                [ctx.replace(node, f"{spelled[0]}({ctx.source(logits, unit=value.producer.unit)})"), *spelled[1]],
            )
        ctx.report(self, node, "log(1 + exp(x)) overflows where exp does: use `F.softplus(x)`", fix=fix, fix_note=note)


def _under_empty_guard(node: cst.CSTNode, operand: cst.BaseExpression | None, ctx: RuleContext) -> bool:
    """Is ``node`` in the body of ``if x.numel() == 0:`` (or ``if not x.numel():``) for the tensor
    ``operand`` itself? There the tensor is empty, so exp cannot overflow."""
    if operand is None:
        return False
    unit, wanted = ctx.unit, ctx.code(operand)
    here = unit.span(node)
    for block in syntax.descendants(unit.module):
        if not isinstance(block, cst.If) or not _tests_empty(block.test, wanted, ctx):
            continue
        body = unit.span(block.body)
        if (body.line, body.col) <= (here.line, here.col) and (here.end_line, here.end_col) <= (
            body.end_line,
            body.end_col,
        ):
            return True
    return False


def _tests_empty(test: cst.BaseExpression, wanted: str, ctx: RuleContext) -> bool:
    def numel_of(expr: cst.BaseExpression) -> str | None:
        expr = syntax.unparenthesized(expr)
        if not isinstance(expr, cst.Call):
            return None
        if ctx.callee(expr) == "torch.numel" and len(expr.args) == 1:  # torch.numel(x)
            return ctx.code(expr.args[0].value)
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "numel" and not expr.args:  # x.numel()
            return ctx.code(expr.func.value)
        return None

    test = syntax.unparenthesized(test)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return numel_of(test.expression) == wanted
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, cst.Equal):
            left, right = test.left, target.comparator
            if syntax.number_literal(right) == 0:
                return numel_of(left) == wanted
            if syntax.number_literal(left) == 0:
                return numel_of(right) == wanted
    return False


def _integer_valued(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """Whole numbers (``torch.arange(n)``, ``x.long()``, counts, differences of them), where
    log(1 + x) cancels nothing."""
    return isinstance(syntax.unparenthesized(node), cst.Integer) or is_whole(ctx.value(node))


_ROUNDING = frozenset({"round", "floor", "ceil", "trunc", "long", "int"})


def _rounded(node: cst.BaseExpression, ctx: RuleContext) -> bool:
    """Is ``node`` rounded to a whole number right away (``torch.round(node)``, ``(node).long()``)?"""
    parent = ctx.parent(node)
    if not isinstance(parent, cst.Call):
        return False
    func = parent.func
    if isinstance(func, cst.Attribute) and func.attr.value in _ROUNDING:
        if func.value is node and not parent.args:
            return True  # (exp(x) - 1).round()
        qual = ctx.callee(parent)
        return qual is not None and qual.startswith("torch.") and qual.rsplit(".", 1)[1] in _ROUNDING
    return False


class Log1pExpm1(Rule):
    code = "LGT208"
    name = "log1p-expm1"
    severity = Severity.WARNING
    fix_class = FixClass.PRECISION
    summary = "log(1 + x) / exp(x) - 1 lose precision for small x: use torch.log1p / torch.expm1"
    requires = frozenset({"log", "exp"})
    implements = frozenset({"log1p", "expm1"})
    what = "Checks for `torch.log(1 + x)` (either order), `torch.exp(x) - 1` and `-1 + torch.exp(x)`."
    why = (
        "For small x, `1 + x` and `exp(x) - 1` cancel: at x = 1e-6 the float32 result is 4.6% off, at "
        "1e-8 it is 0 (100% off); float16 and bfloat16 are 100% off at 1e-4. `log1p` and `expm1` stay accurate."
    )
    example = """```python
y = torch.log(1 + x)
z = torch.exp(x) - 1
```"""
    use_instead = """```python
y = torch.log1p(x)
z = torch.expm1(x)
```"""
    fix_safety = (
        "**precision** (safe): the same domain (x < -1 gives NaN and x = -1 gives -inf in both) and a "
        "difference bounded by the original's rounding (1 eps); the rewrite is accurate to 5e-8 relative (f32)."
    )
    valid = (
        "import torch\ny = torch.log1p(x)\nz = torch.expm1(x)\n",
        "import torch\ny = torch.log(2 + x)\nz = torch.exp(x) - 2\n",
        "import math\ny = math.log(1 + x)\n",
        "import torch\nscale = torch.log(1 + torch.floor(positions / window))\n",
        "import torch\nz = -2 + torch.exp(v)\nw = a - 1 + torch.exp(v)\nu = torch.exp(v) + -1 * c\n",
        # rounded to a whole number at once: the precision lost is below the rounding
        "import torch\nn = torch.clamp(torch.round(torch.exp(log_d) - 1).long(), min=1)\n",
        "import torch\nn = (log_d.exp() - 1).floor()\n",
        # whole numbers through differences, rearrangements, a helper's *tensors, and list appends
        "import torch\nc = torch.arange(-3, 4).float()\nr = (c[:, None] - c[None, :]).reshape(-1)\n"
        "y = torch.sign(r) * torch.log(1.0 + r.abs())\n",
        "import torch\ndef ndgrid(*tensors):\n    return torch.meshgrid(*tensors, indexing='ij')\n"
        "def table(n):\n    c = torch.stack(ndgrid(torch.arange(n), torch.arange(n))).flatten(1)\n"
        "    return torch.log(1 + (c[:, :, None] - c[:, None, :]).abs())\n",
        "import torch\ndef durations(codes):\n    counts = []\n    for code in codes:\n"
        "        _, n = torch.unique_consecutive(code, return_counts=True)\n        counts.append(n[1:-1])\n"
        "    return torch.cat(counts)\nlog_dur = torch.log(durations(batch) + 1)\n",
    )
    invalid = (
        Invalid(
            "import torch\ny = torch.log(1 + x)\n", at="torch.log(1 + x)", fixed="import torch\ny = torch.log1p(x)\n"
        ),
        Invalid(
            "import torch\ny = torch.log(x + 1.0)\n",
            at="torch.log(x + 1.0)",
            fixed="import torch\ny = torch.log1p(x)\n",
        ),
        Invalid(
            "import torch\nz = torch.exp(x) - 1\n", at="torch.exp(x) - 1", fixed="import torch\nz = torch.expm1(x)\n"
        ),
        Invalid(
            "import torch\nz = 2 * (x.exp() - 1)\n", at="x.exp() - 1", fixed="import torch\nz = 2 * torch.expm1(x)\n"
        ),
        Invalid(
            "import torch\nz = -1 + torch.exp(v)\n", at="-1 + torch.exp(v)", fixed="import torch\nz = torch.expm1(v)\n"
        ),
        Invalid(
            "import torch\nz = (-1.0 + v.exp()) / v\n",
            at="-1.0 + v.exp()",
            fixed="import torch\nz = torch.expm1(v) / v\n",
        ),
        Invalid(  # whole numbers divided: small fractions
            "import torch\nc = torch.arange(5).float() / 7\ny = torch.log(1 + c)\n",
            at="torch.log(1 + c)",
            fixed="import torch\nc = torch.arange(5).float() / 7\ny = torch.log1p(c)\n",
        ),
        Invalid(  # a helper's *tensors given a tensor of unknown numbers
            "import torch\ndef ndgrid(*tensors):\n    return torch.meshgrid(*tensors, indexing='ij')\n"
            "y = torch.log(1 + torch.stack(ndgrid(torch.arange(3), x)))\n",
            at="torch.log(1 + torch.stack(ndgrid(torch.arange(3), x)))",
            fixed="import torch\ndef ndgrid(*tensors):\n    return torch.meshgrid(*tensors, indexing='ij')\n"
            "y = torch.log1p(torch.stack(ndgrid(torch.arange(3), x)))\n",
        ),
        Invalid(  # a list extended by something else
            "import torch\nns = []\nfor c in codes:\n    ns.append(c.long())\n    ns.extend(other)\n"
            "y = torch.log(1 + torch.cat(ns))\n",
            at="torch.log(1 + torch.cat(ns))",
            fixed="import torch\nns = []\nfor c in codes:\n    ns.append(c.long())\n    ns.extend(other)\n"
            "y = torch.log1p(torch.cat(ns))\n",
        ),
        Invalid(  # exp(-|x|) cannot overflow (not LGT207), but log(1 + tiny) still loses it
            "import torch\nv = torch.log(1 + torch.exp(-torch.abs(x)))\n",
            at="torch.log(1 + torch.exp(-torch.abs(x)))",
            fixed="import torch\nv = torch.log1p(torch.exp(-torch.abs(x)))\n",
        ),
    )

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        arg = log_argument(node, ctx)
        if not (isinstance(arg, cst.BinaryOperation) and isinstance(arg.operator, cst.Add)):
            return
        if _is_one(arg.left):
            x = arg.right
        elif _is_one(arg.right):
            x = arg.left
        else:
            return
        if _tensor(x, ctx, "exp") is not None:
            return  # log(1 + exp(x)) is LGT207's (log(1 + exp(-|x|)) is this rule's: exp cannot overflow there)
        if _integer_valued(x, ctx):
            return  # log(1 + n) for whole n: nothing cancels
        spelled = ctx.spell("torch.log1p")
        fix = None
        if spelled is not None:
            fix = ctx.fix(self, "Use torch.log1p", [ctx.replace(node, f"{spelled[0]}({ctx.source(x)})"), *spelled[1]])
        ctx.report(self, node, "log(1 + x) loses precision where x may be small: use `torch.log1p(x)`", fix=fix)

    def on_binary(self, node: cst.BinaryOperation, ctx: RuleContext) -> None:
        if isinstance(node.operator, cst.Subtract) and _is_one(node.right):
            exp = node.left  # exp(x) - 1
        elif isinstance(node.operator, cst.Add) and syntax.number_literal(node.left) == -1.0:
            exp = node.right  # -1 + exp(x)
        else:
            return
        value = _tensor(exp, ctx, "exp") or _tensor(exp, ctx, "exp_nonpositive")
        if value is None or value.producer is None or value.via is not Via.DIRECT or value.producer.operand is None:
            return
        if _rounded(node, ctx):
            return  # round(exp(x) - 1): the last digits do not survive the rounding anyway
        spelled = ctx.spell("torch.expm1")
        fix = None
        if spelled is not None:
            x = ctx.source(value.producer.operand)
            fix = ctx.fix(
                self, "Use torch.expm1", [ctx.replace(node, f"{spelled[0]}({x})", absorb_parens=True), *spelled[1]]
            )
        ctx.report(self, node, "exp(x) - 1 loses precision where x may be small: use `torch.expm1(x)`", fix=fix)
