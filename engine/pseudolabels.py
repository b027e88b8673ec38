"""SSP-Label (MMSS.md): self-supervised pseudo-labels for the five subtasks, training only.

State over the N training reviews:

- a feature bank of f_g* and each f_s* (detached), indexed by the review's training index;
- the human labels y_g (never modified) and the pseudo-label map y_s, initialised to y_g.

Per batch, from epoch 2 on (:meth:`SSPLabeler.step`), for each active subtask s:

- chi_k(i) = sqrt((f_k(i) - A_k)^T Sigma_k^-1 (f_k(i) - A_k)) / sqrt(dim)   (eq. 18)
- new_s = 0.5 (y_g + alpha_2 (chi_s - chi_g)) + 0.5 alpha_1 chi_s y_g / (chi_g + eps)
  (eqs. 19-21), clamped to [clamp_min, clamp_max];
- y_s <- beta new_s + (1 - beta) y_s with beta = 2 / (epoch + 1)   (eq. 12, per batch).

Anchors A_k (eq. 17: sigmoid(label)-weighted means of the bank) and covariances Sigma_k
are recomputed from the bank by :meth:`SSPLabeler.refresh`, which the training job calls
at least once per epoch (``step`` calls it itself if it was never called).

Covariance shrinkage (our choice; the paper is silent): Sigma_k is the unbiased covariance
of the banked features of head k, shrunk towards a scaled identity,
``Sigma' = (1 - lambda) Sigma + lambda mu I`` with ``mu = max(trace(Sigma) / dim, floor)``,
``lambda = shrinkage`` (default 0.1) and ``floor = 1e-6``; Sigma' is positive definite for
any lambda in (0, 1], so it always inverts, even with fewer banked reviews than dimensions.
Distances and inverses are computed in float64.

Disputed sub-scores (ours; the paper has no moderators): a moderator may flag that the
model's sub-score s of review i is too high or too low. Training then EXCLUDES that target:

- L_s (eq. 14) is the mean over the batch's reviews that are not disputed for s, so review i
  gives y_hat_s no gradient (:meth:`SSPLabeler.keep` -> ``engine.losses.subtask_loss``);
- A_s (eq. 17) is weighted over the undisputed reviews only (f_s(i) no longer pulls the
  anchor that every other review's chi_s is measured from); Sigma_s keeps all rows;
- y_s(i) stays frozen at its initial value y_g(i) (eqs. 19-21 and the EWMA skip it).

Why exclusion and not a pull towards the stated direction: y_s is a self-supervised,
unit-free target (the paper's case study has -1.3 to 2.3 for a review labelled 4), so "one
step below the prediction" would invent a scale, and a bound taken from the model's own
current prediction moves with it, driving y_hat_s down (or up) for as long as training runs.
A moderator's dispute says "this target is wrong", which exclusion honours without making up
a new one. The direction is stored and counted (Models view) but not used here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from engine.config import SUBTASKS, MMSSConfig, TrainConfig

__all__ = ["SSPLabeler", "shrunk_covariance", "mahalanobis_chi", "offset_label"]

_COV_FLOOR = 1e-6


def shrunk_covariance(features: torch.Tensor, shrinkage: float) -> torch.Tensor:
    """Unbiased covariance of ``(n, D)`` features shrunk towards ``mu I`` (see module doc)."""
    x = features.double()
    n, D = x.shape
    if n >= 2:
        xc = x - x.mean(dim=0, keepdim=True)
        cov = xc.T @ xc / (n - 1)  # (D, D)
    else:
        cov = x.new_zeros(D, D)
    mu = max(float(torch.diagonal(cov).sum()) / D, _COV_FLOOR)
    return (1.0 - shrinkage) * cov + shrinkage * mu * torch.eye(D, dtype=x.dtype, device=x.device)


def mahalanobis_chi(features: torch.Tensor, anchor: torch.Tensor, cov_inv: torch.Tensor) -> torch.Tensor:
    """Eq. 18: ``sqrt(diff^T Sigma^-1 diff) / sqrt(D)`` for each row of ``(n, D)`` features."""
    diff = features.double() - anchor.double()  # (n, D)
    q = ((diff @ cov_inv) * diff).sum(dim=1).clamp_min(0.0)  # (n,)
    return q.sqrt() / math.sqrt(features.shape[1])


def offset_label(
    y_g: torch.Tensor,
    chi_s: torch.Tensor,
    chi_g: torch.Tensor,
    alpha_1: float = 1.0,
    alpha_2: float = 1.0,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Eqs. 19-21: ``0.5 (y_g + a2 (chi_s - chi_g)) + 0.5 a1 chi_s y_g / (chi_g + eps)``.

    For a1 = a2 = 1 this is ``y_g + (chi_s - chi_g)(y_g + chi_g) / (2 (chi_g + eps))`` up to
    the eps term (Self-MM's ``update_labels`` algebra). Not clamped.
    """
    return 0.5 * (y_g + alpha_2 * (chi_s - chi_g)) + 0.5 * alpha_1 * chi_s * y_g / (chi_g + eps)


