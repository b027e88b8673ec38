"""An exact, additive "why" for every score (MMSS.md, "Explaining a score"; ours, not the paper's).

The score is ``g(F_c) + w . m_norm + b`` with ``g = score_head(GELU(fusion(F_c)))`` the fused
head of module (c) and ``w . m_norm + b`` the metadata channel's direct linear path. Its
explanation is a set of named parts that add up to the score:

- **base** = ``g(all blocks absent) + b``;
- **one part per metadata feature j** of the linear path: ``w_j * m_norm_j`` (exact: the path
  is linear; a review at the training mean of feature j gets 0 for it);
- **one part per block of F_c** (the five interaction features f_s, then the metadata
  embedding; under ``no_module_b`` the four pooled inputs): its exact Shapley value in the
  game ``v(S) = g(blocks in S present, the others absent)``, from the ``2^n`` evaluations of
  ``g`` on the review's already computed blocks (64 for six blocks), batched over reviews
  and coalitions. Efficiency makes the parts sum to ``g(F_c) - g(all absent)``.

What "absent" means: a block is absent when it is replaced by a fixed reference, its mean over
the training reviews, computed once when training ends (:func:`fusion_block_means`) and stored
in the checkpoint's model.json (``fusion_reference``). So "absent" reads "as for an average
training review", and a part says how far this review's block moves the score from there. A
checkpoint written before the means were stored has none: its reference falls back to zeros
for the interaction blocks and to the metadata projection of the training-mean metadata
(``m_norm = 0``, i.e. the projection's bias, exact since the normaliser was fitted on the
training reviews) for the metadata block; :attr:`ScoreExplanation.reference` says which was
used (:data:`REFERENCE_TRAINING_MEAN` or :data:`REFERENCE_FALLBACK`) and is stored with the parts.

The parts are computed in float32 outside autocast (the head after F_c is three small matrix
products), so under CUDA mixed precision the explained score is the float32 head on the same
F_c, which is what scoring stores then (a bf16 score would miss the sum by ~1e-2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from engine.metadata import METADATA_FEATURES, METADATA_LABELS

__all__ = [
    "BLOCK_LABELS",
    "REFERENCE_FALLBACK",
    "REFERENCE_TRAINING_MEAN",
    "ScoreExplanation",
    "explain",
    "fusion_block_means",
    "fallback_reference",
    "shapley_matrix",
]

REFERENCE_TRAINING_MEAN = "training mean"
REFERENCE_FALLBACK = "fallback: zeros, metadata at its training mean"
#: Decimals a stored part keeps: 22 parts rounded so still add up to the score within 2e-6.
STORED_DECIMALS = 7

#: Plain names of the blocks of F_c.
BLOCK_LABELS: dict[str, str] = {
    "p_t r_t": "product text \u00d7 review text",
    "p_v r_v": "product images \u00d7 review images",
    "p_t r_v": "product text \u00d7 review images",
    "p_v r_t": "product images \u00d7 review text",
    "r_t r_v": "review text \u00d7 review images",
    "p_t": "product text",
    "r_t": "review text",
    "p_v": "product images",
    "r_v": "review images",
    "metadata": "review facts, combined",
}


@dataclass
class ScoreExplanation:
    """Parts of a batch of scores; ``base + blocks.sum(1) + metadata.sum(1) == score``.

    Attributes
    ----------
    score : (B,)
        The explained score, ``g(F_c) + w . m_norm + b`` in float32.
    base : (B,)
        ``g(all blocks absent) + b``.
    blocks : (B, n_blocks)
        Shapley value of each block of F_c, in ``block_names`` order.
    metadata : (B, M) or None
        ``w_j * m_norm_j`` of the direct linear path (None without the metadata channel).
    block_names : tuple of str
        :attr:`MMSSModel.fusion_block_names`.
    reference : str
        What "absent" was: :data:`REFERENCE_TRAINING_MEAN` or :data:`REFERENCE_FALLBACK`.
    """

    score: torch.Tensor
    base: torch.Tensor
    blocks: torch.Tensor
    metadata: torch.Tensor | None
    block_names: tuple[str, ...]
    reference: str

    def parts(self, i: int) -> list[tuple[str, str, float]]:
        """``(key, plain label, value)`` of review ``i``: blocks then metadata features, in model
        order (a reader sorts them by size)."""
        out = [(f"block:{n}", BLOCK_LABELS.get(n, n), float(v)) for n, v in zip(self.block_names, self.blocks[i])]
        if self.metadata is not None:
            out += [(f"meta:{n}", METADATA_LABELS[n], float(v)) for n, v in zip(METADATA_FEATURES, self.metadata[i])]
        return out

    def record(self, i: int) -> dict:
        """The JSON stored with review ``i``'s prediction (storage's ``explanation`` column)."""
        return self.records()[i]

    def records(self) -> list[dict]:
        """:meth:`record` of every review (one conversion of the tensors for the batch): the score
        as computed, base and parts rounded to :data:`STORED_DECIMALS`."""
        names = [(f"block:{n}", BLOCK_LABELS.get(n, n)) for n in self.block_names]
        values = self.blocks.cpu().tolist()
        if self.metadata is not None:
            names += [(f"meta:{n}", METADATA_LABELS[n]) for n in METADATA_FEATURES]
            values = [b + m for b, m in zip(values, self.metadata.cpu().tolist())]
        r = STORED_DECIMALS
        return [{"version": 1, "reference": self.reference, "base": round(base, r), "score": score,
                 "parts": [[k, label, round(v, r)] for (k, label), v in zip(names, row)]}
                for base, score, row in zip(self.base.cpu().tolist(), self.score.cpu().tolist(), values)]


@lru_cache(maxsize=8)
def _shapley_matrix(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    masks = torch.tensor([[(s >> k) & 1 for k in range(n)] for s in range(2**n)], dtype=torch.float32)
    coef = torch.zeros(2**n, n, dtype=torch.float64)
    for s in range(2**n):
        size = bin(s).count("1")
        for k in range(n):
            if not (s >> k) & 1:
                w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                coef[s | (1 << k), k] += w
                coef[s, k] -= w
    return masks, coef.float()


def shapley_matrix(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(masks (2^n, n), coef (2^n, n))``: row ``s`` of ``masks`` is coalition ``s`` (bit k =
    player k present); ``phi = v @ coef`` for ``v (.., 2^n)`` the coalitions' values, with
    ``coef[S+k, k] += w(|S|)``, ``coef[S, k] -= w(|S|)``, ``w(s) = s!(n-s-1)!/n!``."""
    masks, coef = _shapley_matrix(n)
    return masks.clone(), coef.clone()


