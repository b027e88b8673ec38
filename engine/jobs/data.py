"""From the store's plain records to model inputs: texts, cached features, metadata, batches.

Nothing here knows the database: jobs pass :class:`storage.records.TrainingProduct`
lists in (read through the repository) and get :class:`ReviewExample` lists and batches out.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Container, Sequence

import numpy as np
import torch

from engine.metadata import compute_metadata
from engine.config import MMSSConfig
from engine.model.batch import ReviewExample, collate
from engine.model.mmss import MMSSModel

from .cache import FeatureCache, content_key

ProgressFn = Callable[[int, int], None]


def product_text(p) -> str:
    parts = [s.strip() for s in (p.title, p.description) if s and s.strip()]
    return ". ".join(parts)


def review_text(r) -> str:
    title = (r.title or "").strip()
    text = (r.text or "").strip()
    return f"{title}. {text}" if title else text


@dataclass
class Prepared:
    """Examples of a set of products, in product order, plus what evaluation needs."""

    examples: list[ReviewExample]
    review_pks: list[int]
    product_ids: list[str]
    categories: list[str]
    labels: list[int | None]
    texts: list[str] = field(default_factory=list)
    disputed: list[tuple[str, ...]] = field(default_factory=list)
    """Per example, the subtasks a moderator disputed for its review (``TrainingReview.disputed``)."""
    sources: list[tuple[str, str]] = field(default_factory=list)
    """Each review's stored ``(title, text)``, of which ``texts`` is the read form."""

    def __len__(self) -> int:
        return len(self.examples)


class FeatureBuilder:
    """Turns products into :class:`ReviewExample` lists, reading frozen-encoder outputs
    from the :class:`FeatureCache` (and filling it on a miss).

    With a trainable text encoder the examples carry raw text (tokenized in the batch).
    """

    def __init__(self, model: MMSSModel, cache: FeatureCache, *, on_progress: ProgressFn | None = None,
                 load_text_encoder: Callable[[], object] | None = None):
        self.model = model
        self.config: MMSSConfig = model.config
        self.cache = cache
        self.on_progress = on_progress
        self._image_encoder = None
        self._load_text_encoder = load_text_encoder
        enc = model.text_encoder
        if enc is not None:
            self.cache_text = enc.frozen
            identity = enc.encoder_identity() if self.cache_text else ""
        else:
            # A model loaded without its (frozen) encoder: cached states only; the encoder is
            # loaded through ``load_text_encoder`` on the first cache miss, if ever.
            from engine.model.text import encoder_identity

            self.cache_text = not self.config.text_finetune
            identity = encoder_identity(self.config.text_encoder, self.config.max_tokens) if self.cache_text else ""
        self.text_namespace = content_key("text", identity)[:16] if self.cache_text else ""

    # ---------------------------------------------------------------- text
    def _text_encoder(self):
        if self.model.text_encoder is None:
            if self._load_text_encoder is None:
                raise ValueError("this model was built without a text encoder and texts are missing from the feature cache")
            self.model.text_encoder = self._load_text_encoder()
        return self.model.text_encoder

    def text_states(self, texts: Sequence[str]) -> list[torch.Tensor]:
        keys = [content_key(self.text_namespace, t) for t in texts]

        def compute(idx: list[int]) -> list[torch.Tensor]:
            return self._text_encoder().encode_text_states([texts[i] for i in idx], batch_size=32)

        # fp16 in memory (as stored), float32 only in the padded batch
        states = self.cache.get_many(self.text_namespace, keys, compute, batch_size=128,
                                     on_progress=self.on_progress, as_float=False)
        return [s if s.dtype == torch.float16 else s.to(torch.float16) for s in states]

    # ---------------------------------------------------------------- images
    def _encoder(self):
        if self._image_encoder is None:
            from engine.model.vision import GridImageEncoder

            self._image_encoder = GridImageEncoder()
            dev = next(self.model.parameters()).device
            self._image_encoder.to(dev)
        return self._image_encoder

    def image_regions(self, paths: Sequence[str]) -> list[torch.Tensor]:
        """Grid regions ``(49, 1280)`` of each image file (cached by file content)."""
        if not paths:
            return []
        from PIL import Image

        enc = self._encoder()
        ns = content_key("image", enc.identity())[:16]
        datas = [Path(p).read_bytes() for p in paths]
        keys = [content_key(ns, d) for d in datas]

        def compute(idx: list[int]) -> list[torch.Tensor]:
            import io

            imgs = []
            for i in idx:
                with Image.open(io.BytesIO(datas[i])) as im:
                    imgs.append(im.convert("RGB"))
            return enc.encode(imgs)

        return [t.float() for t in self.cache.get_many(ns, keys, compute, batch_size=16)]

    # ---------------------------------------------------------------- examples
    def build(self, products: Sequence, *, labelled_only: bool = False, with_index: bool = False,
              only: Container[int] | None = None) -> Prepared:
        """Examples of the reviews of ``products`` (those with a label when ``labelled_only``,
        those whose pk is in ``only`` when given). Metadata is always computed over all the
        reviews a product carries, so a review's features do not depend on which of its
        siblings are scored with it."""
        cfg = self.config
        rows = []  # (product, review)
        for p in products:
            for r in p.reviews:
                if labelled_only and r.label is None:
                    continue
                if only is not None and r.id not in only:
                    continue
                rows.append((p, r))
        r_texts = [review_text(r) for _, r in rows]
        prods = list({p.id: p for p, _ in rows}.values())
        p_texts = {p.id: product_text(p) for p in prods}
        if self.cache_text:
            uniq = list(dict.fromkeys([*p_texts.values(), *r_texts]))
            states = dict(zip(uniq, self.text_states(uniq)))
        use_images = not cfg.text_only
        p_imgs: dict[int, list[torch.Tensor] | None] = {}
        if use_images:
            for p in prods:
                p_imgs[p.id] = self.image_regions(p.image_paths) if p.image_paths else None
        meta: dict[int, np.ndarray] = {}
        if cfg.use_metadata:
            for p in prods:
                # Over ALL reviews of the product: every one is known at scoring time.
                revs = list(p.reviews)
                m = compute_metadata(
                    [{"text": r.text, "title": r.title, "rating": r.rating, "time": r.time, "n_images": len(r.image_paths)} for r in revs],
                    product_text=p_texts[p.id],
                )
                for r, row in zip(revs, m):
                    meta[r.id] = row
        examples = []
        for i, ((p, r), rt) in enumerate(zip(rows, r_texts)):
            ex = ReviewExample(product_key=p.id, label=None if r.label is None else float(r.label))
            if self.cache_text:
                ex.review_text_states = states[rt]
                ex.product_text_states = states[p_texts[p.id]]
            else:
                ex.review_text = rt
                ex.product_text = p_texts[p.id]
            if use_images:
                ex.product_images = p_imgs.get(p.id)
                ex.review_images = self.image_regions(r.image_paths) if r.image_paths else None
            if cfg.use_metadata:
                ex.metadata = meta[r.id]
            if with_index:
                ex.index = i
            examples.append(ex)
        return Prepared(
            examples=examples,
            review_pks=[r.id for _, r in rows],
            product_ids=[p.product_id for p, _ in rows],
            categories=[p.category for p, _ in rows],
            labels=[r.label for _, r in rows],
            texts=r_texts,
            disputed=[tuple(getattr(r, "disputed", ())) for _, r in rows],
            sources=[(r.title or "", r.text or "") for _, r in rows],
        )