class SSPLabeler:
    """Feature bank + pseudo-label map of SSP-Label over the training reviews.

    Parameters
    ----------
    labels
        Human labels y_g of the N training reviews, indexed by training index.
    dim
        Width d of f_g* and f_s*.
    subtasks
        Subtasks with a head (``config.active_subtasks``); others keep y_s = y_g.
    alpha_1, alpha_2, clamp_min, clamp_max, eps, shrinkage
        As in :class:`~engine.config.TrainConfig` (``ssp_eps``, ``ssp_shrinkage``).
    device
        Where the bank lives (CPU by default; N x 6 x d floats).
    disputed
        Per training index, the subtasks whose target a moderator disputed for that review
        (names of SUBTASKS); left out as the module doc says. None: none.

    Attributes
    ----------
    y_s : (5, N) float64, pseudo-labels in SUBTASKS order
    disputed : (5, N) bool, True where review i's target for subtask s is left out
    """

    def __init__(
        self,
        labels: Sequence[float] | torch.Tensor,
        dim: int,
        subtasks: Sequence[str] = SUBTASKS,
        *,
        alpha_1: float = 1.0,
        alpha_2: float = 1.0,
        clamp_min: float = -8.0,
        clamp_max: float = 8.0,
        eps: float = 1e-8,
        shrinkage: float = 0.1,
        device: torch.device | str = "cpu",
        disputed: Sequence[Iterable[str]] | None = None,
    ) -> None:
        unknown = [s for s in subtasks if s not in SUBTASKS]
        if unknown:
            raise ValueError(f"unknown subtasks {unknown}")
        if not 0.0 < shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be in (0, 1], got {shrinkage}")
        if not clamp_min < clamp_max:
            raise ValueError(f"clamp_min {clamp_min} must be < clamp_max {clamp_max}")
        self.device = torch.device(device)
        self._y_g = torch.as_tensor(labels, dtype=torch.float64, device=self.device).reshape(-1).clone()
        n = self._y_g.shape[0]
        self.dim = dim
        self.subtasks = tuple(s for s in SUBTASKS if s in subtasks)
        self.active = [SUBTASKS.index(s) for s in self.subtasks]
        self.alpha_1, self.alpha_2 = float(alpha_1), float(alpha_2)
        self.clamp_min, self.clamp_max = float(clamp_min), float(clamp_max)
        self.eps = float(eps)
        self.shrinkage = float(shrinkage)
        # eq. 12, epoch 1: y_s = y_g
        self.y_s = self._y_g[None, :].repeat(len(SUBTASKS), 1)  # (5, N)
        self.bank_g = torch.zeros(n, dim, dtype=torch.float32, device=self.device)  # (N, d)
        self.bank_s = torch.zeros(len(SUBTASKS), n, dim, dtype=torch.float32, device=self.device)  # (5, N, d)
        self.filled = torch.zeros(n, dtype=torch.bool, device=self.device)  # (N,)
        self.disputed = torch.zeros(len(SUBTASKS), n, dtype=torch.bool, device=self.device)  # (5, N)
        if disputed is not None:
            if len(disputed) != n:
                raise ValueError(f"disputed has {len(disputed)} entries for {n} reviews")
            for i, names in enumerate(disputed):
                for name in names:
                    if name not in SUBTASKS:
                        raise ValueError(f"unknown subtask {name!r} disputed for review {i}")
                    self.disputed[SUBTASKS.index(name), i] = True
        self.anchors: dict[str, torch.Tensor] | None = None  # "g" and each subtask -> (d,)
        self.cov_inv: dict[str, torch.Tensor] | None = None  # -> (d, d) float64

    @classmethod
    def from_config(cls, labels, config: MMSSConfig, train: TrainConfig,
                    device: torch.device | str = "cpu",
                    disputed: Sequence[Iterable[str]] | None = None) -> "SSPLabeler":
        """The labeler of a model (its width and subtasks) under a training run's SSP-Label settings."""
        return cls(
            labels,
            config.hidden,
            config.active_subtasks,
            alpha_1=train.alpha_1,
            alpha_2=train.alpha_2,
            clamp_min=train.clamp_min,
            clamp_max=train.clamp_max,
            eps=train.ssp_eps,
            shrinkage=train.ssp_shrinkage,
            device=device,
            disputed=disputed,
        )

    def __len__(self) -> int:
        return int(self._y_g.shape[0])

    # ------------------------------------------------------------------ anchors
    def _features(self, key: str) -> torch.Tensor:
        return self.bank_g if key == "g" else self.bank_s[SUBTASKS.index(key)]

    def _labels(self, key: str) -> torch.Tensor:
        return self._y_g if key == "g" else self.y_s[SUBTASKS.index(key)]

    def refresh(self) -> None:
        """Recompute anchors (eq. 17) and shrunk inverse covariances from the banked rows."""
        if not bool(self.filled.any()):
            raise RuntimeError("SSPLabeler.refresh: the feature bank is empty (call step in epoch 1 first)")
        anchors: dict[str, torch.Tensor] = {}
        cov_inv: dict[str, torch.Tensor] = {}
        for key in ("g",) + self.subtasks:
            feats = self._features(key)[self.filled].double()  # (n, d)
            w = torch.sigmoid(self._labels(key)[self.filled])  # (n,)
            if key != "g":  # eq. 17 over the undisputed reviews (all, if every one is disputed)
                undisputed = ~self.disputed[SUBTASKS.index(key)][self.filled]  # (n,)
                if bool(undisputed.any()):
                    w = w * undisputed
            anchors[key] = (w[:, None] * feats).sum(dim=0) / w.sum()  # (d,)
            cov_inv[key] = torch.linalg.inv(shrunk_covariance(feats, self.shrinkage))  # (d, d)
        self.anchors, self.cov_inv = anchors, cov_inv

    def distance(self, key: str, features: torch.Tensor) -> torch.Tensor:
        """chi_k of ``(n, d)`` features against the current anchor of head ``key``."""
        if self.anchors is None or self.cov_inv is None:
            self.refresh()
        return mahalanobis_chi(features.to(self.device), self.anchors[key], self.cov_inv[key])

    # ------------------------------------------------------------------ per batch
    def step(
        self,
        indices: Sequence[int] | torch.Tensor,
        f_g: torch.Tensor,
        f_s: torch.Tensor,
        epoch: int,
    ) -> torch.Tensor:
        """One training batch: update y_s of these reviews (epoch >= 2), then bank features.

        Parameters
        ----------
        indices : (B,) training indices of the batch's reviews
        f_g : (B, d) f_g* of the batch
        f_s : (B, 5, d) f_s* in SUBTASKS order (zeros for inactive subtasks are fine)
        epoch : 1-based epoch number

        Returns
        -------
        (B, 5) float32 pseudo-labels y_s for these reviews, for the subtask loss.
        """
        if epoch < 1:
            raise ValueError(f"epoch is 1-based, got {epoch}")
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.device).reshape(-1)
        f_g = f_g.detach().to(self.device, torch.float32)
        f_s = f_s.detach().to(self.device, torch.float32)
        if f_g.shape != (idx.shape[0], self.dim) or f_s.shape != (idx.shape[0], len(SUBTASKS), self.dim):
            raise ValueError(
                f"step: expected f_g ({idx.shape[0]}, {self.dim}) and f_s ({idx.shape[0]}, 5, {self.dim}), "
                f"got {tuple(f_g.shape)} and {tuple(f_s.shape)}"
            )
        if epoch >= 2 and self.subtasks:
            y_g = self._y_g[idx]  # (B,)
            chi_g = self.distance("g", f_g)  # (B,)
            beta = 2.0 / (epoch + 1)
            for s, i in zip(self.subtasks, self.active):
                chi_s = self.distance(s, f_s[:, i])  # (B,)
                new = offset_label(y_g, chi_s, chi_g, self.alpha_1, self.alpha_2, self.eps)
                new = new.clamp(self.clamp_min, self.clamp_max)
                moved = beta * new + (1.0 - beta) * self.y_s[i, idx]
                self.y_s[i, idx] = torch.where(self.disputed[i, idx], self.y_s[i, idx], moved)  # disputed: frozen
        self.bank_g[idx] = f_g
        self.bank_s[:, idx] = f_s.transpose(0, 1)  # (5, B, d)
        self.filled[idx] = True
        return self.pseudo_labels(idx)

    def pseudo_labels(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Current y_s of these reviews, ``(B, 5)`` float32 in SUBTASKS order."""
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.device).reshape(-1)
        return self.y_s[:, idx].T.float().clone()

    def keep(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """``(B, 5)`` bool in SUBTASKS order: False where the review's target is disputed (the
        ``subtask_keep`` of :meth:`engine.model.mmss.MMSSModel.forward`)."""
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.device).reshape(-1)
        return ~self.disputed[:, idx].T

    def disputed_counts(self) -> dict[str, int]:
        """How many reviews' targets are left out, per subtask (every subtask, in order)."""
        return {s: int(self.disputed[i].sum()) for i, s in enumerate(SUBTASKS)}

    # ------------------------------------------------------------------ reporting
    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and (population) std of the pseudo-labels per active subtask, plus ``"y_g"``."""
        out = {"y_g": {"mean": float(self._y_g.mean()), "std": float(self._y_g.std(unbiased=False))}}
        for s, i in zip(self.subtasks, self.active):
            out[s] = {"mean": float(self.y_s[i].mean()), "std": float(self.y_s[i].std(unbiased=False))}
        return out
