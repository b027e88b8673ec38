"""``score``: write score + five sub-scores of every review under a model into the store.

Streams products in chunks (features, forward, write, forget), so memory stays flat on
catalogues of any size. Each chunk's predictions are one transaction: a killed job leaves
whole chunks written, and the next run (default: only reviews missing a prediction) goes on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from storage.records import PredictionIn

from .common import cache_for, ensure_starter_model, load_model_version
from .data import FeatureBuilder, iter_chunks, predict
from .recipes import resolve_device

EventFn = Callable[..., None]


@dataclass
class ScoreResult:
    model: str
    scored: int
    seconds: float
    cache_hits: int
    cache_misses: int


def run_score(db, model: str | None = None, *, only_missing: bool = True, device: str = "auto",
              chunk_reviews: int = 2048, batch_size: int = 64, on_event: EventFn = lambda *a, **k: None,
              should_stop: Callable[[], bool] = lambda: False) -> ScoreResult:
    from storage import repository as repo

    device = resolve_device(device)
    if model is None:
        ensure_starter_model(db)  # first run: the bundled starter model scores the catalogue
    with db.begin() as s:
        mv = repo.get_model_version(s, model) if model else repo.get_active_model(s)
        if mv is None:
            raise ValueError("no model to score with: train one, or activate one with `models activate NAME`")
        wanted = repo.review_pks_missing_prediction(s, mv.id) if only_missing else None
        products = repo.load_catalogue(s, db.media_dir, review_pks=wanted)
    net, config, _card = load_model_version(mv, device)
    cache = cache_for(db)
    builder = FeatureBuilder(net, cache)
    total = sum(len(p.reviews) for p in products)
    on_event("start", model=mv.name, reviews=total, device=device)
    t0 = time.monotonic()
    done = 0
    for chunk in iter_chunks(products, chunk_reviews):
        if should_stop():
            on_event("cancelled", scored=done)
            break
        prepared = builder.build(chunk)
        scores, subs = predict(net, prepared, batch_size=batch_size, device=device, amp=device.startswith("cuda"))
        preds = [PredictionIn(pk, float(sc), tuple(float(v) for v in sub)) for pk, sc, sub in zip(prepared.review_pks, scores, subs)]
        db.run(lambda s: repo.write_predictions(s, mv.id, preds))
        done += len(preds)
        el = time.monotonic() - t0
        on_event("progress", done=done, total=total, reviews_per_s=round(done / max(el, 1e-9), 2),
                 eta_s=round((total - done) * el / max(done, 1), 1))
    seconds = time.monotonic() - t0
    if done:
        with db.begin() as s:
            repo.record_audit(s, "engine", "score", "model", mv.id, {"reviews": done, "seconds": round(seconds, 2)})
    on_event("done", model=mv.name, scored=done, seconds=round(seconds, 3), cache_hits=cache.hits, cache_misses=cache.misses)
    return ScoreResult(mv.name, done, seconds, cache.hits, cache.misses)
