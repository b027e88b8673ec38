"""``score``: write score + five sub-scores of every review under a model into the store, each
with its explanation (the named parts that add up to the score, :mod:`engine.model.explain`).

Streams products in chunks (read from the store, features, forward, write, forget), so
memory stays flat on catalogues of any size: only the review ids are held for the whole
catalogue. Each chunk's predictions are one transaction: a killed job leaves whole chunks
written, and the next run (default: only reviews missing a prediction) goes on.

A model whose text encoder is frozen is loaded without it: its token states come from the
feature cache, and the encoder is loaded only when a text is missing there (rescoring an
unchanged catalogue never loads it).
"""
from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from storage.records import PredictionIn

from engine.model.text_attribution import DEFAULT_STEPS
from engine.starter import apply_shipped_scores

from .common import cache_for, ensure_starter_model, file_sha256, load_model_version
from .data import FeatureBuilder, predict, predict_explained
from .recipes import resolve_device

EventFn = Callable[..., None]


@dataclass
class ScoreResult:
    model: str
    scored: int
    seconds: float
    cache_hits: int
    cache_misses: int
    highlight_seconds: float = 0.0  # the second pass that adds the text highlights


def load_for_scoring(mv, device: str = "cpu"):
    """``(model, config)``: like :func:`~engine.jobs.common.load_model_version` (same checks),
    but a frozen text encoder is left out (cached token states suffice)."""
    from engine.checkpoint import load_checkpoint, read_card

    path = Path(mv.checkpoint_path)
    weights = path / "model.safetensors"
    if not weights.exists():
        raise ValueError(f"model {mv.name!r}: checkpoint {weights} is missing")
    card = read_card(path)
    cfg = card.get("config") or {}
    frozen = cfg.get("text_finetune_layers", 0) == 0 and not card.get("weights_include_text_encoder")
    if not frozen:
        net, config, _card = load_model_version(mv, device)
        return net, config
    if mv.checkpoint_sha256 and file_sha256(weights) != mv.checkpoint_sha256:
        raise ValueError(f"model {mv.name!r}: {weights} does not match its registered sha256 (changed or partial)")
    net, config, _card = load_checkpoint(path, load_text_encoder=False)
    return net.to(device), config


@contextlib.contextmanager
def _startup_heap_frozen():
    """The objects that exist when the scoring loop starts (torch, the model, the libraries:
    hundreds of thousands) left out of the garbage collector's passes until it ends
    (``gc.freeze``): the loop's own allocations still get collected, but an old-generation pass
    no longer walks the whole heap (about a tenth of a cached rescoring went to those passes);
    and young passes every 50,000 allocations instead of 700, as ``engine import`` does. Both
    put back afterwards (``gc.unfreeze``: nothing stays uncollectable)."""
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _chunks(by_product: dict[int, list[int]], max_reviews: int):
    """Lists of product pks with about ``max_reviews`` reviews to score each."""
    cur: list[int] = []
    n = 0
    for ppk, rpks in by_product.items():
        cur.append(ppk)
        n += len(rpks)
        if n >= max_reviews:
            yield cur
            cur, n = [], 0
    if cur:
        yield cur


