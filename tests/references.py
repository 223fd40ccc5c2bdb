"""The maths each fix must compute, written by hand in float64 (never through the API under test)."""

from __future__ import annotations

import torch


def _log_softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    # log(exp(x_i) / sum_j exp(x_j)), shifted by the max so that exp does not overflow
    m = x.max(dim=dim, keepdim=True).values
    return x - m - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))


def _class_dim(x: torch.Tensor) -> int:
    return 0 if x.dim() == 1 else 1


def _picked(logp: torch.Tensor, target: torch.Tensor, dim: int) -> torch.Tensor:
    return logp.gather(dim, target.unsqueeze(dim)).squeeze(dim)


def cross_entropy(logits, target):
    """mean of -log(exp(x[y]) / sum(exp(x)))"""
    dim = _class_dim(logits)
    return -_picked(_log_softmax(logits, dim), target, dim).mean()


def cross_entropy_sum(logits, target):
    dim = _class_dim(logits)
    return -_picked(_log_softmax(logits, dim), target, dim).sum()


def cross_entropy_smoothed(logits, target, smoothing=0.1):
    """(1 - s) * (-log p[y]) + s * mean over classes of (-log p[c]), averaged over samples."""
    dim = _class_dim(logits)
    logp = _log_softmax(logits, dim)
    nll = -_picked(logp, target, dim)
    uniform = -logp.mean(dim=dim)
    return ((1 - smoothing) * nll + smoothing * uniform).mean()


def normalised_cross_entropy(counts, target):
    p = counts / counts.sum(dim=1, keepdim=True)
    return -torch.log(_picked(p, target, 1)).mean()


def log_softmax(logits):
    return _log_softmax(logits, 1)


def log_softmax_last(logits):
    return _log_softmax(logits, -1)


def argmax(logits):
    return logits.argmax(dim=1)


def argmax_last(logits):
    return logits.argmax(dim=-1)


def table_cross_entropy_sum(module):
    """The motivating example: the sum over pixels of -log p[target] of the module's table."""
    p = module.probs.double()
    t = module.target
    total = torch.zeros((), dtype=torch.float64)
    n, _, h, w = p.shape
    for i in range(n):
        for r in range(h):
            for c in range(w):
                total = total - torch.log(p[i, t[i, r, c], r, c])
    return total
