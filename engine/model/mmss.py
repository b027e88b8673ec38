"""MM-SS (MMSS.md, paper Figure 2): modules (a)-(d) and the output they give.

The batch the model reads, and how one is built, are in :mod:`engine.model.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.losses import UncertaintyBalance, pairwise_hinge_loss, subtask_loss, subtask_rank_loss, total_loss
from engine.config import SUBTASKS, MarginMode, MMSSConfig
from engine.model.layers import SelfAttention, SubtaskHead, soft_pool
from engine.model.text import TextEncoder, encoder_hidden_size
from engine.model.batch import MMSSBatch

__all__ = ["MMSSOutput", "MMSSModel", "ModalityInputs"]

_INPUTS = ("p_t", "r_t", "p_v", "r_v")  # type-embedding ids of the four inputs


def _key(subtask: str) -> str:
    return subtask.replace(" ", "__")  # "p_t r_t" -> "p_t__r_t" (module names have no spaces)


# ====================================================================== output
@dataclass
class MMSSOutput:
    """What one forward gives.

    Attributes
    ----------
    score : (B,)
        y_hat_g, THE helpfulness score (rank a product's reviews by it).
    sub_scores : (B, 5)
        y_hat_s in SUBTASKS order, the interaction pseudo-label predictions. Subtasks
        without a head (dropped, ``no_module_d``, ``no_module_b``, or image branches under
        ``text_only``) are 0.0, never NaN; ``subtask_mask`` says which are real.
    f_g : (B, d)
        f_g*, the global feature (SSP-Label bank).
    f_s : (B, 5, d)
        Branch outputs of module (b); zeros for branches that do not exist.
    f_s_star : (B, 5, d)
        f_s* of module (d) (SSP-Label bank); zeros for subtasks without a head.
    subtask_mask : (5,) bool
        True for subtasks that have a head.
    loss, loss_parts
        Set when labels were given: total loss (eq. 16) and detached parts.
    fused_blocks : (B, n_blocks, d)
        F_c of module (c) split into its blocks (:attr:`MMSSModel.fusion_block_names` order:
        the branch outputs, then the metadata embedding); what :mod:`engine.model.explain` reads.
    metadata_norm : (B, M) or None
        The normalised metadata ``m_norm`` read by the direct linear path (None without it).
    """

    score: torch.Tensor
    sub_scores: torch.Tensor
    f_g: torch.Tensor
    f_s: torch.Tensor
    f_s_star: torch.Tensor
    subtask_mask: torch.Tensor
    loss: torch.Tensor | None = None
    loss_parts: dict[str, torch.Tensor] | None = None
    fused_blocks: torch.Tensor | None = None
    metadata_norm: torch.Tensor | None = None


class ModalityInputs(dict):
    """(a)'s inputs per review, ``{name: (features (B, L, d), mask (B, L))}``, as a dict.

    In eval mode also ``distinct``: the inputs that do not read the review text (``p_t``, and
    ``p_v``, ``r_v`` with images) once per distinct (product, review images) pair, ``(U, L, d)``,
    and ``pair`` ``(B,)``: each review's row there. A review without an image shares its
    product's pair. Both None in training (dropout differs per review)."""

    distinct: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None
    pair: torch.Tensor | None = None


# ====================================================================== model
class MMSSModel(nn.Module):
    """MM-SS: modality features (a), five interaction branches (b), fusion + score (c),
    subtask heads (d), plus the review-metadata channel fused in (c).

    Parameters
    ----------
    config
        The :class:`MMSSConfig`.
    text_encoder
        A ready :class:`TextEncoder`; by default one is built from the config.
    load_text_encoder
        False: build no encoder (only its hidden size is read from its config). Such a
        model takes cached token states only, e.g. scoring with a frozen encoder.
    """

    def __init__(
        self,
        config: MMSSConfig,
        text_encoder: TextEncoder | None = None,
        *,
        load_text_encoder: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        d = config.hidden
        if text_encoder is None and load_text_encoder:
            text_encoder = TextEncoder.from_config(config)
        if text_encoder is not None and (
            text_encoder.max_tokens != config.max_tokens
            or text_encoder.finetune_layers != config.text_finetune_layers
        ):
            raise ValueError(
                "text_encoder was built with max_tokens / finetune_layers other than the config's "
                f"({text_encoder.max_tokens}, {text_encoder.finetune_layers}) != "
                f"({config.max_tokens}, {config.text_finetune_layers})"
            )
        self.text_encoder = text_encoder
        H = text_encoder.hidden_size if text_encoder is not None else encoder_hidden_size(config.text_encoder)
        self.text_hidden_size = H
        self.branch_names = config.active_branches
        self.subtask_names = config.active_subtasks
        self.drop = nn.Dropout(config.dropout)

        # (a) modality-specific features
        self.text_proj = nn.Linear(H, d)
        # Which of the four inputs a position comes from; our addition, since [A; B] of
        # region features has no other way to tell product from review positions.
        self.type_emb = nn.Embedding(len(_INPUTS), d)
        if not config.text_only:
            # LayerNorm first: RoI and grid activations have very different scales.
            self.image_proj = nn.Sequential(nn.LayerNorm(config.image_feat_dim), nn.Linear(config.image_feat_dim, d))
            self.empty_slot = nn.Parameter(0.02 * torch.randn(2, d))  # [product, review]
            self.image_attn = SelfAttention(d, config.attention_heads, config.dropout)

        # (b) interaction branches
        self.branches = nn.ModuleDict(
            {_key(s): SelfAttention(d, config.attention_heads, config.dropout) for s in self.branch_names}
        )

        # metadata channel: normalised features -> Linear -> d, fused in (c)
        if config.use_metadata:
            self.register_buffer("metadata_mean", torch.zeros(config.n_metadata))
            self.register_buffer("metadata_std", torch.ones(config.n_metadata))
            self.metadata_proj = nn.Linear(config.n_metadata, d)
            # Our addition: a direct linear path from the normalised metadata to the score.
            # With a few thousand labels the fused MLP alone overfits the text features and
            # loses to a linear metadata ranker (docs/quality.md); this skip lets the model
            # start from that ranker and learn the text/image interactions as corrections.
            self.metadata_score = nn.Linear(config.n_metadata, 1)

        # (c) global scoring
        if config.no_module_b:
            n_parts = 2 if config.text_only else 4  # pooled T^p, T^r (, V^p, V^r)
        else:
            n_parts = len(self.branch_names)
        n_parts += int(config.use_metadata)
        self.fusion = nn.Linear(n_parts * d, d)
        self.score_head = nn.Linear(d, 1)
        #: What each d-wide block of F_c is (the players of a score's explanation).
        self.fusion_block_names: tuple[str, ...] = (
            (("p_t", "r_t") if config.text_only else _INPUTS) if config.no_module_b else self.branch_names
        ) + (("metadata",) if config.use_metadata else ())
        #: Each block's mean over the training reviews, ``(n_blocks, d)``: the "absent" reference
        #: of :mod:`engine.model.explain`. Not a weight: it travels in model.json
        #: (``fusion_reference``); None for a model trained before it was stored.
        self.fusion_reference: torch.Tensor | None = None

        # (d) subtask heads + eq. 15 balance
        self.heads = nn.ModuleDict({_key(s): SubtaskHead(d, config.dropout) for s in self.subtask_names})
        self.balance = UncertaintyBalance(len(self.subtask_names)) if self.subtask_names else None

    # ------------------------------------------------------------------ helpers
    def set_metadata_normalization(self, mean, std) -> None:
        """Set the metadata normaliser (see :func:`engine.metadata.fit_normalizer`)."""
        if not self.config.use_metadata:
            raise ValueError("set_metadata_normalization: this model has use_metadata=False")
        mean = torch.as_tensor(np.asarray(mean, dtype=np.float32))
        std = torch.as_tensor(np.asarray(std, dtype=np.float32))
        if mean.shape != self.metadata_mean.shape or std.shape != self.metadata_std.shape:
            raise ValueError(f"metadata mean/std must have shape ({self.config.n_metadata},)")
        if bool((std <= 0).any()):
            raise ValueError("metadata std must be > 0")
        self.metadata_mean.copy_(mean)
        self.metadata_std.copy_(std)

    def count_parameters(self) -> dict[str, int]:
        """Parameter counts: total, trainable, text_encoder, and mmss (all but the encoder)."""
        enc = sum(p.numel() for p in self.text_encoder.parameters()) if self.text_encoder is not None else 0
        total = sum(p.numel() for p in self.parameters())
        return {
            "total": total,
            "trainable": sum(p.numel() for p in self.parameters() if p.requires_grad),
            "text_encoder": enc,
            "mmss": total - enc,
        }

    def optimizer_groups(self, lr_text: float, lr_rest: float) -> list[dict]:
        """Adam parameter groups: trainable encoder params at ``lr_text``, the rest at ``lr_rest``
        (:class:`~engine.config.TrainConfig`'s learning rates)."""
        enc = [p for p in self.text_encoder.parameters() if p.requires_grad] if self.text_encoder is not None else []
        enc_ids = {id(p) for p in enc}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in enc_ids]
        groups = [{"params": rest, "lr": lr_rest, "name": "rest"}]
        if enc:
            groups.append({"params": enc, "lr": lr_text, "name": "text_encoder"})
        return groups

    # ------------------------------------------------------------------ (a)
    def _text(self, batch: MMSSBatch, side: str, type_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        states = getattr(batch, f"{side}_text_states")
        if states is not None:
            mask = getattr(batch, f"{side}_text_mask").bool()
        else:
            if self.text_encoder is None:
                raise ValueError("this model has no text encoder: pass cached token states, not token ids")
            ids = getattr(batch, f"{side}_input_ids")
            am = getattr(batch, f"{side}_attention_mask")
            states = self.text_encoder(ids, am)  # (N, L, H)
            mask = am.bool()
        return self._project_text(states, mask, type_id)

    def _project_text(self, states: torch.Tensor, mask: torch.Tensor, type_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.text_proj(states.to(self.text_proj.weight.dtype)) + self.type_emb.weight[type_id]  # (N, L, d)
        return self.drop(x) * mask[..., None], mask

    def _regions(self, regions, mask, rows: int, slot: int, type_id: int, ref: torch.Tensor):
        """Project one side's regions and prepend its learned empty slot.

        The slot is a valid position only where the side has no region, so attention and
        pooling always see at least one position, and never a zero-image crash.
        """
        d = self.config.hidden
        if regions is None:
            regions = ref.new_zeros(rows, 0, self.config.image_feat_dim)
            mask = torch.zeros(rows, 0, dtype=torch.bool, device=ref.device)
        if regions.shape[1] > self.config.max_regions_total:
            raise ValueError(
                f"{regions.shape[1]} regions on one side exceed max_regions_total="
                f"{self.config.max_regions_total}; build batches with pad_regions"
            )
        mask = mask.bool()
        x = self.image_proj(regions.to(ref.dtype)) + self.type_emb.weight[type_id]  # (N, n, d)
        empty = (self.empty_slot[slot] + self.type_emb.weight[type_id]).expand(rows, 1, d)  # (N, 1, d)
        x = torch.cat([empty, x], dim=1)  # (N, 1 + n, d)
        m = torch.cat([~mask.any(dim=1, keepdim=True), mask], dim=1)  # (N, 1 + n)
        return self.drop(x) * m[..., None], m

    # ------------------------------------------------------------------ stages of forward
    def modality_inputs(self, batch: MMSSBatch) -> ModalityInputs:
        """(a): each input's features and mask per review, ``{"p_t": ((B, Lp, d), (B, Lp)), "r_t": ..,
        "p_v": .., "r_v": ..}`` (no image inputs under ``text_only``).

        In eval mode the inputs that do not read the review text are also given once per distinct
        (product, review images) pair (:class:`ModalityInputs`): every review without an image is
        its product's pair, so the blocks built from them alone are computed once per product."""
        rp = batch.review_product  # (B,)
        Tp, Tp_m = self._text(batch, "product", 0)  # (P, Lp, d): product rows encoded once, then gathered
        Tr, Tr_m = self._text(batch, "review", 1)  # (B, Lr, d), (B, Lr)
        inputs = ModalityInputs(p_t=(Tp[rp], Tp_m[rp]), r_t=(Tr, Tr_m))
        if self.config.text_only:
            if not self.training:
                inputs.distinct, inputs.pair = {"p_t": (Tp, Tp_m)}, rp
            return inputs
        # one self-attention over product + review regions together, then split
        P, B = batch.num_products, batch.num_reviews
        Vp, Vp_m = self._regions(batch.product_regions, batch.product_region_mask, P, 0, 2, Tr)  # (P, 1 + Np, d)
        Vr, Vr_m = self._regions(batch.review_regions, batch.review_region_mask, B, 1, 3, Tr)  # (B, 1 + Nr, d)
        if self.training:  # dropout draws anew for every review: no sharing
            pair_product, pair = rp, None
        else:
            # pairs: each product that has an image-less review (its review side: the empty slot,
            # then padding), then each review that has an image
            has_image = Vr_m[:, 1:].any(dim=1)  # (B,)
            with_image = has_image.nonzero().squeeze(1)  # (n,)
            products = torch.unique(rp[~has_image])  # (Q,) sorted
            Q = len(products)
            none, none_m = self._regions(None, None, Q, 1, 3, Tr)  # (Q, 1, d), (Q, 1)
            pad = Vr.shape[1] - 1
            none = F.pad(none, (0, 0, 0, pad))  # (Q, 1 + Nr, d): zeros where masked, as in Vr
            none_m = F.pad(none_m, (0, pad), value=False)  # (Q, 1 + Nr)
            pair_product = torch.cat([products, rp[with_image]])  # (Q + n,)
            Vr, Vr_m = torch.cat([none, Vr[with_image]]), torch.cat([none_m, Vr_m[with_image]])
            slot = torch.full((P,), -1, dtype=torch.long, device=rp.device)
            slot[products] = torch.arange(Q, device=rp.device)
            pair = slot[rp]  # (B,): each review's pair
            pair[with_image] = Q + torch.arange(len(with_image), device=rp.device)
        Vp, Vp_m = Vp[pair_product], Vp_m[pair_product]  # (U, 1 + Np, d), (U, 1 + Np)
        n_p = Vp.shape[1]
        V = self.image_attn(torch.cat([Vp, Vr], dim=1), torch.cat([Vp_m, Vr_m], dim=1))  # (U, n_p + n_r, d)
        per_pair = {"p_v": (V[:, :n_p], Vp_m), "r_v": (V[:, n_p:], Vr_m)}
        if pair is None:
            inputs.update(per_pair)
        else:
            inputs.update({k: (x[pair], m[pair]) for k, (x, m) in per_pair.items()})
            inputs.distinct = {"p_t": (Tp[pair_product], Tp_m[pair_product]), **per_pair}
            inputs.pair = pair
        return inputs

    def review_text_features(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``r_t`` input of :meth:`modality_inputs` from review token states ``(B, L, H)`` + mask
        (what :mod:`engine.model.text_attribution` moves along its path)."""
        return self._project_text(states, mask.bool(), 1)

    def normalized_metadata(self, batch: MMSSBatch) -> torch.Tensor | None:
        """``m_norm`` ``(B, M)`` of the metadata channel; None without it."""
        if not self.config.use_metadata:
            return None
        if batch.metadata is None:
            raise ValueError("use_metadata=True but the batch has no metadata")
        if batch.metadata.shape[1] != self.config.n_metadata:
            raise ValueError(f"metadata has {batch.metadata.shape[1]} features, expected {self.config.n_metadata}")
        return (batch.metadata.to(self.text_proj.weight.dtype) - self.metadata_mean) / self.metadata_std  # (B, M)

    def fusion_block(self, name: str, inputs: dict, meta: torch.Tensor | None) -> torch.Tensor:
        """One block of F_c, ``(B, d)`` (:attr:`fusion_block_names`): a branch of (b), a pooled input
        under ``no_module_b``, or the metadata embedding. A block that reads neither the review text
        nor the metadata is computed once per distinct input pair where ``inputs`` gives them
        (:class:`ModalityInputs`), then gathered: the same values, once per product."""
        if name == "metadata":
            return self.metadata_proj(meta)  # (B, d)
        distinct = getattr(inputs, "distinct", None)
        if distinct is not None and "r_t" not in name.split(" "):
            return self._block(name, distinct)[inputs.pair]  # (U, d) -> (B, d)
        return self._block(name, inputs)

    def _block(self, name: str, inputs: dict) -> torch.Tensor:
        if self.config.no_module_b:
            return soft_pool(*inputs[name])
        a, b = name.split(" ")
        x = torch.cat([inputs[a][0], inputs[b][0]], dim=1)  # (N, La + Lb, d)
        m = torch.cat([inputs[a][1], inputs[b][1]], dim=1)  # (N, La + Lb)
        return soft_pool(self.branches[_key(name)](x, m), m)  # (N, d)

    def fused_score(self, blocks: list[torch.Tensor], meta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(c): ``(f_g* (B, d), score (B,))`` from the blocks of F_c in :attr:`fusion_block_names` order."""
        F_c = torch.cat(blocks, dim=-1)  # (B, n_parts * d)
        f_g = F.gelu(self.fusion(self.drop(F_c)))  # (B, d)
        score = self.score_head(f_g).squeeze(-1)  # (B,)
        if meta is not None:
            score = score + self.metadata_score(meta).squeeze(-1)  # (B,)
        return f_g, score

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        batch: MMSSBatch,
        pseudo_labels: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        compute_loss: bool | None = None,
        subtask_keep: torch.Tensor | None = None,
    ) -> MMSSOutput:
        """Score a batch. With ``batch.labels`` (and ``compute_loss`` not False) the loss of
        eq. 16 is computed too, using ``pseudo_labels`` ``(B, 5)`` as the subtask targets
        y_s (default: y_g, as SSP-Label's epoch 1) and ``subtask_keep`` ``(B, 5)`` bool as
        which of them count (:meth:`compute_loss`)."""
        batch.validate()
        B, d = batch.num_reviews, self.config.hidden
        inputs = self.modality_inputs(batch)  # (a)
        meta = self.normalized_metadata(batch)
        # (b) interaction branches SoftPool(SelfAttention([A; B])) (or pooled inputs), + the metadata block
        blocks = [self.fusion_block(name, inputs, meta) for name in self.fusion_block_names]
        branch = dict(zip(self.branch_names, blocks)) if not self.config.no_module_b else {}
        zeros = inputs["r_t"][0].new_zeros(B, d)
        f_s = torch.stack([branch.get(s, zeros) for s in SUBTASKS], dim=1)  # (B, 5, d)
        # (c) fusion: F_c = [f_s ...; metadata] -> GELU(Linear) = f_g* -> Linear = score
        f_g, score = self.fused_score(blocks, meta)

        # (d) subtask heads
        star: dict[str, torch.Tensor] = {}
        sub: dict[str, torch.Tensor] = {}
        for s in self.subtask_names:
            star[s], sub[s] = self.heads[_key(s)](branch[s])  # (B, d), (B,)
        zero_score = score.new_zeros(B)
        sub_scores = torch.stack([sub.get(s, zero_score) for s in SUBTASKS], dim=1)  # (B, 5)
        f_s_star = torch.stack([star.get(s, zeros) for s in SUBTASKS], dim=1)  # (B, 5, d)
        subtask_mask = torch.tensor([s in sub for s in SUBTASKS], device=score.device)

        out = MMSSOutput(score, sub_scores, f_g, f_s, f_s_star, subtask_mask,
                         fused_blocks=torch.stack(blocks, dim=1), metadata_norm=meta)
        if batch.labels is not None and compute_loss is not False:
            out.loss, out.loss_parts = self.compute_loss(out, batch, pseudo_labels, generator=generator,
                                                         subtask_keep=subtask_keep)
        return out

    def compute_loss(
        self,
        out: MMSSOutput,
        batch: MMSSBatch,
        pseudo_labels: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        subtask_keep: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Eq. 16: ``L_tar + subtask_loss_weight * L_sub`` (plus ``subtask_rank_weight`` times the
        sub-scores' ranking hinge, our addition; 0 by default); returns (loss, detached parts).

        ``pseudo_labels`` ``(B, 5)`` in SUBTASKS order are the y_s of SSP-Label for the
        batch (:meth:`engine.pseudolabels.SSPLabeler.step`); None means y_s = y_g.
        ``subtask_keep`` ``(B, 5)`` bool: False leaves review i out of L_s (a disputed
        sub-score, :meth:`engine.pseudolabels.SSPLabeler.keep`); None keeps every one.
        """
        if batch.labels is None:
            raise ValueError("compute_loss: the batch has no labels")
        cfg = self.config
        y_g = batch.labels.to(out.score.dtype)  # (B,)
        l_tar = pairwise_hinge_loss(
            out.score,
            y_g,
            batch.review_product,
            margin=cfg.margin,
            adaptive=cfg.margin_mode is MarginMode.ADAPTIVE,
            negatives_per_positive=cfg.negatives_per_positive,
            generator=generator,
        )
        parts = {"target": l_tar.detach()}
        l_sub = None
        if self.subtask_names:
            if pseudo_labels is None:
                pseudo_labels = y_g[:, None].expand(-1, len(SUBTASKS))  # (B, 5)
            if pseudo_labels.shape != (y_g.shape[0], len(SUBTASKS)):
                raise ValueError(f"pseudo_labels must be (B, {len(SUBTASKS)}), got {tuple(pseudo_labels.shape)}")
            pseudo_labels = pseudo_labels.to(out.score.device, out.score.dtype)
            idx = [SUBTASKS.index(s) for s in self.subtask_names]
            if subtask_keep is not None and subtask_keep.shape != (y_g.shape[0], len(SUBTASKS)):
                raise ValueError(f"subtask_keep must be (B, {len(SUBTASKS)}), got {tuple(subtask_keep.shape)}")
            losses = torch.stack(
                [subtask_loss(out.sub_scores[:, i], pseudo_labels[:, i], y_g,
                              None if subtask_keep is None else subtask_keep[:, i]) for i in idx]
            )  # (S,)
            l_sub = self.balance(losses)
            parts["subtasks"] = l_sub.detach()
            for s, l in zip(self.subtask_names, losses):
                parts[f"subtask/{s}"] = l.detach()
        loss = total_loss(l_tar, l_sub, cfg.subtask_loss_weight)  # Eq. 16
        if self.subtask_names and cfg.subtask_rank_weight > 0:  # our addition (MMSSConfig)
            l_rank = torch.stack([
                subtask_rank_loss(out.sub_scores[:, i], pseudo_labels[:, i], batch.review_product,
                                  None if subtask_keep is None else subtask_keep[:, i], cfg.subtask_rank_adaptive)
                for i in idx
            ]).mean()
            parts["subtask_rank"] = l_rank.detach()
            loss = loss + cfg.subtask_rank_weight * l_rank
        parts["total"] = loss.detach()
        return loss, parts

    @torch.no_grad()
    def predict(self, batch: MMSSBatch) -> MMSSOutput:
        """Scores in eval mode, without gradients or loss (mode restored afterwards)."""
        was_training = self.training
        self.eval()
        try:
            return self.forward(batch, compute_loss=False)
        finally:
            self.train(was_training)
