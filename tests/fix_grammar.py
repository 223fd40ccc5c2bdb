"""A grammar of loss programs for differential fix testing (``tests/fix_oracle.py`` runs them).

Every generated ``Case`` is one self-contained program whose ``compute(x, t, q, y, w, bw, s, z, pw)``
holds one site a fixable rule reports, written in a random spelling (import aliases, from-imports,
loss objects, ``self.`` attributes, helpers, variables, ``no_grad``/``detach``), with random keyword
or positional arguments and a dim on input of rank 1 to 4. With the program come:

- ``intended``: the maths the program means, spelled independently of the fixer (the canonical
  torch call, with every argument the grammar chose); the fixed program must compute it;
- ``expect``: "fix" (the fixer must fix it), "refuse" (it must not, and say ``reason``), or "any";
- ``rejected``: for a refusal, the naive rewrite, and ``wrong``: what makes it wrong
  ("raises", "nonfinite", "gradients" or "differs") on the ``witness`` ranks.

Inputs (see ``fix_oracle.make_inputs``): x, z logits with the class dim 1 (0 when 1-D); t index
targets; q probability targets over the class dim; y binary targets; w class weights (C,); bw
elementwise weights; s values in (-1, 1) (for log1p/expm1); pw a pos_weight over the last dim.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

ARGS = "x, t, q, y, w, bw, s, z, pw"
F_NAMES = (
    "softmax, log_softmax, cross_entropy, nll_loss, kl_div, binary_cross_entropy, "
    "binary_cross_entropy_with_logits, logsigmoid, softplus, sigmoid"
)


@dataclass
class Case:
    rule: str
    source: str
    intended: str | None
    expect: str  # "fix" | "refuse" | "any"
    rank: int
    dim: int | None = None  # the softmax (or normalising) dim, for masks
    reason: str | None = None
    rejected: str | None = None
    wrong: str | None = None  # how the rejected rewrite fails: raises | nonfinite | gradients | differs
    witness: tuple[int, ...] = ()  # ranks on which the rejected rewrite shows it
    masked: bool = False  # x carries -inf entries (never a whole slice along ``dim``)
    square: bool = False  # 2-D inputs are (C, C): a wrong broadcast runs instead of raising
    soft_y: bool = False
    # value-change: what the original computes in terms of the fixed value ``a`` (the documented
    # bound: log(p + eps) = log(exp(a) + eps), log(clamp(p, eps)) = max(a, log eps))
    bound: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{self.rule} rank={self.rank} expect={self.expect}\n{self.source}"


@dataclass
class Spelling:
    """How a program names torch: the import header and the three namespaces."""

    header: str
    F: str  # prefix of torch.nn.functional functions ("F.", "fn.", "" for from-imports)
    torch: str
    nn: str

    def f(self, name: str) -> str:
        return f"{self.F}{name}"


SPELLINGS = (
    Spelling("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n", "F.", "torch", "nn"),
    Spelling("import torch as th\nfrom torch import nn\nfrom torch.nn import functional as fn\n", "fn.", "th", "nn"),
    Spelling(f"import torch\nimport torch.nn as nn\nfrom torch.nn.functional import {F_NAMES}\n", "", "torch", "nn"),
    Spelling("import torch\nimport torch.nn\nimport torch.nn.functional\n", "torch.nn.functional.", "torch", "torch.nn"),
)

INTENDED_HEADER = "import torch\nimport torch.nn.functional as F\n\n\ndef compute(" + ARGS + "):\n    return "


class Builder:
    """One program: a prelude (classes, helpers, module objects), body lines and a return."""

    def __init__(self, rng: random.Random, sp: Spelling, rank: int):
        self.rng, self.sp, self.rank = rng, sp, rank
        self.prelude: list[str] = []
        self.lines: list[str] = []
        self.init_lines: list[str] = []  # for the self-attribute form
        self.use_class = False
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def bind(self, expr: str, *, context: str | None = None) -> str:
        """A variable holding ``expr`` (maybe made under a context manager)."""
        name = self.fresh("v")
        if context is not None:
            self.lines.append(f"with {context}:")
            self.lines.append(f"    {name} = {expr}")
        else:
            self.lines.append(f"{name} = {expr}")
        return name

    def attribute(self, expr: str) -> str:
        """``self.<name>`` set to ``expr`` in ``__init__``."""
        self.use_class = True
        name = self.fresh("m")
        self.init_lines.append(f"self.{name} = {expr}")
        return f"self.{name}"

    def program(self, result: str) -> str:
        body = [*self.lines, f"return {result}"]
        text = self.sp.header + "\n"
        if self.prelude:
            text += "\n" + "\n".join(self.prelude) + "\n\n"
        if self.use_class:
            base = f"{self.sp.nn}.Module"
            text += f"\nclass Model({base}):\n    def __init__(self, w, bw, pw):\n        super().__init__()\n"
            text += "".join(f"        {line}\n" for line in self.init_lines)
            text += f"\n    def forward(self, {ARGS}):\n"
            text += "".join(f"        {line}\n" for line in body)
            text += f"\n\ndef compute({ARGS}):\n    return Model(w, bw, pw)({ARGS})\n"
        else:
            text += f"\ndef compute({ARGS}):\n"
            text += "".join(f"    {line}\n" for line in body)
        return text


# --- pieces ---------------------------------------------------------------------------------------
def class_dim(rank: int) -> int:
    return 0 if rank == 1 else 1


def is_class_dim(dim: int, rank: int) -> bool:
    return dim % rank == class_dim(rank)


def valid_dims(rank: int) -> list[int]:
    return [d for d in (0, 1, -1, 2) if -rank <= d < rank]


def operand(b: Builder) -> tuple[str, str]:
    """(program text, intended text) of the logits expression."""
    choice = b.rng.randrange(5)
    if choice == 0:
        return "(x * 2.0)", "(x * 2.0)"
    if choice == 1:
        h = b.bind("x + 0.5")
        return h, "(x + 0.5)"
    return "x", "x"


def atom(text: str) -> str:
    return text if text.isidentifier() or text.startswith("(") else f"({text})"


def softmax(b: Builder, x: str, dim: int, *, op: str = "softmax", dtype: bool = False) -> str:
    """``op`` (softmax or log_softmax) of ``x`` over ``dim``, in a random spelling."""
    sp, rng = b.sp, b.rng
    dt = f"{sp.torch}.float64"
    forms = ["F", "F-kw", "torch", "method", "method-kw", "special", "layer", "attr"]
    if dtype:
        forms = ["F-kw", "torch-pos", "method-kw", "special"]
    form = rng.choice(forms)
    extra = f", dtype={dt}" if dtype else ""
    layer = "Softmax" if op == "softmax" else "LogSoftmax"
    if form == "F":
        return f"{sp.f(op)}({x}, {dim})"
    if form == "F-kw":
        return f"{sp.f(op)}({x}, dim={dim}{extra})"
    if form == "torch":
        return f"{sp.torch}.{op}({x}, {dim})"
    if form == "torch-pos":
        return f"{sp.torch}.{op}({x}, {dim}, {dt})"
    if form == "method":
        return f"{atom(x)}.{op}({dim})"
    if form == "method-kw":
        return f"{atom(x)}.{op}(dim={dim}{extra})"
    if form == "special":
        return f"{sp.torch}.special.{op}({x}, {dim}{extra})"
    if form == "layer":
        return f"{sp.nn}.{layer}(dim={dim})({x})"
    return f"{b.attribute(f'{sp.nn}.{layer}(dim={dim})')}({x})"


def sigmoid(b: Builder, x: str) -> str:
    sp = b.sp
    return b.rng.choice(
        [
            f"{sp.torch}.sigmoid({x})",
            f"{atom(x)}.sigmoid()",
            f"{sp.nn}.Sigmoid()({x})",
            f"{sp.torch}.special.expit({x})",
        ]
    )


def maybe_bound(b: Builder, expr: str, *, allow_no_grad: bool = True) -> tuple[str, str | None]:
    """``expr`` used directly or through a variable; (text, "no_grad" / "detach" / None)."""
    roll = b.rng.randrange(8)
    if roll < 4:
        return expr, None
    if roll < 6:
        return b.bind(expr), None
    if roll == 6 and allow_no_grad:
        return b.bind(expr, context=f"{b.sp.torch}.no_grad()"), "no_grad"
    return b.bind(f"{atom(expr)}.detach()"), "detach"


def call(func: str, positional: list[str], keywords: dict[str, str]) -> str:
    return f"{func}({', '.join([*positional, *(f'{k}={v}' for k, v in keywords.items())])})"


def ce_keywords(rng: random.Random, *, smoothing: bool, ignore: bool = True, weight: bool = True) -> dict[str, str]:
    kw: dict[str, str] = {}
    if weight and rng.random() < 0.4:
        kw["weight"] = "w"
    if ignore and rng.random() < 0.3:
        kw["ignore_index"] = rng.choice(["0", "-100"])
    if rng.random() < 0.5:
        kw["reduction"] = repr(rng.choice(["none", "sum", "mean"]))
    if smoothing and rng.random() < 0.25:
        kw["label_smoothing"] = "0.1"
    return kw


CE_POSITIONAL = ("weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing")


def loss_call(b: Builder, functional: str, module: str, inp: str, target: str, kw: dict[str, str]) -> tuple[str, str]:
    """The loss applied to (inp, target) in a random spelling: functional (keywords or a positional
    weight), a loss object (inline, local, module level, on ``self``) or a helper. Returns (text, form)."""
    rng, sp = b.rng, b.sp
    form = rng.choice(["functional", "functional", "positional", "inline", "local", "module", "self", "helper"])
    if form == "positional" and "weight" in kw and module == "CrossEntropyLoss":
        rest = {k: v for k, v in kw.items() if k != "weight"}
        return call(sp.f(functional), [inp, target, "w"], rest), form
    if form in ("functional", "positional"):
        return call(sp.f(functional), [inp, target], kw), "functional"
    ctor = call(f"{sp.nn}.{module}", [], kw)
    if form == "inline":
        return f"{ctor}({inp}, {target})", form
    if form == "local":
        crit = b.bind(ctor)
        return f"{crit}({inp}, {target})", form
    tensors = any(v in ("w", "bw", "pw") for v in kw.values())
    if form == "module" and not tensors:
        name = b.fresh("criterion")
        b.prelude.append(f"{name} = {ctor}")
        return f"{name}({inp}, {target})", form
    if form == "self":
        return f"{b.attribute(ctor)}({inp}, {target})", form
    if tensors:  # a helper or module-level object would not see the tensor
        return call(sp.f(functional), [inp, target], kw), "functional"
    helper = b.fresh("loss_fn")
    b.prelude.append(f"def {helper}(inp, tgt):\n    return {call(sp.f(functional), ['inp', 'tgt'], kw)}")
    return f"{helper}({inp}, {target})", "helper"


# --- sites ----------------------------------------------------------------------------------------
def site_softmax_into_loss(b: Builder, rule: str) -> Case:
    """LGT101 (cross-entropy), LGT103 (nll_loss), LGT303 (log_softmax into cross-entropy)."""
    rng, rank = b.rng, b.rank
    dim = rng.choice(valid_dims(rank)) if rng.random() < 0.4 else class_dim(rank)
    if rank >= 2 and rng.random() < 0.5:
        dim = 1
    dtype = rng.random() < (0.2 if rule == "LGT103" else 0.08)
    x, x_intended = operand(b)
    op = "log_softmax" if rule == "LGT303" else "softmax"
    probs, context = maybe_bound(b, softmax(b, x, dim, op=op, dtype=dtype))
    nll = rule == "LGT103"
    probability_targets = not nll and rng.random() < 0.2
    kw = ce_keywords(rng, smoothing=not nll, ignore=not probability_targets, weight=not dtype)
    target = "q" if probability_targets else "t"
    functional, module = ("nll_loss", "NLLLoss") if nll else ("cross_entropy", "CrossEntropyLoss")
    text, form = loss_call(b, functional, module, probs, target, kw)
    logits = x_intended if context != "detach" else f"{atom(x_intended)}.detach()"
    if nll:
        dt = ", dtype=torch.float64" if dtype else ""
        intended = call("F.nll_loss", [f"F.log_softmax({logits}, {dim}{dt})", target], kw)
    else:
        intended = call("F.cross_entropy", [logits, target], kw)
    if context == "no_grad":
        intended = f"_no_grad(lambda: {intended})"
    case = Case(rule, b.program(text), intended, "fix", rank, dim=dim)
    if context == "no_grad":
        case.expect, case.reason, case.wrong, case.witness = "refuse", "with", "gradients", (rank,)
        case.rejected, case.intended = intended.replace("_no_grad(lambda: ", "", 1)[:-1], None
    elif not (dim == 1 and rank >= 2):
        if rank == 1:
            case.expect = "any"  # dim 0 or -1 on input of unknown rank
        else:  # the class dim for some ranks only (dim=-1: 2-D): unknown statically
            case.expect, case.reason, case.intended = "refuse", "not known to be the class dim", None
            inner = logits if not nll else f"F.log_softmax({logits}, {dim})"
            case.rejected = call(f"F.{functional}", [inner, target], kw)
            case.witness = tuple(r for r in (2, 3, 4) if -r <= dim < r and not is_class_dim(dim, r))
            case.wrong = "differs"
            if not case.witness:
                case.expect = "refuse-unchecked"
    if dtype and not nll and case.expect == "fix":
        case.expect, case.reason = "refuse-unchecked", "dtype"
    return case


def site_distribution_into_ce(b: Builder) -> Case:
    """LGT102: a normalised tensor (or exp of log-probabilities) passed to cross-entropy."""
    rng, rank = b.rng, b.rank
    cd = class_dim(rank)
    if rng.random() < 0.5:
        counts = b.bind("x.abs() + 0.1")
        probs_intended = f"((x.abs() + 0.1) / (x.abs() + 0.1).sum({cd}, keepdim=True))"
        log_probs_intended = f"torch.log({probs_intended})"
        probs = b.bind(f"{counts} / {counts}.sum({cd}, keepdim=True)")
    else:
        lp = b.bind(f"{b.sp.f('log_softmax')}(x, {cd})")
        probs_intended = f"F.log_softmax(x, {cd}).exp()"
        log_probs_intended = f"F.log_softmax(x, {cd})"  # the log of these probabilities
        probs = f"{lp}.exp()"
    # Probability targets the fixer can see (a parameter's kind is unknown: the fix assumes index
    # targets, and nll_loss raises on a probability target).
    probability_targets = rng.random() < 0.15
    kw = ce_keywords(rng, smoothing=True, ignore=not probability_targets)
    target = b.bind(f"{b.sp.f('softmax')}(z, {cd})") if probability_targets else "t"
    target_intended = f"F.softmax(z, {cd})" if probability_targets else "t"
    text, form = loss_call(b, "cross_entropy", "CrossEntropyLoss", probs, target, kw)
    nll_kw = {k: v for k, v in kw.items() if k != "label_smoothing"}
    intended = call("F.nll_loss", [log_probs_intended, target_intended], nll_kw)
    case = Case("LGT102", b.program(text), intended, "fix", rank, dim=cd)
    if rank == 1:
        case.expect = "any"
    if form == "helper":
        case.expect, case.intended = "any", None if "label_smoothing" in kw or probability_targets else intended
    elif rank == 1 and ("label_smoothing" in kw or probability_targets):
        case.expect, case.intended = "refuse-unchecked", None  # and dim 0 of input of unknown rank
    elif "label_smoothing" in kw:
        case.expect, case.reason, case.intended = "refuse", "label_smoothing", None
        case.rejected = call("F.nll_loss", [f"torch.log({probs_intended})", target_intended], kw)
        case.wrong, case.witness = "raises", (rank,)
    elif probability_targets:
        case.expect, case.reason, case.intended = "refuse", "probability targets", None
        case.rejected = call("F.nll_loss", [f"torch.log({probs_intended})", target_intended], kw)
        case.wrong, case.witness = "raises", (rank,)
    elif form in ("local", "self", "inline", "module") and "w" in kw.values():
        case.expect = "any"  # a tensor argument of the object: evaluated at the call after the fix
    elif form in ("self", "helper", "module"):
        case.expect = "any"
    return case


def site_kl_div(b: Builder, rule: str) -> Case:
    """LGT104 (softmax input), LGT105 (log target without log_target=True), LGT108 (reduction='mean')."""
    rng, rank = b.rng, b.rank
    dim = rng.choice(valid_dims(rank)) if rule == "LGT104" else class_dim(rank)
    x, x_intended = operand(b)
    reduction = rng.choice([None, "mean", "batchmean", "sum", "none"]) if rule != "LGT108" else rng.choice([None, "mean"])
    kw = {"reduction": repr(reduction)} if reduction is not None else {}
    if rule == "LGT104":
        inp = maybe_bound(b, softmax(b, x, dim), allow_no_grad=False)[0]
        inp_intended = f"F.log_softmax({x_intended}, {dim})"
        target, target_intended, log_target = "q", "q", False
    else:
        inp = softmax(b, x, dim, op="log_softmax")
        inp_intended = f"F.log_softmax({x_intended}, {dim})"
        if rule == "LGT105":
            target = rng.choice([softmax(b, "z", dim, op="log_softmax"), f"{b.sp.torch}.log(q)"])
            target_intended = f"F.log_softmax(z, {dim})" if "z" in target else "torch.log(q)"
            log_target = True
        else:
            target, target_intended, log_target = "q", "q", False
    text, form = loss_call(b, "kl_div", "KLDivLoss", inp, target, kw)
    intended_kw = dict(kw)
    if reduction in (None, "mean"):
        intended_kw["reduction"] = "'batchmean'"  # LGT108 applies with --unsafe-fixes
    if log_target:
        intended_kw["log_target"] = "True"
    intended = call("F.kl_div", [inp_intended, target_intended], intended_kw)
    case = Case(rule, b.program(text), intended, "fix", rank, dim=dim)
    if form in ("local", "self", "module", "helper"):
        case.expect = "any"  # a shared loss object (or a helper) is reported without some fixes
    return case


def site_sigmoid_into_bce(b: Builder, rule: str) -> Case:
    """LGT106 (bce_with_logits of sigmoid), LGT203 (bce of sigmoid)."""
    rng, rank = b.rng, b.rank
    x, x_intended = operand(b)
    inp, context = maybe_bound(b, sigmoid(b, x))
    kw: dict[str, str] = {}
    if rng.random() < 0.3:
        kw["weight"] = "bw"
    if rule == "LGT106" and rng.random() < 0.3:
        kw["pos_weight"] = "pw"
    if rng.random() < 0.5:
        kw["reduction"] = repr(rng.choice(["none", "sum", "mean"]))
    if rule == "LGT106":
        text, form = loss_call(b, "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", inp, "y", kw)
    else:
        text, form = loss_call(b, "binary_cross_entropy", "BCELoss", inp, "y", kw)
    logits = x_intended if context != "detach" else f"{atom(x_intended)}.detach()"
    intended = call("F.binary_cross_entropy_with_logits", [logits, "y"], kw)
    if context == "no_grad":
        intended = f"_no_grad(lambda: {intended})"
    case = Case(rule, b.program(text), intended, "fix", rank, soft_y=rng.random() < 0.3)
    if context == "no_grad":
        case.expect = "refuse-unchecked"
    elif rule == "LGT203" and form in ("self", "module", "helper"):
        case.expect = "any"
    return case


def site_log_softmax(b: Builder, rule: str) -> Case:
    """LGT201 (log of softmax), LGT202 (log of softmax + eps)."""
    rng, rank = b.rng, b.rank
    dim = rng.choice(valid_dims(rank))
    x, x_intended = operand(b)
    dtype = rule == "LGT201" and rng.random() < 0.15
    probs, context = maybe_bound(b, softmax(b, x, dim, dtype=dtype))
    sp = b.sp
    bound = None
    if rule == "LGT201":
        inner = probs
    else:
        eps = rng.choice(["1e-8", "1e-6"])
        form = rng.randrange(3)
        inner = [f"{probs} + {eps}", f"{atom(probs)}.clamp(min={eps})", f"{sp.torch}.clamp({probs}, {eps}, 1.0)"][form]
        bound = f"torch.log(torch.exp(a) + {eps})" if form == 0 else f"torch.clamp(a, min=math.log({eps}))"
    logged = rng.choice([f"{sp.torch}.log({inner})", f"({inner}).log()" if "+" in inner else f"{atom(inner)}.log()"])
    logits = x_intended if context != "detach" else f"{atom(x_intended)}.detach()"
    dt = ", dtype=torch.float64" if dtype else ""
    intended = f"F.log_softmax({logits}, {dim}{dt})"
    multiplied = rule == "LGT202" and rng.random() < 0.3
    if multiplied:
        cd = class_dim(rank)
        text = f"-(q * {logged}).sum({cd}).mean()"
        intended = f"-(q * {intended}).sum({cd}).mean()"
    else:
        text = logged
    if context == "no_grad":
        intended = f"_no_grad(lambda: {intended})"
    case = Case(rule, b.program(text), intended, "fix", rank, dim=dim, masked=rng.random() < 0.3, bound=bound)
    if context == "no_grad":
        case.expect, case.reason = "refuse", "with"
        case.rejected, case.wrong, case.witness = f"F.log_softmax({x_intended}, {dim}{dt})", "gradients", (rank,)
        if multiplied:
            case.rejected = f"-(q * {case.rejected}).sum({class_dim(rank)}).mean()"
        case.intended = None
    elif multiplied:
        case.expect, case.reason, case.intended = "refuse", "multiplied", None
        case.rejected, case.wrong, case.masked = intended, "nonfinite", True
        case.witness = (rank,)
        if dim % rank != class_dim(rank):
            case.expect = "refuse-unchecked"  # the mask is kept off a whole slice along dim, not the class dim
    return case


def site_log_sigmoid(b: Builder) -> Case:
    rng = b.rng
    x, x_intended = operand(b)
    sig, context = maybe_bound(b, sigmoid(b, x), allow_no_grad=False)
    t = b.sp.torch
    negate = rng.random() < 0.5
    eps = rng.random() < 0.25
    inner = f"1 - {sig}" if negate else sig
    if eps:
        inner = f"{inner} + 1e-8"
    text = rng.choice([f"{t}.log({inner})", f"({inner}).log()"])
    logits = x_intended if context != "detach" else f"{atom(x_intended)}.detach()"
    intended = f"F.logsigmoid(-({logits}))" if negate else f"F.logsigmoid({logits})"
    case = Case("LGT204", b.program(text), intended, "fix", b.rank)
    if eps:
        case.bound = "torch.log(torch.exp(a) + 1e-8)"
    return case


def site_logsumexp(b: Builder) -> Case:
    rng, rank = b.rng, b.rank
    x, x_intended = operand(b)
    t = b.sp.torch
    dim = rng.choice([*valid_dims(rank), None, "None"])
    keepdim = dim not in (None, "None") and rng.random() < 0.3
    exp, context = maybe_bound(b, rng.choice([f"{t}.exp({x})", f"{atom(x)}.exp()"]), allow_no_grad=False)
    args = [] if dim is None else [f"dim={dim}" if rng.random() < 0.5 else str(dim)]
    if keepdim:
        args.append("keepdim=True")
    dtype = rng.random() < 0.1
    if dtype:
        args.append(f"dtype={t}.float64")
    summed = rng.choice([f"{t}.sum({', '.join([exp, *args])})", f"{atom(exp)}.sum({', '.join(args)})"])
    text = rng.choice([f"{t}.log({summed})", f"{summed}.log()"])
    all_dims = dim in (None, "None")
    intended = (
        f"torch.logsumexp({x_intended}, dim=tuple(range({x_intended}.ndim)))"
        if all_dims
        else f"torch.logsumexp({x_intended}, {dim}{', keepdim=True' if keepdim else ''})"
    )
    case = Case("LGT205", b.program(text), intended, "fix", rank)
    if dtype:
        case.expect, case.reason, case.intended = "refuse-unchecked", "dtype", None
    elif context == "detach":
        case.expect, case.reason = "refuse-unchecked", None  # the detach hides the logits
    elif all_dims and not x.isidentifier():
        case.expect, case.reason = "refuse-unchecked", "evaluated twice"
    elif all_dims:
        case.expect = "any"
    return case


def site_manual_softmax(b: Builder) -> Case:
    rng, rank = b.rng, b.rank
    dim = rng.choice(valid_dims(rank))
    x, x_intended = operand(b)
    t = b.sp.torch
    keepdim = rng.random() < 0.75
    kd = ", keepdim=True" if keepdim else ""
    e = b.bind(f"{t}.exp({x})") if rng.random() < 0.5 else None
    num = e if e else f"{t}.exp({x})"
    den = rng.choice([f"{atom(num)}.sum(dim={dim}{kd})", f"{t}.sum({num}, {dim}{kd})"])
    text = f"{num} / {den}"
    intended = f"torch.softmax({x_intended}, dim={dim})"
    case = Case("LGT206", b.program(text), intended, "fix", rank, dim=dim)
    if not keepdim:
        if dim % rank != 0 and rank > 1:
            # on square input the division runs and normalises the wrong way: no fix, and a true reason
            case.rank, case.square, case.intended = 2, True, None
            case.expect, case.reason, case.wrong, case.witness = "refuse", "keepdim", "differs", (2,)
            case.rejected = intended
            return case
        # exp(x) / exp(x).sum(0) broadcasts right for every rank: softmax over dim 0
        case.expect = "fix" if dim == 0 else "any"
    return case


def site_softplus(b: Builder) -> Case:
    rng = b.rng
    x, x_intended = operand(b)
    t = b.sp.torch
    exp = rng.choice([f"{t}.exp({x})", f"{atom(x)}.exp()"])
    text = rng.choice([f"{t}.log(1 + {exp})", f"{t}.log({exp} + 1)", f"{t}.log1p({exp})", f"({exp} + 1.0).log()"])
    return Case("LGT207", b.program(text), f"F.softplus({x_intended})", "fix", b.rank)


def site_log1p_expm1(b: Builder) -> Case:
    rng = b.rng
    t = b.sp.torch
    v = rng.choice(["s", "(s * 0.5)"])
    if rng.random() < 0.5:
        text = rng.choice([f"{t}.log(1 + {v})", f"{t}.log({v} + 1.0)"])
        intended = f"torch.log1p({v})"
    else:
        text = rng.choice([f"{t}.exp({v}) - 1", f"-1 + {t}.exp({v})", f"2 * ({atom(v)}.exp() - 1)"])
        intended = f"torch.expm1({v})" if not text.startswith("2") else f"2 * torch.expm1({v})"
    return Case("LGT208", b.program(text), intended, "fix", b.rank)


def site_manual_ce(b: Builder) -> Case:
    rng, rank = b.rng, b.rank
    cd = class_dim(rank)
    dim = cd if rng.random() < 0.7 else rng.choice(valid_dims(rank))
    x, x_intended = operand(b)
    t = b.sp.torch
    stable = rng.random() < 0.4
    logp = softmax(b, x, dim, op="log_softmax") if stable else f"{t}.log({softmax(b, x, dim)})"
    logp, context = maybe_bound(b, logp, allow_no_grad=False)
    broadcast = rank >= 2 and rng.random() < 0.3
    target = "q" if not broadcast else ("w" if rank == 2 else f"w.reshape(-1{', 1' * (rank - 2)})")
    product = rng.choice([f"{target} * {logp}", f"{logp} * {target}"])
    text = rng.choice(
        [
            f"-({product}).sum({dim}).mean()",
            f"-{t}.sum({product}, dim={dim}).mean()",
            f"{t}.mean({t}.sum(-{target} * {logp}, dim={dim}))" if not broadcast else f"-({product}).sum(dim={dim}).mean()",
        ]
    )
    logits = x_intended if context != "detach" else f"{atom(x_intended)}.detach()"
    intended = f"-({target} * F.log_softmax({logits}, {dim})).sum({dim}).mean()"
    case = Case("LGT209", b.program(text), intended, "fix", rank, dim=dim)
    if rank == 1:
        # .mean() of a 0-d sum: the loss of one sample
        case.expect = "any"
    if not is_class_dim(dim, rank) or (dim != 1 and rank > 1):
        case.expect, case.reason = "refuse", "not known to be the class dim"
        case.rejected = f"F.cross_entropy({logits}, {target})"
        case.witness = tuple(r for r in (2, 3, 4) if -r <= dim < r and not is_class_dim(dim, r))
        case.wrong = "differs"
        if not case.witness:
            case.expect = "refuse-unchecked"
    if broadcast and not x.isidentifier():
        case.expect = "any"
    if context == "detach" and case.expect == "refuse":
        case.expect, case.reason = "refuse-unchecked", None  # the detach hides the logits as well
    return case


def site_argmax(b: Builder) -> Case:
    rng, rank = b.rng, b.rank
    dim = rng.choice(valid_dims(rank))
    other = [d for d in valid_dims(rank) if d % rank != dim % rank]
    if other and rng.random() < 0.2:  # argmax over another dim than the softmax's: the fix is wrong
        probs = softmax(b, "x", dim)
        text = f"{b.sp.torch}.argmax({probs}, {rng.choice(other)})"
        return Case("LGT302", b.program(text), None, "any", rank, dim=dim)
    x, x_intended = operand(b)
    probs = maybe_bound(b, softmax(b, x, dim), allow_no_grad=False)[0]
    keep = ", keepdim=True" if rng.random() < 0.2 else ""
    t = b.sp.torch
    text = rng.choice([f"{t}.argmax({probs}, {dim}{keep})", f"{atom(probs)}.argmax({dim}{keep})", f"{atom(probs)}.argmax(dim={dim}{keep})"])
    return Case("LGT302", b.program(text), f"torch.argmax({x_intended}, {dim}{keep})", "fix", rank, dim=dim)


SITES = {
    "LGT101": lambda b: site_softmax_into_loss(b, "LGT101"),
    "LGT102": site_distribution_into_ce,
    "LGT103": lambda b: site_softmax_into_loss(b, "LGT103"),
    "LGT104": lambda b: site_kl_div(b, "LGT104"),
    "LGT105": lambda b: site_kl_div(b, "LGT105"),
    "LGT106": lambda b: site_sigmoid_into_bce(b, "LGT106"),
    "LGT108": lambda b: site_kl_div(b, "LGT108"),
    "LGT201": lambda b: site_log_softmax(b, "LGT201"),
    "LGT202": lambda b: site_log_softmax(b, "LGT202"),
    "LGT203": lambda b: site_sigmoid_into_bce(b, "LGT203"),
    "LGT204": site_log_sigmoid,
    "LGT205": site_logsumexp,
    "LGT206": site_manual_softmax,
    "LGT207": site_softplus,
    "LGT208": site_log1p_expm1,
    "LGT209": site_manual_ce,
    "LGT302": site_argmax,
    "LGT303": lambda b: site_softmax_into_loss(b, "LGT303"),
}


def generate(rng: random.Random, rule: str | None = None) -> Case:
    rule = rule or rng.choice(sorted(SITES))
    rank = rng.choice([1, 2, 2, 3, 4])
    builder = Builder(rng, rng.choice(SPELLINGS), rank)
    case = SITES[rule](builder)
    if ".detach()" in case.source and case.expect == "fix":
        case.expect = "any"  # a fix would have to keep the detach; refusing is as right
    elif ".detach()" in case.source and case.expect.startswith("refuse"):
        case.expect, case.reason = "refuse-unchecked", None  # two reasons hold
    if case.dim is not None and not case.masked and rng.random() < 0.2:
        case.masked = True  # -inf logits (a mask), one kept per slice along the dim
    if case.masked and case.dim is None:
        case.masked = False
    return case


def intended_source(case: Case) -> str | None:
    if case.intended is None:
        return None
    return NO_GRAD + INTENDED_HEADER + case.intended + "\n"


def rejected_source(case: Case) -> str | None:
    if case.rejected is None:
        return None
    return NO_GRAD + INTENDED_HEADER + case.rejected + "\n"


NO_GRAD = "def _no_grad(f):\n    import torch\n\n    with torch.no_grad():\n        return f()\n\n\n"
