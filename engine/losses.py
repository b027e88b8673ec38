"""MM-SS losses (MMSS.md, "Losses"): eqs. 13-16.

Pure functions on tensors plus one module holding the learnt log-variances of eq. 15.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "ranking_pairs",
    "pairwise_hinge_loss",
    "subtask_loss",
    "subtask_rank_loss",
    "UncertaintyBalance",
    "uncertainty_balance",
    "total_loss",
]


def ranking_pairs(
    labels: torch.Tensor,
    groups: torch.Tensor,
    negatives_per_positive: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Boolean ``(B, B)`` matrix P with P[i, j] = pair (r+ = i, r- = j) is used.

    Candidates are pairs of the same group (product) with ``labels[i] > labels[j]``.
    ``negatives_per_positive = 0`` keeps all of them. ``k > 0`` is MCR's sampling: each
    positive i keeps k of its candidate negatives drawn uniformly without replacement (all
    of them when it has k or fewer). Draws come from ``generator`` (CPU), so a job that
    reseeds it every epoch resamples every epoch, reproducibly.
    """
    labels = labels.reshape(-1)
    groups = groups.reshape(-1)
    valid = (groups[:, None] == groups[None, :]) & (labels[:, None] > labels[None, :])  # (B, B)
    k = negatives_per_positive
    B = labels.shape[0]
    if k <= 0 or B == 0 or k >= B:
        return valid
    keys = torch.rand(B, B, generator=generator).to(labels.device)  # (B, B) random order
    keys = keys.masked_fill(~valid, float("inf"))  # invalid pairs sort last
    chosen = keys.argsort(dim=1)[:, :k]  # (B, k) the k first of a random order
    picked = torch.zeros_like(valid)
    picked.scatter_(1, chosen, True)
    return picked & valid


def pairwise_hinge_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    groups: torch.Tensor,
    margin: float = 1.0,
    adaptive: bool = False,
    negatives_per_positive: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Eq. 13: mean over pairs of ``max(0, margin - (score(r+) - score(r-)))``.

    Pairs are reviews of the same product (equal ``groups``) with y(r+) > y(r-); see
    :func:`ranking_pairs` for MCR's negative sampling. ``adaptive=True`` is MCR's adaptive
    margin ``y(r+) - y(r-)``, else ``margin`` (paper: 1). With no pair in the batch the loss
    is a zero that still belongs to the graph.
    """
    scores = scores.reshape(-1)
    labels = labels.reshape(-1).to(scores.dtype)
    pairs = ranking_pairs(labels, groups, negatives_per_positive, generator)  # (B, B)
    if not bool(pairs.any()):
        return scores.sum() * 0.0
    pos, neg = pairs.nonzero(as_tuple=True)  # (n_pairs,), (n_pairs,)
    m = (labels[pos] - labels[neg]) if adaptive else torch.full_like(scores[pos], margin)
    return torch.relu(m - (scores[pos] - scores[neg])).mean()


def subtask_loss(pred: torch.Tensor, pseudo: torch.Tensor, human: torch.Tensor,
                 keep: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 14: ``L_s = mean_i tanh(|y_s(i) - y_g(i)|) * |y_hat_s(i) - y_s(i)|``.

    The pseudo-labels ``pseudo`` and human labels ``human`` are targets (no gradient).
    Note that while y_s = y_g (epoch 1) the weight, and so L_s, is 0.

    ``keep`` ``(B,)`` bool: the reviews whose target counts; the mean runs over those only, so
    a review left out (a moderator disputed this sub-score on it: engine.pseudolabels) gives
    no gradient to y_hat_s. None keeps all. With none kept L_s is a zero still in the graph.
    """
    pseudo = pseudo.detach().to(pred.dtype)
    human = human.detach().to(pred.dtype)
    weight = torch.tanh((pseudo - human).abs())
    terms = weight * (pred - pseudo).abs()  # (B,)
    if keep is None:
        return terms.mean()
    keep = keep.to(device=pred.device, dtype=torch.bool).reshape(-1)
    return torch.where(keep, terms, terms.new_zeros(())).sum() / keep.sum().clamp_min(1)


def subtask_rank_loss(pred: torch.Tensor, pseudo: torch.Tensor, groups: torch.Tensor,
                      keep: torch.Tensor | None = None, adaptive: bool = True) -> torch.Tensor:
    """Our addition (MMSS.md is silent): eq. 13's within-product pairwise hinge applied to one
    sub-score y_hat_s against its pseudo-label y_s, so that y_hat_s orders a product's reviews as
    y_s does. Eq. 14 alone is a pointwise fit weighted by tanh(|y_s - y_g|), which is 0 while
    y_s = y_g (epoch 1) and small after: the heads barely learn and the five sub-scores end up
    nearly constant within a product. ``adaptive``: MCR's margin y_s(i) - y_s(j), so pairs whose
    pseudo-labels barely differ ask for a barely different sub-score. ``keep`` ``(B,)`` bool: a
    review left out (a disputed sub-score) forms no pair."""
    groups = groups.reshape(-1)
    if keep is not None:
        alone = -1 - torch.arange(groups.shape[0], device=groups.device)  # a group of its own: no pair
        groups = torch.where(keep.reshape(-1).to(torch.bool), groups, alone)
    return pairwise_hinge_loss(pred, pseudo.detach(), groups, margin=1.0, adaptive=adaptive)


def uncertainty_balance(losses: torch.Tensor, log_vars: torch.Tensor) -> torch.Tensor:
    """Eq. 15: ``sum_s exp(-l_s) * L_s / 2 + l_s / 2`` with ``l_s = log sigma_s^2``.

    The stable form of ``sum_s L_s / (2 sigma_s^2) + log sigma_s``.
    """
    return (torch.exp(-log_vars) * losses / 2 + log_vars / 2).sum()


class UncertaintyBalance(nn.Module):
    """Learnt log-variances ``l_s`` (one per active subtask, initialised to 0) for eq. 15."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(n))

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        if losses.shape != self.log_vars.shape:
            raise ValueError(f"expected {tuple(self.log_vars.shape)} losses, got {tuple(losses.shape)}")
        return uncertainty_balance(losses, self.log_vars)


def total_loss(l_tar: torch.Tensor, l_sub: torch.Tensor | None, weight: float = 1.0) -> torch.Tensor:
    """Eq. 16: ``L = L_tar + weight * L_sub`` (paper: weight 1); no subtasks -> ``L_tar``."""
    return l_tar if l_sub is None else l_tar + weight * l_sub
