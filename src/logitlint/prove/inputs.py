"""Generated tensors for the free names of a compared expression.

Shapes follow the loss convention the fixes rely on: classes on dim 1 (dim 0 when 1-D), C = 5, and
other dims of different sizes so that a wrong broadcast or a wrong dim cannot go unnoticed:
(5,), (4, 5), (4, 5, 3), (4, 5, 3, 2). A name's role (from the slot it fills) picks what it holds:
class indices for a cross-entropy target, probabilities for a kl_div target, 0/1 for a BCE target,
a positive (C,) vector for ``weight=``; anything else holds logits at the trial's scale.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import torch

from logitlint.prove.locate import NotProvable

C = 5
SHAPES = {1: (5,), 2: (4, 5), 3: (4, 5, 3), 4: (4, 5, 3, 2)}
# scale kind -> scales (a float multiplies randn; "spike" adds +-1e4 to one entry; "mask" sets a
# class to -inf, as attention and padding masks do)
SCALES = {
    "moderate": (1.0, 2.5),
    "small": (1e-4, 1e-7),
    "extreme": (50.0, 1e3, "spike", "mask"),
}
DTYPES = (torch.float32, torch.float64)
GRADIENT_ROLES = frozenset({"value", "logits", "factor", "log_probs", "probs"})


@dataclass(frozen=True)
class Trial:
    rank: int
    dtype: torch.dtype
    kind: str  # moderate | small | extreme
    scale: float | str
    variant: int  # 0: index targets, full-shape factors; 1: probability targets, (C,) factors

    def describe(self) -> str:
        dtype = str(self.dtype).replace("torch.", "")
        return f"rank {self.rank}, {dtype}, {self.kind} ({self.scale}), variant {self.variant}"


def trials() -> list[Trial]:
    return [
        Trial(rank, dtype, kind, scale, variant)
        for variant in (0, 1)
        for rank in SHAPES
        for dtype in DTYPES
        for kind, scales in SCALES.items()
        for scale in scales
    ]


class Inputs:
    """The tensors of one trial, made on first use and shared by both sides of the comparison."""

    def __init__(self, trial: Trial):
        self.trial = trial
        self.values: dict[str, torch.Tensor] = {}
        self.leaves: dict[str, torch.Tensor] = {}
        self.varied = False  # did any name's role have a variant-1 form?
        self.definitions: dict[str, str] = {}  # names defined by code the prover does not run

    def opaque(self, name: str, definition: str) -> None:
        """``name`` is defined by ``definition``, which is not evaluated: both sides must agree on it."""
        known = self.definitions.setdefault(name, definition)
        if known != definition:
            raise NotProvable(f"the fix changes the definition of {name} ({known}), which the prover cannot run")

    def __call__(self, name: str, role: str) -> torch.Tensor:
        if role == "callee":
            raise NotProvable(f"calls {name}(...), which is not a known torch function")
        if name not in self.values:
            tensor = self._make(name, role)
            if tensor.is_floating_point() and role in GRADIENT_ROLES:
                tensor.requires_grad_(True)
                self.leaves[name] = tensor
            self.values[name] = tensor
        return self.values[name]

    def same(self) -> Inputs:
        """The same values as new leaves (for a third evaluation with its own gradients)."""
        copy = Inputs(self.trial)
        for name, tensor in self.values.items():
            value = tensor.detach().clone()
            if name in self.leaves:
                value.requires_grad_(True)
                copy.leaves[name] = value
            copy.values[name] = value
        copy.definitions = dict(self.definitions)
        copy.frozen = True
        return copy

    frozen = False

    def _make(self, name: str, role: str) -> torch.Tensor:
        if self.frozen:
            raise NotProvable(f"{name} appears only in the reference")
        trial = self.trial
        gen = torch.Generator().manual_seed(zlib.crc32(f"{name}|{trial}".encode()))
        shape = SHAPES[trial.rank]
        cdim = 0 if trial.rank == 1 else 1
        dtype = trial.dtype

        def randn(size=shape):
            return torch.randn(size, generator=gen, dtype=torch.float64)

        def uniform(low, high, size=shape):
            return low + (high - low) * torch.rand(size, generator=gen, dtype=torch.float64)

        if role in ("class_target", "index_target"):
            if role == "class_target":
                self.varied = True
            if role == "class_target" and trial.variant == 1:
                return torch.softmax(randn(), cdim).to(dtype)
            size = shape[:cdim] + shape[cdim + 1 :]
            return torch.randint(0, C, size, generator=gen)
        if role == "prob_target":
            return torch.softmax(randn(), cdim).to(dtype)
        if role == "binary_target":
            self.varied = True
            if trial.variant == 1:
                return uniform(0.0, 1.0).to(dtype)
            return torch.randint(0, 2, shape, generator=gen).to(dtype)
        if role == "class_weight":
            return uniform(0.5, 2.0, (C,)).to(dtype)
        if role == "positive":
            return uniform(0.5, 2.0).to(dtype)
        if role == "factor":
            self.varied = True
            if trial.variant == 1:
                return torch.softmax(randn((C,)), 0).to(dtype)
        values = self._scaled(randn(), cdim)
        if role == "log_probs":
            values = torch.log_softmax(values, cdim)
        elif role == "probs":
            values = torch.sigmoid(values)
        return values.to(dtype)

    def _scaled(self, values: torch.Tensor, cdim: int) -> torch.Tensor:
        scale = self.trial.scale
        if scale == "spike":
            values = values.clone()
            values.view(-1)[0] = 1e4
            values.view(-1)[-1] = -1e4
            return values
        if scale == "mask":
            values = values.clone()
            values.select(cdim, 1).fill_(float("-inf"))
            return values
        return values * float(scale)
