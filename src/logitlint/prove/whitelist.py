"""The torch functions, layers and tensor methods the prover may call (nothing else is ever run).

Built from the analysis' torch tables plus a short list of pure tensor operations that loss code
around a fix commonly uses. Everything here only computes on its arguments: no I/O, no global state.
"""

from __future__ import annotations

from logitlint.analysis.torchapi import (
    KIND_PRESERVING_RESHAPE,
    KIND_PRESERVING_SAME_AXES,
    LAYERS,
    LOSSES,
    PRODUCERS,
    SIGNATURES,
    canonical,
)

_PURE_FUNCTIONS = frozenset(
    {
        "torch.abs",
        "torch.sqrt",
        "torch.pow",
        "torch.square",
        "torch.neg",
        "torch.where",
        "torch.maximum",
        "torch.minimum",
        "torch.max",
        "torch.min",
        "torch.matmul",
        "torch.mul",
        "torch.add",
        "torch.sub",
        "torch.div",
        "torch.zeros_like",
        "torch.ones_like",
        "torch.full_like",
        "torch.exp2",
        "torch.log2",
        "torch.log10",
        "torch.tanh",
        "torch.nn.functional.relu",
        "torch.nn.functional.one_hot",
        "torch.special.logsumexp",
        "torch.special.logit",
        "torch.logit",
        "torch.xlogy",
        "torch.special.xlogy",
        "torch.gather",
        "torch.stack",
        "torch.cat",
    }
)

FUNCTIONS = frozenset(
    set(SIGNATURES)
    | set(PRODUCERS)
    | set(LAYERS)
    | {spec.functional for spec in LOSSES}
    | {spec.module for spec in LOSSES}
    | _PURE_FUNCTIONS
) - {"torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor"}

# Tensor methods (called on a value that is a torch.Tensor).
METHODS = frozenset(
    {name.rsplit(".", 1)[1] for name in FUNCTIONS if name.startswith("torch.Tensor.")}
    | {
        "sum",
        "mean",
        "log",
        "exp",
        "log1p",
        "expm1",
        "sigmoid",
        "softmax",
        "log_softmax",
        "clamp",
        "clamp_min",
        "clip",
        "argmax",
        "max",
        "min",
        "abs",
        "pow",
        "sqrt",
        "neg",
        "logsumexp",
        "masked_fill",
        "logit",
        "size",
        "dim",
    }
    # the analysis' own tables of reshaping and casting methods; device moves and in-place
    # flags are left out (they are not pure tensor operations)
    | KIND_PRESERVING_RESHAPE
    | (KIND_PRESERVING_SAME_AXES - {"cuda", "cpu", "type", "requires_grad_", "detach_"})
)
# Attributes of a tensor that are plain data.
ATTRIBUTES = frozenset({"ndim", "shape", "T", "dtype", "mT"})
# Builtins with no side effects that fixes emit (``dim=tuple(range(x.ndim))``).
BUILTINS = frozenset({"tuple", "range", "len", "float", "int", "abs", "min", "max"})


def allowed(qualname: str) -> bool:
    return canonical(qualname) in FUNCTIONS