def run_score(db, model: str | None = None, *, only_missing: bool = True, device: str = "auto",
              chunk_reviews: int = 1024, batch_size: int = 64, on_event: EventFn = lambda *a, **k: None,
              should_stop: Callable[[], bool] = lambda: False, explain: bool = True,
              highlight_steps: int = DEFAULT_STEPS) -> ScoreResult:
    """Score (by default only the reviews without a prediction of the model) and store each
    prediction with its explanation (``explain``; :mod:`engine.model.explain`: the parts that add
    up to the score, stored in the prediction's ``explanation``). ``explain=False`` stores none
    (what scoring did before; benchmarks/scoring_explain.py measures the difference). With
    ``explain``, ``highlight_steps`` > 0 also stores the review text highlight
    (:mod:`engine.jobs.highlight`: integrated gradients with that many Gauss-Legendre nodes); 0 none.
    The highlights come in a second pass once every score is written (``highlight`` events);
    ``ScoreResult.seconds`` is the time to the scores, ``highlight_seconds`` that of the pass."""
    from engine.model.text import TextEncoder
    from storage import repository as repo

    device = resolve_device(device)
    if model is None:
        ensure_starter_model(db)  # first run: the bundled starter model scores the catalogue
        if only_missing:
            apply_shipped_scores(db)  # its scores of the bundled sample, where they apply
    with db.begin() as s:
        mv = repo.get_model_version(s, model) if model else repo.get_active_model(s)
        if mv is None:
            raise ValueError("no model to score with: train one, or activate one with `models activate NAME`")
        by_product = repo.review_pks_by_product(s, mv.id if only_missing else None)
    if not by_product:  # nothing to score: no model to load
        on_event("start", model=mv.name, reviews=0, device=device)
        on_event("done", model=mv.name, scored=0, seconds=0.0, cache_hits=0, cache_misses=0)
        return ScoreResult(mv.name, 0, 0.0, 0, 0)
    net, config = load_for_scoring(mv, device)
    cache = cache_for(db)
    builder = FeatureBuilder(net, cache, load_text_encoder=lambda: TextEncoder.from_config(config).to(device).eval())
    total = sum(len(v) for v in by_product.values())
    on_event("start", model=mv.name, reviews=total, device=device)
    highlight = explain and highlight_steps > 0

    def one_pass(steps: int, progress: Callable[[int, float], None]) -> tuple[int, bool]:
        """Score every chunk (explained with ``steps`` highlight nodes when ``explain``) and write
        it; (reviews written, whether a stop request ended the pass)."""
        n = 0
        for ppks in _chunks(by_product, chunk_reviews):
            if should_stop():
                return n, True
            with db.begin() as s:
                products = repo.load_products(s, db.media_dir, ppks, use_corrections=False)
            wanted = {pk for ppk in ppks for pk in by_product[ppk]} if only_missing else None
            prepared = builder.build(products, only=wanted)
            del products
            if explain:
                scores, subs, whys = predict_explained(net, prepared, batch_size=batch_size, device=device,
                                                       amp=device.startswith("cuda"), highlight_steps=steps)
            else:
                scores, subs = predict(net, prepared, batch_size=batch_size, device=device,
                                       amp=device.startswith("cuda"))
                whys = [None] * len(scores)
            preds = [PredictionIn(pk, float(sc), tuple(float(v) for v in sub), why)
                     for pk, sc, sub, why in zip(prepared.review_pks, scores, subs, whys)]
            del prepared
            db.run(lambda s: repo.write_predictions(s, mv.id, preds))
            n += len(preds)
            progress(n, time.monotonic())
        return n, False

    def rate(kind: str, t_start: float):
        def report(n: int, now: float) -> None:
            el = now - t_start
            eta = round((total - n) * el / max(n, 1), 1)
            if kind == "progress":
                on_event("progress", done=n, total=total, reviews_per_s=round(n / max(el, 1e-9), 2), eta_s=eta)
            else:
                on_event("highlight", done=n, total=total, eta_s=eta)
        return report

    # Scores first (the explanation's parts are cheap), then a second pass adds the text
    # highlights, ~4x the cost of the scores themselves (docs/performance.md): the scores reach
    # the screen as fast as without highlights, and the words fill in after.
    with _startup_heap_frozen():
        t0 = time.monotonic()
        done, stopped = one_pass(0, rate("progress", t0))
        seconds = time.monotonic() - t0
        highlight_seconds = 0.0
        if highlight and done and not stopped:
            t1 = time.monotonic()
            on_event("highlight", done=0, total=total)
            _n, stopped = one_pass(highlight_steps, rate("highlight", t1))
            highlight_seconds = time.monotonic() - t1
    if stopped:
        on_event("cancelled", scored=done)
    if done:
        with db.begin() as s:
            repo.record_audit(s, "engine", "score", "model", mv.id, {"reviews": done, "seconds": round(seconds, 2)})
    on_event("done", model=mv.name, scored=done, seconds=round(seconds, 3), cache_hits=cache.hits,
             cache_misses=cache.misses, highlight_seconds=round(highlight_seconds, 3))
    return ScoreResult(mv.name, done, seconds, cache.hits, cache.misses, highlight_seconds)
