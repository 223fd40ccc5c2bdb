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


def _xlogy(p, q):
    return torch.where(p == 0, torch.zeros_like(p), p * torch.log(torch.where(p == 0, torch.ones_like(p), q)))


def kl_batchmean(logits, target_probs):
    """sum over everything of p * (log p - log q), divided by the batch size."""
    logq = _log_softmax(logits, 1)
    p = target_probs
    return (_xlogy(p, p) - p * logq).sum() / logits.shape[0]


def kl_log_target(logits, teacher_logits):
    logq = _log_softmax(logits, 1)
    logp = _log_softmax(teacher_logits, 1)
    return (torch.exp(logp) * (logp - logq)).sum() / logits.shape[0]


def _bce_logits(x, y):
    # -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), written stably: max(x, 0) - x y + log(1 + exp(-|x|))
    return torch.clamp(x, min=0) - x * y + torch.log(1 + torch.exp(-torch.abs(x)))


def bce_logits(logits, btarget):
    return _bce_logits(logits, btarget).mean()


def bce_logits_sum(logits, btarget):
    return _bce_logits(logits, btarget).sum()


def logsigmoid(x):
    # log(1 / (1 + exp(-x))) = min(x, 0) - log(1 + exp(-|x|))
    return torch.clamp(x, max=0) - torch.log(1 + torch.exp(-torch.abs(x)))


def logsigmoid_neg(x):
    return logsigmoid(-x)


def logsumexp_keep(logits):
    m = logits.max(dim=1, keepdim=True).values
    return m + torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))


def logsumexp_all(logits):
    m = logits.max()
    return m + torch.log(torch.exp(logits - m).sum())


def softmax(logits):
    return torch.exp(_log_softmax(logits, 1))


def softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|))
    return torch.clamp(x, min=0) + torch.log(1 + torch.exp(-torch.abs(x)))


def soft_cross_entropy(logits, target_probs):
    return -(target_probs * _log_softmax(logits, 1)).sum(dim=1).mean()


def _elementwise_mp(x, fn):
    import mpmath

    mpmath.mp.dps = 40
    flat = [float(fn(mpmath.mpf(float(v)))) for v in x.detach().double().flatten()]
    return torch.tensor(flat, dtype=torch.float64).reshape(x.shape)


def log1p_exact(small):
    """log(1 + x) to 40 digits (mpmath); no gradient (precision fixtures compare values)."""
    import mpmath

    return _elementwise_mp(small, lambda v: mpmath.log(1 + v))


def expm1_exact(small):
    import mpmath

    return 2.0 * _elementwise_mp(small, lambda v: mpmath.exp(v) - 1)


def _weighted_picked(logp, target, weight, ignore):
    dim = _class_dim(logp)
    safe = torch.where(target == ignore, torch.zeros_like(target), target)
    w = weight[safe] * (target != ignore)
    return -_picked(logp, safe, dim) * w, w


def weighted_nll_of_normalised_ignore0(counts, target, weight):
    p = counts / counts.sum(dim=1, keepdim=True)
    losses, w = _weighted_picked(torch.log(p), target, weight, 0)
    return losses.sum() / w.sum()


def weighted_ce_none_ignore0(logits, target, weight):
    return _weighted_picked(_log_softmax(logits, _class_dim(logits)), target, weight, 0)[0]


def weighted_ce_sum_ignore0(logits, target, weight):
    return weighted_ce_none_ignore0(logits, target, weight).sum()


def bce_logits_weighted_none(logits, btarget, bweight):
    return _bce_logits(logits, btarget) * bweight


def table_cross_entropy_mean(module):
    return table_cross_entropy_sum(module) / module.target.numel()


def nll_of_normalised_none_ignore0(counts, target):
    p = counts / counts.sum(dim=1, keepdim=True)
    ones = torch.ones(counts.shape[1], dtype=counts.dtype)
    return _weighted_picked(torch.log(p), target, ones, 0)[0]


def softmax_dim0(logits):
    return torch.exp(_log_softmax(logits, 0))