def product_batches(
    prepared: Prepared, batch_size: int, *, shuffle: bool = False, seed: int = 0, labelled_only: bool = False
) -> list[list[int]]:
    """Index lists of batches made of whole products (the hinge pairs reviews of one
    product), at most ``batch_size`` reviews each; a larger product is cut into chunks
    (shuffled first when ``shuffle``), so every batch can form within-product pairs."""
    groups: dict[str, list[int]] = {}
    for i, pid in enumerate(prepared.product_ids):
        if labelled_only and prepared.labels[i] is None:
            continue
        groups.setdefault(pid, []).append(i)
    rng = random.Random(seed)
    chunks: list[list[int]] = []
    for idx in groups.values():
        idx = list(idx)
        if shuffle:
            rng.shuffle(idx)
        for s in range(0, len(idx), batch_size):
            chunks.append(idx[s : s + batch_size])
    if shuffle:
        rng.shuffle(chunks)
    batches: list[list[int]] = []
    cur: list[int] = []
    for c in chunks:
        if cur and len(cur) + len(c) > batch_size:
            batches.append(cur)
            cur = []
        cur = cur + c
    if cur:
        batches.append(cur)
    return batches


def _length(states, text) -> int:
    return int(states.shape[0]) if states is not None else len(text or "")


def inference_batches(prepared: Prepared, batch_size: int) -> list[list[int]]:
    """Batches for scoring, sorted by (product text, review text) length.

    Without a loss nothing pairs reviews of one product, and a review's score does not
    depend on the other reviews of its batch, so batches need not hold whole products; a
    batch of similar lengths pads little (token states are padded to the longest one), which
    makes the head's forward cheaper (benchmarks/: docs/performance.md)."""
    ex = prepared.examples
    order = sorted(range(len(ex)), key=lambda i: (_length(ex[i].product_text_states, ex[i].product_text),
                                                  _length(ex[i].review_text_states, ex[i].review_text), i))
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def make_batch(prepared: Prepared, idx: Sequence[int], model: MMSSModel, *, with_labels: bool = False):
    exs = [prepared.examples[i] for i in idx]
    if not with_labels:
        exs = [ReviewExample(**{**e.__dict__, "label": None, "index": None}) for e in exs]
    return collate(exs, model.config, model.text_encoder)


