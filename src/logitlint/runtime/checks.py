"""What each watched loss expects of its input, checked on the values (imports torch).

Every check is a handful of reductions on a detached tensor (no copy of the input), made under
``torch.no_grad()``; an input larger than the sample limit is checked on a leading slice of its
batch dim. A check gets the input's values, the call's bound arguments and the operation that
made the input (when autograd recorded one), and returns ``(code, explanation)`` or None.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

SAMPLE_LIMIT = 1_000_000  # elements examined per call
MIN_ELEMENTS_FOR_RANGE = 16  # "all inside [0, 1]" says little about a handful of logits
HALF = (torch.float16, torch.bfloat16)

Finding = tuple[str, str]


def sample(t: torch.Tensor, limit: int) -> torch.Tensor:
    t = t.detach()
    if t.numel() > limit and t.dim() >= 2 and t.shape[0] > 1:
        per_row = max(1, t[0].numel())
        t = t[: max(1, limit // per_row)]  # a view: nothing is copied
    return t


def sum_tolerance(t: torch.Tensor, classes: int) -> float:
    """How far from 1 the sum of ``classes`` probabilities may round in the tensor's dtype."""
    if t.dtype in HALF:
        return max(1e-2, 4e-3 * math.sqrt(classes))
    return 1e-3


def sums_to_one(t: torch.Tensor, dim: int) -> bool:
    """Non-negative, and every slice along ``dim`` (of at least two classes) sums to 1."""
    if t.dim() == 0 or t.shape[dim] < 2 or t.numel() == 0:
        return False
    if t.min().item() < 0:
        return False
    deviation = (t.sum(dim=dim, dtype=torch.float32) - 1).abs().max().item()
    return deviation <= sum_tolerance(t, t.shape[dim])


def producer(t: torch.Tensor) -> str:
    """The operation that made ``t`` when autograd recorded it (``Softmax``, ``Sigmoid``), else ''."""
    return type(t.grad_fn).__name__.removesuffix("0").removesuffix("Backward") if t.grad_fn is not None else ""


def class_dim(t: torch.Tensor) -> int:
    return 1 if t.dim() >= 2 else 0


def cross_entropy(input: torch.Tensor, arguments: dict, made_by: str) -> Finding | None:
    dim = class_dim(input)
    if not sums_to_one(input, dim):
        return None
    if made_by == "Softmax":
        return "LGT101", (
            f"the input is softmax output (non-negative, sums to 1 over dim {dim}), and cross_entropy "
            "applies log-softmax itself (double softmax): pass the logits"
        )
    return "LGT102", (
        f"the input is non-negative and sums to 1 over dim {dim}: probabilities, but cross_entropy "
        "expects logits and applies log-softmax itself; pass the logits, or nll_loss(torch.log(p), target)"
    )


def nll_loss(input: torch.Tensor, arguments: dict, made_by: str) -> Finding | None:
    if input.numel() == 0 or input.max().item() <= 1e-6:
        return None  # log-probabilities are <= 0
    dim = class_dim(input)
    if sums_to_one(input, dim):
        return "LGT103", (
            f"the input is non-negative and sums to 1 over dim {dim}: probabilities, but nll_loss expects "
            "log-probabilities; use log_softmax instead of softmax"
        )
    return "LGT103", (
        f"the input has positive entries (max {input.max().item():.3g}), so it is not log-probabilities "
        "(which are <= 0) as nll_loss expects; if these are logits, use cross_entropy"
    )


def kl_div(input: torch.Tensor, arguments: dict, made_by: str) -> Finding | None:
    if input.numel() and input.min().item() >= 0 and input.max().item() > 0:
        return "LGT104", (
            "the input is non-negative: probabilities, but kl_div expects log-probabilities as its input; "
            "use log_softmax instead of softmax"
        )
    target = arguments.get("target")
    if not isinstance(target, torch.Tensor) or not target.is_floating_point() or target.numel() == 0:
        return None
    target = sample(target, SAMPLE_LIMIT)
    if arguments.get("log_target", False):
        if sums_to_one(target, class_dim(target)):
            return "LGT105", "log_target=True, but the target is non-negative and sums to 1: probabilities"
    elif target.max().item() <= 0 and target.min().item() < 0:
        return "LGT105", (
            "the target is <= 0 with negative entries: log-probabilities, but log_target is False; pass log_target=True"
        )
    return None


def binary_cross_entropy_with_logits(input: torch.Tensor, arguments: dict, made_by: str) -> Finding | None:
    if input.numel() == 0:
        return None
    if made_by == "Sigmoid":
        return "LGT106", (
            "the input is sigmoid output, and binary_cross_entropy_with_logits applies the sigmoid itself "
            "(double sigmoid): pass the logits"
        )
    inside = input.min().item() >= 0 and input.max().item() <= 1
    if inside and input.numel() >= MIN_ELEMENTS_FOR_RANGE:
        return "LGT106", (
            "every entry of the input lies in [0, 1]: it may be probabilities (sigmoid output), but "
            "binary_cross_entropy_with_logits expects logits and applies the sigmoid itself"
        )
    return None


def binary_cross_entropy(input: torch.Tensor, arguments: dict, made_by: str) -> Finding | None:
    if input.numel() == 0:
        return None
    saturated = int(((input == 0) | (input == 1)).sum().item())
    if not saturated:
        return None
    source = "sigmoid output" if made_by == "Sigmoid" else "probabilities"
    return "LGT203", (
        f"{saturated} of {input.numel()} entries of the {source} are exactly 0 or 1 (the sigmoid saturated): "
        "binary_cross_entropy clamps their log at -100 and their gradient vanishes; use "
        "binary_cross_entropy_with_logits on the logits"
    )


WATCHED: dict[Callable, Callable[[torch.Tensor, dict, str], Finding | None]] = {
    F.cross_entropy: cross_entropy,
    F.nll_loss: nll_loss,
    F.kl_div: kl_div,
    F.binary_cross_entropy: binary_cross_entropy,
    F.binary_cross_entropy_with_logits: binary_cross_entropy_with_logits,
}
