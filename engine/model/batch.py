"""What MM-SS reads (MMSS.md): a batch of B reviews of P products, and how it is built.

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

from engine.config import MMSSConfig
from engine.model.text import TextEncoder
from engine.model.vision import cap_regions

__all__ = ["MMSSBatch", "ReviewExample", "pad_states", "pad_regions", "collate"]

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
    """A list of ``(L_i, H)`` token states -> ``(N, L, H)`` float32 zero-padded + ``(N, L)`` bool mask."""
    if not seqs:
        raise ValueError("pad_states: no sequences")
    H = seqs[0].shape[-1]
    for i, s in enumerate(seqs):
        if s.ndim != 2 or s.shape[1] != H:
            raise ValueError(f"pad_states: sequence {i} has shape {tuple(s.shape)}, expected (L, {H})")
    if len({s.dtype for s in seqs}) > 1:
        seqs = [s.to(torch.float32) for s in seqs]
    # one C++ copy (pad_sequence), then one cast, instead of a Python loop of slice assignments
    out = torch.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True).to(torch.float32)  # (N, L, H)
    if out.shape[1] == 0:  # every sequence empty: one masked position, as before
        out = out.new_zeros(len(seqs), 1, H)
    lengths = torch.tensor([int(s.shape[0]) for s in seqs])
    mask = torch.arange(out.shape[1])[None, :] < lengths[:, None]  # (N, L)
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