@torch.inference_mode()  # no autograd bookkeeping at all (a few % faster than no_grad)
def predict(model: MMSSModel, prepared: Prepared, batch_size: int = 64, device: str | torch.device = "cpu",
            on_progress: ProgressFn | None = None, amp: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(N,)`` and sub-scores ``(N, 5)`` of every example, in order."""
    scores, subs, _ = _predict(model, prepared, batch_size, device, on_progress, amp, explain=False)
    return scores, subs


def predict_explained(model: MMSSModel, prepared: Prepared, batch_size: int = 64, device: str | torch.device = "cpu",
                      on_progress: ProgressFn | None = None, amp: bool = False,
                      highlight_steps: int = 0) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Like :func:`predict`, plus each score's explanation (:meth:`ScoreExplanation.record`,
    :mod:`engine.model.explain`). The scores are the explained ones: equal to the sum of their
    parts (on CPU the same as :func:`predict`'s to float precision; under CUDA autocast, the
    head after F_c in float32). ``highlight_steps`` > 0 adds the review text highlight
    (:mod:`engine.jobs.highlight`, integrated gradients with that many quadrature nodes) under
    the explanation's ``"highlight"`` key, where the encoder's tokenizer gives offsets."""
    return _predict(model, prepared, batch_size, device, on_progress, amp, explain=True,
                    highlight_steps=highlight_steps)


def _offsets_for(model):
    from engine.model.text import TokenOffsets

    try:
        return TokenOffsets(model.config.text_encoder, model.config.max_tokens)
    except (ValueError, OSError):  # no fast tokenizer: scores keep their parts, without a highlight
        return None


def _predict(model, prepared, batch_size, device, on_progress, amp, *, explain: bool, highlight_steps: int = 0):
    from engine.jobs.highlight import KEY, highlight_records
    from engine.model.explain import explain as explain_scores

    offsets = _offsets_for(model) if explain and highlight_steps > 0 and prepared.sources else None
    model.eval()
    n = len(prepared)
    scores = np.zeros(n, dtype=np.float64)
    subs = np.zeros((n, 5), dtype=np.float64)
    records: list[dict] = [{} for _ in range(n)] if explain else []
    done = 0
    # no autograd bookkeeping at all, unless highlights need gradients (inference tensors cannot
    # enter a backward pass)
    with torch.inference_mode(offsets is None):
        for idx in inference_batches(prepared, batch_size):
            batch = make_batch(prepared, idx, model).to(device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp and str(device).startswith("cuda")):
                out = model.predict(batch)
            if explain:
                why = explain_scores(model, out)
                scores[idx] = why.score.cpu().numpy()
                for i, record in zip(idx, why.records()):
                    records[i] = record
                if offsets is not None:
                    lights = highlight_records(model, batch, [prepared.texts[i] for i in idx],
                                               [prepared.sources[i] for i in idx], offsets, highlight_steps)
                    for i, light in zip(idx, lights):
                        if light is not None:
                            records[i][KEY] = light
            else:
                scores[idx] = out.score.float().cpu().numpy()
            subs[idx] = out.sub_scores.float().cpu().numpy()
            done += len(idx)
            if on_progress:
                on_progress(done, n)
    return scores, subs, records


def block_means(model: MMSSModel, prepared: Prepared, batch_size: int = 64, device: str | torch.device = "cpu",
                amp: bool = False) -> torch.Tensor:
    """Each F_c block's mean over ``prepared``'s reviews (eval mode): the "absent" reference of
    a score's explanation when ``prepared`` holds the training reviews
    (:func:`engine.model.explain.fusion_block_means`)."""
    from engine.model.explain import fusion_block_means

    model.eval()

    def outputs():
        for idx in inference_batches(prepared, batch_size):
            batch = make_batch(prepared, idx, model).to(device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp and str(device).startswith("cuda")):
                yield model.predict(batch)

    return fusion_block_means(model, outputs())


def grouped(prepared: Prepared, scores: Sequence[float], *, labelled_only: bool = True, category: str | None = None):
    """(scores, labels) dicts keyed by product id, as :func:`engine.metrics.evaluate_rankings` takes."""
    s: dict[str, list[float]] = {}
    y: dict[str, list[int]] = {}
    for i, pid in enumerate(prepared.product_ids):
        lab = prepared.labels[i]
        if labelled_only and lab is None:
            continue
        if category is not None and prepared.categories[i] != category:
            continue
        s.setdefault(pid, []).append(float(scores[i]))
        y.setdefault(pid, []).append(int(lab) if lab is not None else 0)
    return s, y