def fallback_reference(model) -> torch.Tensor:
    """``(n_blocks, d)`` reference of a model without stored means (see the module docstring)."""
    d = model.config.hidden
    ref = torch.zeros(len(model.fusion_block_names), d, device=model.fusion.weight.device)
    if model.config.use_metadata:
        ref[-1] = model.metadata_proj.bias.detach().float()  # metadata_proj(m_norm = 0)
    return ref


def _head(model, x: torch.Tensor) -> torch.Tensor:
    """g(x) = score_head(GELU(fusion(x))) in float32, for ``x (..., n_blocks * d)``."""
    h = F.gelu(F.linear(x, model.fusion.weight.float(), model.fusion.bias.float()))
    return F.linear(h, model.score_head.weight.float(), model.score_head.bias.float()).squeeze(-1)


@torch.no_grad()
def explain(model, out) -> ScoreExplanation:
    """Parts of every score of ``out`` (an :class:`~engine.model.mmss.MMSSOutput` of ``model``
    in eval mode). ``2^n_blocks`` evaluations of the head per review, one batched call."""
    if out.fused_blocks is None:
        raise ValueError("explain: the output carries no fused blocks")
    with torch.autocast(device_type=out.fused_blocks.device.type, enabled=False):
        blocks = out.fused_blocks.detach().float()  # (B, n, d)
        B, n, d = blocks.shape
        if model.fusion_reference is not None:
            ref, reference = model.fusion_reference.to(blocks.device).float(), REFERENCE_TRAINING_MEAN
        else:
            ref, reference = fallback_reference(model).to(blocks.device), REFERENCE_FALLBACK
        if ref.shape != (n, d):
            raise ValueError(f"fusion_reference has shape {tuple(ref.shape)}, expected {(n, d)}")
        masks, coef = shapley_matrix(n)
        masks, coef = masks.to(blocks.device), coef.to(blocks.device)
        # every coalition of every review, g(ref + mask * (blocks - ref)) -> (2^n, B). The fusion
        # layer is linear, so its input for a coalition is its input at the reference plus the
        # sum of the present blocks' own terms: n products of the block with its slice of the
        # weight per review, summed per coalition, instead of the whole layer for each of the
        # 2^n coalitions (~60x fewer multiplications: most of what explaining cost)
        weight = model.fusion.weight.float()  # (h, n * d)
        at_ref = F.linear(ref.reshape(n * d), weight, model.fusion.bias.float())  # (h,)
        terms = torch.einsum("bkd,hkd->bkh", blocks - ref, weight.view(-1, n, d))  # (B, n, h)
        pre = at_ref + torch.einsum("sk,bkh->sbh", masks, terms)  # (2^n, B, h)
        values = F.linear(F.gelu(pre), model.score_head.weight.float(), model.score_head.bias.float()).squeeze(-1)
        phi = values.T @ coef  # (B, n)
        base = values[0]
        full = values[-1]
        meta = None
        if model.config.use_metadata and out.metadata_norm is not None:
            m = out.metadata_norm.detach().float()
            meta = m * model.metadata_score.weight.float()[0]  # (B, M)
            b = model.metadata_score.bias.float()[0]
            base = base + b
            full = full + meta.sum(dim=1) + b
    return ScoreExplanation(full, base, phi, meta, tuple(model.fusion_block_names), reference)


@torch.no_grad()
def fusion_block_means(model, outputs) -> torch.Tensor:
    """Mean of each F_c block over the reviews of ``outputs`` (an iterable of MMSSOutput from
    the training reviews, eval mode): the reference to store as ``model.fusion_reference``."""
    total, n = None, 0
    for out in outputs:
        blocks = out.fused_blocks.detach().double()
        total = blocks.sum(0) if total is None else total + blocks.sum(0)
        n += blocks.shape[0]
    if total is None or n == 0:
        raise ValueError("fusion_block_means: no reviews")
    return (total / n).float().cpu()
