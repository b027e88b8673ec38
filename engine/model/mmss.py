"""MM-SS (MMSS.md, paper Figure 2): modules (a)-(d), the batch it reads and the output it gives.

Data layout. A batch holds B reviews and the P distinct products they belong to; product
tensors have P rows and ``review_product[b]`` is the row of review b's product (it is also
the ranking group of the pairwise loss). Storing each product once lets a batch of many
reviews of one product encode the product text once.

Text comes either as token ids (the encoder runs inside the model) or as precomputed token
states ``(N, L, H)`` + mask (a frozen encoder's output, cached on disk by the jobs layer);
images come as region features ``(N, n, F)`` + mask (precomputed RoIs or grid features).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.losses import UncertaintyBalance, pairwise_hinge_loss, subtask_loss
from engine.model.config import SUBTASKS, MarginMode, MMSSConfig
from engine.model.layers import SelfAttention, SubtaskHead, soft_pool
from engine.model.text import TextEncoder, encoder_hidden_size
from engine.model.vision import cap_regions

__all__ = [
    "MMSSBatch",
    "ReviewExample",
    "MMSSOutput",
    "MMSSModel",
    "pad_states",
    "pad_regions",
    "collate",
]

_INPUTS = ("p_t", "r_t", "p_v", "r_v")  # type-embedding ids of the four inputs


def _key(subtask: str) -> str:
    return subtask.replace(" ", "__")  # "p_t r_t" -> "p_t__r_t" (module names have no spaces)


# ====================================================================== batch
@dataclass
class MMSSBatch:
    """One batch of B reviews of P products. Masks are bool, True = real data.

    Exactly one of ``*_input_ids`` / ``*_text_states`` is given for each side. Region tensors
    are optional (None = no image on that side for the whole batch).

    Attributes
    ----------
    review_product : (B,) long
        Row of each review's product in the product tensors; also its ranking group.
    review_input_ids, review_attention_mask : (B, Lr) long
    review_text_states : (B, Lr, H) float;  review_text_mask : (B, Lr) bool
    product_input_ids, product_attention_mask : (P, Lp) long
    product_text_states : (P, Lp, H) float;  product_text_mask : (P, Lp) bool
    product_regions : (P, Np, F) float;  product_region_mask : (P, Np) bool
    review_regions : (B, Nr, F) float;  review_region_mask : (B, Nr) bool
    metadata : (B, M) float, raw :func:`engine.metadata.compute_metadata` output
    labels : (B,) float, human labels y_g (training / evaluation only)
    review_index : (B,) long, index of each review in the SSP-Label bank (training only)
    """

    review_product: torch.Tensor
    review_input_ids: torch.Tensor | None = None
    review_attention_mask: torch.Tensor | None = None
    review_text_states: torch.Tensor | None = None
    review_text_mask: torch.Tensor | None = None
    product_input_ids: torch.Tensor | None = None
    product_attention_mask: torch.Tensor | None = None
    product_text_states: torch.Tensor | None = None
    product_text_mask: torch.Tensor | None = None
    product_regions: torch.Tensor | None = None
    product_region_mask: torch.Tensor | None = None
    review_regions: torch.Tensor | None = None
    review_region_mask: torch.Tensor | None = None
    metadata: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    review_index: torch.Tensor | None = None

    @property
    def num_reviews(self) -> int:
        return int(self.review_product.shape[0])

    @property
    def num_products(self) -> int:
        for t in (self.product_input_ids, self.product_text_states):
            if t is not None:
                return int(t.shape[0])
        return int(self.review_product.max()) + 1 if self.num_reviews else 0

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "MMSSBatch":
        moved = {
            f.name: (v.to(device, non_blocking=non_blocking) if torch.is_tensor(v) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return MMSSBatch(**moved)

    def validate(self) -> None:
        """Raise ValueError on inconsistent shapes (called by the model's forward)."""
        B = self.num_reviews
        for side, n_rows in (("review", B), ("product", None)):
            ids = getattr(self, f"{side}_input_ids")
            states = getattr(self, f"{side}_text_states")
            if (ids is None) == (states is None):
                raise ValueError(f"MMSSBatch: give exactly one of {side}_input_ids / {side}_text_states")
            if ids is not None:
                am = getattr(self, f"{side}_attention_mask")
                if am is None or am.shape != ids.shape:
                    raise ValueError(f"MMSSBatch: {side}_attention_mask must match {side}_input_ids")
                rows = ids.shape[0]
            else:
                tm = getattr(self, f"{side}_text_mask")
                if states.ndim != 3 or tm is None or tm.shape != states.shape[:2]:
                    raise ValueError(f"MMSSBatch: {side}_text_states (N, L, H) needs {side}_text_mask (N, L)")
                rows = states.shape[0]
            if n_rows is not None and rows != n_rows:
                raise ValueError(f"MMSSBatch: {side} text has {rows} rows, expected {n_rows}")
        P = self.num_products
        if B and (int(self.review_product.min()) < 0 or int(self.review_product.max()) >= P):
            raise ValueError(f"MMSSBatch: review_product must index the {P} product rows")
        for side, rows in (("product", P), ("review", B)):
            r = getattr(self, f"{side}_regions")
            m = getattr(self, f"{side}_region_mask")
            if r is not None and (r.ndim != 3 or m is None or m.shape != r.shape[:2] or r.shape[0] != rows):
                raise ValueError(f"MMSSBatch: {side}_regions must be ({rows}, n, F) with a ({rows}, n) mask")
        for name in ("metadata", "labels", "review_index"):
            t = getattr(self, name)
            if t is not None and t.shape[0] != B:
                raise ValueError(f"MMSSBatch: {name} has {t.shape[0]} rows, expected {B}")

    # ------------------------------------------------------------------ builders
    @classmethod
    def build(
        cls,
        config: MMSSConfig,
        review_product: Sequence[int] | torch.Tensor,
        *,
        review_texts: Sequence[str] | None = None,
        product_texts: Sequence[str] | None = None,
        review_states: Sequence[torch.Tensor] | None = None,
        product_states: Sequence[torch.Tensor] | None = None,
        text_encoder: TextEncoder | None = None,
        product_images: Sequence[Sequence[torch.Tensor] | torch.Tensor | None] | None = None,
        review_images: Sequence[Sequence[torch.Tensor] | torch.Tensor | None] | None = None,
        metadata: np.ndarray | torch.Tensor | Sequence[Sequence[float]] | None = None,
        labels: Sequence[float] | torch.Tensor | None = None,
        review_index: Sequence[int] | torch.Tensor | None = None,
    ) -> "MMSSBatch":
        """Assemble a batch from plain data.

        Text per side: raw ``*_texts`` (tokenized with ``text_encoder``) or cached
        ``*_states`` (a list of ``(L_i, H)`` tensors from ``encode_text_states``).
        Images per side: for each product / review, a list of per-image region tensors
        ``(n_j, F)`` (capped per MMSS.md), an already concatenated ``(n, F)`` tensor, or
        None / [] for no image. ``metadata`` is ``(B, M)``.
        """
        kw: dict = {"review_product": torch.as_tensor(review_product, dtype=torch.long)}
        for side, texts, states in (
            ("review", review_texts, review_states),
            ("product", product_texts, product_states),
        ):
            if (texts is None) == (states is None):
                raise ValueError(f"give exactly one of {side}_texts / {side}_states")
            if texts is not None:
                if text_encoder is None:
                    raise ValueError(f"{side}_texts need a text_encoder to tokenize them")
                enc = text_encoder.tokenize(texts)
                kw[f"{side}_input_ids"] = enc["input_ids"]
                kw[f"{side}_attention_mask"] = enc["attention_mask"]
            else:
                kw[f"{side}_text_states"], kw[f"{side}_text_mask"] = pad_states(states)
        if not config.text_only:
            for side, images in (("product", product_images), ("review", review_images)):
                if images is not None:
                    kw[f"{side}_regions"], kw[f"{side}_region_mask"] = pad_regions(images, config)
        if metadata is not None:
            kw["metadata"] = torch.as_tensor(np.asarray(metadata, dtype=np.float32))
        if labels is not None:
            kw["labels"] = torch.as_tensor(labels, dtype=torch.float32)
        if review_index is not None:
            kw["review_index"] = torch.as_tensor(review_index, dtype=torch.long)
        batch = cls(**kw)
        batch.validate()
        return batch


def pad_states(seqs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A list of ``(L_i, H)`` token states -> ``(N, L, H)`` zero-padded + ``(N, L)`` bool mask."""
    if not seqs:
        raise ValueError("pad_states: no sequences")
    H = seqs[0].shape[-1]
    L = max(1, max(int(s.shape[0]) for s in seqs))
    out = seqs[0].new_zeros(len(seqs), L, H, dtype=torch.float32)
    mask = torch.zeros(len(seqs), L, dtype=torch.bool)
    for i, s in enumerate(seqs):
        if s.ndim != 2 or s.shape[1] != H:
            raise ValueError(f"pad_states: sequence {i} has shape {tuple(s.shape)}, expected (L, {H})")
        out[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = True
    return out, mask


def pad_regions(
    items: Sequence[Sequence[torch.Tensor] | torch.Tensor | None], config: MMSSConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per product / review region lists -> ``(N, n, F)`` zero-padded + ``(N, n)`` bool mask.

    Each item is a list of per-image ``(n_j, F)`` tensors (capped by
    :func:`engine.model.vision.cap_regions` with the config's caps), a concatenated
    ``(n, F)`` tensor (only the total cap applies), or None / [] for no image.
    n may be 0 when no item has a region; the model then uses its empty slots.
    """
    Fdim = config.image_feat_dim
    sides: list[torch.Tensor] = []
    for i, item in enumerate(items):
        if item is None or (not torch.is_tensor(item) and len(item) == 0):
            r = torch.zeros(0, Fdim)
        elif torch.is_tensor(item):
            r = item[: config.max_regions_total]
        else:
            r = cap_regions(item, config.max_regions_per_image, config.max_regions_total, config.image_source)
        if r.ndim != 2 or r.shape[1] != Fdim:
            raise ValueError(
                f"pad_regions: item {i} has regions of shape {tuple(r.shape)}, expected (n, {Fdim}) "
                f"for image_source={config.image_source.value!r}"
            )
        sides.append(r.float())
    n = max((r.shape[0] for r in sides), default=0)
    out = torch.zeros(len(sides), n, Fdim)
    mask = torch.zeros(len(sides), n, dtype=torch.bool)
    for i, r in enumerate(sides):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = True
    return out, mask


@dataclass
class ReviewExample:
    """One review with its product's inputs: the per-item unit a Dataset yields.

    ``collate`` groups a list of these into an :class:`MMSSBatch`, storing each distinct
    ``product_key`` once. Give text either raw (``*_text``) or cached (``*_text_states``),
    the same kind for all examples of a batch.
    """

    product_key: Hashable
    review_text: str | None = None
    review_text_states: torch.Tensor | None = None
    product_text: str | None = None
    product_text_states: torch.Tensor | None = None
    product_images: Sequence[torch.Tensor] | torch.Tensor | None = None
    review_images: Sequence[torch.Tensor] | torch.Tensor | None = None
    metadata: Sequence[float] | np.ndarray | None = None
    label: float | None = None
    index: int | None = None


def collate(
    examples: Sequence[ReviewExample],
    config: MMSSConfig,
    text_encoder: TextEncoder | None = None,
) -> MMSSBatch:
    """``collate_fn`` for a DataLoader of :class:`ReviewExample` (bind config with partial)."""
    if not examples:
        raise ValueError("collate: empty batch")
    rows: dict[Hashable, int] = {}
    first: list[ReviewExample] = []
    review_product = []
    for ex in examples:
        if ex.product_key not in rows:
            rows[ex.product_key] = len(first)
            first.append(ex)
        review_product.append(rows[ex.product_key])

    def all_or_none(values: list, what: str):
        present = [v is not None for v in values]
        if all(present):
            return values
        if any(present):
            raise ValueError(f"collate: {what} is given for some examples and not others")
        return None

    cached = examples[0].review_text_states is not None
    kw: dict = {}
    if cached:
        kw["review_states"] = all_or_none([e.review_text_states for e in examples], "review_text_states")
        kw["product_states"] = all_or_none([e.product_text_states for e in first], "product_text_states")
    else:
        kw["review_texts"] = [e.review_text or "" for e in examples]
        kw["product_texts"] = [e.product_text or "" for e in first]
    has_any = lambda vals: any(v is not None for v in vals)  # noqa: E731
    p_imgs = [e.product_images for e in first]
    r_imgs = [e.review_images for e in examples]
    meta = all_or_none([e.metadata for e in examples], "metadata")
    labels = all_or_none([e.label for e in examples], "label")
    index = all_or_none([e.index for e in examples], "index")
    return MMSSBatch.build(
        config,
        review_product,
        text_encoder=text_encoder,
        product_images=p_imgs if has_any(p_imgs) else None,
        review_images=r_imgs if has_any(r_imgs) else None,
        metadata=np.stack([np.asarray(m, dtype=np.float32) for m in meta]) if meta else None,
        labels=labels,
        review_index=index,
        **kw,
    )


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
    """

    score: torch.Tensor
    sub_scores: torch.Tensor
    f_g: torch.Tensor
    f_s: torch.Tensor
    f_s_star: torch.Tensor
    subtask_mask: torch.Tensor
    loss: torch.Tensor | None = None
    loss_parts: dict[str, torch.Tensor] | None = None


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

    def encode_text_states(self, texts: Sequence[str], batch_size: int = 32) -> list[torch.Tensor]:
        """Token states per text for the feature cache; see :meth:`TextEncoder.encode_text_states`."""
        if self.text_encoder is None:
            raise ValueError("this model was built without a text encoder")
        return self.text_encoder.encode_text_states(texts, batch_size)

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

    def optimizer_groups(self) -> list[dict]:
        """Adam parameter groups: trainable encoder params at lr_text, the rest at lr_rest."""
        enc = [p for p in self.text_encoder.parameters() if p.requires_grad] if self.text_encoder is not None else []
        enc_ids = {id(p) for p in enc}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in enc_ids]
        groups = [{"params": rest, "lr": self.config.lr_rest, "name": "rest"}]
        if enc:
            groups.append({"params": enc, "lr": self.config.lr_text, "name": "text_encoder"})
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

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        batch: MMSSBatch,
        pseudo_labels: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        compute_loss: bool | None = None,
    ) -> MMSSOutput:
        """Score a batch. With ``batch.labels`` (and ``compute_loss`` not False) the loss of
        eq. 16 is computed too, using ``pseudo_labels`` ``(B, 5)`` as the subtask targets
        y_s (default: y_g, as SSP-Label's epoch 1)."""
        batch.validate()
        cfg = self.config
        rp = batch.review_product  # (B,)
        B = batch.num_reviews
        d = cfg.hidden

        # (a) text: product rows are encoded once, then gathered per review
        Tp, Tp_m = self._text(batch, "product", 0)  # (P, Lp, d), (P, Lp)
        Tr, Tr_m = self._text(batch, "review", 1)  # (B, Lr, d), (B, Lr)
        Tp, Tp_m = Tp[rp], Tp_m[rp]  # (B, Lp, d), (B, Lp)
        inputs = {"p_t": (Tp, Tp_m), "r_t": (Tr, Tr_m)}

        # (a) vision: one self-attention over product + review regions together, then split
        if not cfg.text_only:
            P = batch.num_products
            Vp, Vp_m = self._regions(batch.product_regions, batch.product_region_mask, P, 0, 2, Tr)
            Vr, Vr_m = self._regions(batch.review_regions, batch.review_region_mask, B, 1, 3, Tr)
            Vp, Vp_m = Vp[rp], Vp_m[rp]  # (B, 1 + Np, d), (B, 1 + Np)
            n_p = Vp.shape[1]
            V = self.image_attn(torch.cat([Vp, Vr], dim=1), torch.cat([Vp_m, Vr_m], dim=1))  # (B, n_p + n_r, d)
            inputs["p_v"] = (V[:, :n_p], Vp_m)  # (B, 1 + Np, d)
            inputs["r_v"] = (V[:, n_p:], Vr_m)  # (B, 1 + Nr, d)

        # (b) interaction branches: SoftPool(SelfAttention([A; B]))
        zeros = Tr.new_zeros(B, d)
        branch: dict[str, torch.Tensor] = {}
        if cfg.no_module_b:
            names = ("p_t", "r_t") if cfg.text_only else _INPUTS
            parts = [soft_pool(*inputs[k]) for k in names]  # each (B, d)
        else:
            for s in self.branch_names:
                a, b = s.split(" ")
                x = torch.cat([inputs[a][0], inputs[b][0]], dim=1)  # (B, La + Lb, d)
                m = torch.cat([inputs[a][1], inputs[b][1]], dim=1)  # (B, La + Lb)
                branch[s] = soft_pool(self.branches[_key(s)](x, m), m)  # (B, d)
            parts = [branch[s] for s in self.branch_names]
        f_s = torch.stack([branch.get(s, zeros) for s in SUBTASKS], dim=1)  # (B, 5, d)

        # (c) fusion: F_c = [f_s ...; metadata] -> GELU(Linear) = f_g* -> Linear = score
        if cfg.use_metadata:
            if batch.metadata is None:
                raise ValueError("use_metadata=True but the batch has no metadata")
            if batch.metadata.shape[1] != cfg.n_metadata:
                raise ValueError(f"metadata has {batch.metadata.shape[1]} features, expected {cfg.n_metadata}")
            meta = (batch.metadata.to(Tr.dtype) - self.metadata_mean) / self.metadata_std  # (B, M)
            parts.append(self.metadata_proj(meta))  # (B, d)
        else:
            meta = None
        F_c = torch.cat(parts, dim=-1)  # (B, n_parts * d)
        f_g = F.gelu(self.fusion(self.drop(F_c)))  # (B, d)
        score = self.score_head(f_g).squeeze(-1)  # (B,)
        if meta is not None:
            score = score + self.metadata_score(meta).squeeze(-1)  # (B,)

        # (d) subtask heads
        star: dict[str, torch.Tensor] = {}
        sub: dict[str, torch.Tensor] = {}
        for s in self.subtask_names:
            star[s], sub[s] = self.heads[_key(s)](branch[s])  # (B, d), (B,)
        zero_score = score.new_zeros(B)
        sub_scores = torch.stack([sub.get(s, zero_score) for s in SUBTASKS], dim=1)  # (B, 5)
        f_s_star = torch.stack([star.get(s, zeros) for s in SUBTASKS], dim=1)  # (B, 5, d)
        subtask_mask = torch.tensor([s in sub for s in SUBTASKS], device=score.device)

        out = MMSSOutput(score, sub_scores, f_g, f_s, f_s_star, subtask_mask)
        if batch.labels is not None and compute_loss is not False:
            out.loss, out.loss_parts = self.compute_loss(out, batch, pseudo_labels, generator=generator)
        return out

    def compute_loss(
        self,
        out: MMSSOutput,
        batch: MMSSBatch,
        pseudo_labels: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Eq. 16: ``L_tar + subtask_loss_weight * L_sub``; returns (loss, detached parts).

        ``pseudo_labels`` ``(B, 5)`` in SUBTASKS order are the y_s of SSP-Label for the
        batch (:meth:`engine.pseudolabels.SSPLabeler.step`); None means y_s = y_g.
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
        loss = l_tar
        if self.subtask_names:
            if pseudo_labels is None:
                pseudo_labels = y_g[:, None].expand(-1, len(SUBTASKS))  # (B, 5)
            if pseudo_labels.shape != (y_g.shape[0], len(SUBTASKS)):
                raise ValueError(f"pseudo_labels must be (B, {len(SUBTASKS)}), got {tuple(pseudo_labels.shape)}")
            pseudo_labels = pseudo_labels.to(out.score.device, out.score.dtype)
            idx = [SUBTASKS.index(s) for s in self.subtask_names]
            losses = torch.stack(
                [subtask_loss(out.sub_scores[:, i], pseudo_labels[:, i], y_g) for i in idx]
            )  # (S,)
            l_sub = self.balance(losses)
            loss = loss + cfg.subtask_loss_weight * l_sub
            parts["subtasks"] = l_sub.detach()
            for s, l in zip(self.subtask_names, losses):
                parts[f"subtask/{s}"] = l.detach()
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
