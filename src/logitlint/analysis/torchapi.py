"""What logitlint knows about the torch API, keyed by canonical qualified names.

Only this module spells torch's signatures; the rest of the analysis asks it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Parameters of the calls we read, in positional order; "*" starts keyword-only parameters.
SIGNATURES: dict[str, tuple[str, ...]] = {
    # F.softmax's third positional is _stacklevel, not dtype (FIX-SEMANTICS trap 1).
    "torch.nn.functional.softmax": ("input", "dim", "_stacklevel", "dtype"),
    "torch.nn.functional.log_softmax": ("input", "dim", "_stacklevel", "dtype"),
    "torch.nn.functional.softmin": ("input", "dim", "_stacklevel", "dtype"),
    "torch.softmax": ("input", "dim", "dtype"),
    "torch.log_softmax": ("input", "dim", "dtype"),
    "torch.special.softmax": ("input", "dim", "*", "dtype"),
    "torch.special.log_softmax": ("input", "dim", "*", "dtype"),
    "torch.Tensor.softmax": ("dim", "dtype"),
    "torch.Tensor.log_softmax": ("dim", "dtype"),
    "torch.sigmoid": ("input", "*", "out"),
    "torch.special.expit": ("input", "*", "out"),
    "torch.nn.functional.sigmoid": ("input",),
    "torch.nn.functional.logsigmoid": ("input",),
    "torch.Tensor.sigmoid": (),
    "torch.log": ("input", "*", "out"),
    "torch.log1p": ("input", "*", "out"),
    "torch.special.log1p": ("input", "*", "out"),
    "torch.exp": ("input", "*", "out"),
    "torch.special.exp": ("input", "*", "out"),
    "torch.expm1": ("input", "*", "out"),
    "torch.special.expm1": ("input", "*", "out"),
    "torch.Tensor.log": (),
    "torch.Tensor.log1p": (),
    "torch.Tensor.exp": (),
    "torch.Tensor.expm1": (),
    "torch.sum": ("input", "dim", "keepdim", "*", "dtype", "out"),
    "torch.Tensor.sum": ("dim", "keepdim", "dtype"),
    "torch.mean": ("input", "dim", "keepdim", "*", "dtype", "out"),
    "torch.Tensor.mean": ("dim", "keepdim", "dtype"),
    "torch.argmax": ("input", "dim", "keepdim"),
    "torch.Tensor.argmax": ("dim", "keepdim"),
    "torch.logsumexp": ("input", "dim", "keepdim", "*", "out"),
    "torch.clamp": ("input", "min", "max", "*", "out"),
    "torch.clip": ("input", "min", "max", "*", "out"),
    "torch.Tensor.clamp": ("min", "max"),
    "torch.Tensor.clip": ("min", "max"),
    "torch.Tensor.clamp_min": ("min",),
    "torch.clamp_min": ("input", "min"),
    "torch.nn.functional.cross_entropy": (
        "input",
        "target",
        "weight",
        "size_average",
        "ignore_index",
        "reduce",
        "reduction",
        "label_smoothing",
    ),
    "torch.nn.functional.nll_loss": (
        "input",
        "target",
        "weight",
        "size_average",
        "ignore_index",
        "reduce",
        "reduction",
    ),
    "torch.nn.functional.kl_div": (
        "input",
        "target",
        "size_average",
        "reduce",
        "reduction",
        "log_target",
    ),
    "torch.nn.functional.binary_cross_entropy": (
        "input",
        "target",
        "weight",
        "size_average",
        "reduce",
        "reduction",
    ),
    "torch.nn.functional.binary_cross_entropy_with_logits": (
        "input",
        "target",
        "weight",
        "size_average",
        "reduce",
        "reduction",
        "pos_weight",
    ),
    "torch.nn.CrossEntropyLoss": (
        "weight",
        "size_average",
        "ignore_index",
        "reduce",
        "reduction",
        "label_smoothing",
    ),
    "torch.nn.NLLLoss": ("weight", "size_average", "ignore_index", "reduce", "reduction"),
    "torch.nn.KLDivLoss": ("size_average", "reduce", "reduction", "log_target"),
    "torch.nn.BCELoss": ("weight", "size_average", "reduce", "reduction"),
    "torch.nn.BCEWithLogitsLoss": ("weight", "size_average", "reduce", "reduction", "pos_weight"),
    "torch.nn.Softmax": ("dim",),
    "torch.nn.LogSoftmax": ("dim",),
    "torch.nn.Softmin": ("dim",),
    "torch.nn.Sigmoid": (),
    "torch.nn.LogSigmoid": (),
    "torch.nn.functional.softplus": ("input", "beta", "threshold"),
    "torch.tensor": ("data", "*", "dtype", "device", "requires_grad", "pin_memory"),
    "torch.as_tensor": ("data", "dtype", "device"),
    "torch.Tensor": ("data",),
    "torch.FloatTensor": ("data",),
    "torch.DoubleTensor": ("data",),
    "torch.HalfTensor": ("data",),
}

# Loss call signatures: the module form's call takes (input, target).
LOSS_CALL_SIGNATURE = ("input", "target")


@dataclass(frozen=True)
class LossSpec:
    """A loss that expects a particular kind of input."""

    key: str  # cross_entropy | nll_loss | kl_div | bce | bce_with_logits
    functional: str  # qualified name of the functional form
    module: str  # qualified name of the module form
    expects: str  # what the input must be: logits | log-probabilities | probabilities


LOSSES: tuple[LossSpec, ...] = (
    LossSpec("cross_entropy", "torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss", "logits"),
    LossSpec("nll_loss", "torch.nn.functional.nll_loss", "torch.nn.NLLLoss", "log-probabilities"),
    LossSpec("kl_div", "torch.nn.functional.kl_div", "torch.nn.KLDivLoss", "log-probabilities"),
    LossSpec("bce", "torch.nn.functional.binary_cross_entropy", "torch.nn.BCELoss", "probabilities"),
    LossSpec(
        "bce_with_logits",
        "torch.nn.functional.binary_cross_entropy_with_logits",
        "torch.nn.BCEWithLogitsLoss",
        "logits",
    ),
)
LOSS_BY_FUNCTIONAL = {spec.functional: spec for spec in LOSSES}
LOSS_BY_MODULE = {spec.module: spec for spec in LOSSES}
LOSS_BY_KEY = {spec.key: spec for spec in LOSSES}

# Producers of probabilities / log-probabilities, by canonical name -> (op, namespace).
# op: softmax | log_softmax | softmin | sigmoid | logsigmoid
PRODUCERS: dict[str, tuple[str, str]] = {
    "torch.nn.functional.softmax": ("softmax", "functional"),
    "torch.softmax": ("softmax", "torch"),
    "torch.special.softmax": ("softmax", "special"),
    "torch.Tensor.softmax": ("softmax", "method"),
    "torch.nn.functional.log_softmax": ("log_softmax", "functional"),
    "torch.log_softmax": ("log_softmax", "torch"),
    "torch.special.log_softmax": ("log_softmax", "special"),
    "torch.Tensor.log_softmax": ("log_softmax", "method"),
    "torch.nn.functional.softmin": ("softmin", "functional"),
    "torch.sigmoid": ("sigmoid", "torch"),
    "torch.special.expit": ("sigmoid", "special"),
    "torch.nn.functional.sigmoid": ("sigmoid", "functional"),
    "torch.Tensor.sigmoid": ("sigmoid", "method"),
    "torch.nn.functional.logsigmoid": ("logsigmoid", "functional"),
}

# nn layers that produce probabilities when called.
LAYERS: dict[str, str] = {
    "torch.nn.Softmax": "softmax",
    "torch.nn.LogSoftmax": "log_softmax",
    "torch.nn.Softmin": "softmin",
    "torch.nn.Sigmoid": "sigmoid",
    "torch.nn.LogSigmoid": "logsigmoid",
}
SEQUENTIAL = "torch.nn.Sequential"
# Wrappers that return (something that calls) the module they are given.
MODULE_WRAPPERS = frozenset(
    {
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.compile",
        "torch.jit.script",
    }
)
# Module methods that return the module itself; those that are also tensor methods (`to`, `float`, ...)
# keep what the tensor holds.
MODULE_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_", "type"})
MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "pytorch_lightning.LightningModule",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
    }
)

# Tensor methods that keep what a tensor holds. "same_axes": the dims keep their meaning.
KIND_PRESERVING_SAME_AXES = frozenset(
    {
        "detach",
        "float",
        "double",
        "half",
        "bfloat16",
        "to",
        "cuda",
        "cpu",
        "clone",
        "contiguous",
        "type",
        "type_as",
        "requires_grad_",
        "detach_",
    }
)
KIND_PRESERVING_RESHAPE = frozenset(
    {
        "view",
        "reshape",
        "view_as",
        "reshape_as",
        "squeeze",
        "unsqueeze",
        "gather",
        "flatten",
        "permute",
        "transpose",
        "expand",
        "expand_as",
        "index_select",
        "masked_select",
        "t",
    }
)


# In-place methods: after ``p.mul_(...)`` p no longer holds what it held.
def is_inplace_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_") and name not in ("requires_grad_", "detach_")


# Constructors that build a tensor from a literal.
# Whole numbers (``log(1 + n)`` loses nothing): functions that make them whatever their input, tensor
# methods that do, and functions and methods that keep them whole.
WHOLE_MAKERS = frozenset(
    {
        "torch.floor",
        "torch.ceil",
        "torch.round",  # without decimals=
        "torch.trunc",
        "torch.fix",
        "torch.arange",
        "torch.randint",
        "torch.randint_like",
        "torch.randperm",
        "torch.bincount",
        "torch.count_nonzero",
        "torch.argmax",
        "torch.argmin",
        "torch.argsort",
        "torch.searchsorted",
        "torch.bucketize",
    }
)
WHOLE_METHODS = frozenset(
    {"floor", "ceil", "round", "trunc", "fix", "long", "int", "short", "byte", "argmax", "argmin", "argsort"}
)
WHOLE_KEEPING = frozenset({"torch.abs", "torch.absolute", "torch.neg", "torch.negative", "torch.sign", "torch.cumsum"})
WHOLE_KEEPING_METHODS = frozenset({"abs", "absolute", "neg", "negative", "sign", "cumsum", "sum", "flip", "roll"})
# Sequences of tensors: ``stack``/``cat`` join them into one, ``meshgrid`` spreads them into several.
JOINS = frozenset({"torch.stack", "torch.cat", "torch.concat", "torch.concatenate", "torch.hstack", "torch.vstack"})
SPREADS = frozenset({"torch.meshgrid", "torch.broadcast_tensors"})
UNIQUE = {
    "torch.unique": ("input", "sorted", "return_inverse", "return_counts", "dim"),
    "torch.unique_consecutive": ("input", "return_inverse", "return_counts", "dim"),
}

LITERAL_TENSORS = frozenset(
    {"torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor"}
)
# Constructors whose positional size arguments give the rank.
SIZED_CONSTRUCTORS = frozenset({"torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn", "torch.full"})

# Prefixes under which torch re-exports the same objects.
_ALIASES = (
    ("torch.functional.", "torch."),
    ("torch._C._nn.", "torch.nn.functional."),
    ("torch._tensor.Tensor.", "torch.Tensor."),
)


def canonical(qualname: str) -> str:
    """``torch.nn.modules.loss.CrossEntropyLoss`` -> ``torch.nn.CrossEntropyLoss`` and the like."""
    if qualname.startswith("torch.nn.modules."):
        return "torch.nn." + qualname.rsplit(".", 1)[-1]
    for prefix, target in _ALIASES:
        if qualname.startswith(prefix):
            return target + qualname[len(prefix) :]
    return qualname


def is_torch(qualname: str | None) -> bool:
    return qualname is not None and (qualname == "torch" or qualname.startswith("torch."))


# The names of the torch losses: a unit without any of them has no loss call of its own.
LOSS_WORDS = frozenset(
    {
        "cross_entropy",
        "CrossEntropyLoss",
        "nll_loss",
        "NLLLoss",
        "kl_div",
        "KLDivLoss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "BCELoss",
        "BCEWithLogitsLoss",
    }
)
