"""``evaluate``: MAP, NDCG@3, NDCG@5 of a model on a split, overall and per category,
with the review-length and random baselines on the same reviews."""
from __future__ import annotations

import random
from typing import Any

from engine.metrics import evaluate_rankings

from .common import cache_for, load_model_version
from .data import FeatureBuilder, grouped, predict
from .recipes import resolve_device


def _metrics(prepared, scores, category=None) -> dict[str, float] | None:
    s, y = grouped(prepared, scores, category=category)
    if not s:
        return None
    return {k: round(v, 2) for k, v in evaluate_rankings(s, y).items()} | {"products": len(s)}


def run_evaluate(db, model: str | None = None, split: str = "test", *, baselines: bool = False,
                 device: str = "auto", seed: int = 0) -> dict[str, Any]:
    from storage import repository as repo

    device = resolve_device(device)
    with db.begin() as s:
        mv = repo.get_model_version(s, model) if model else repo.get_active_model(s)
        if mv is None:
            raise ValueError("no model to evaluate: give --model NAME or activate one")
        products = repo.load_catalogue(s, db.media_dir, splits=[split], use_corrections=False)
    net, _config, _card = load_model_version(mv, device)
    prepared = FeatureBuilder(net, cache_for(db)).build(products, labelled_only=True)
    if len(prepared) == 0:
        raise ValueError(f"split {split!r} has no labelled reviews")
    scores, _ = predict(net, prepared, device=device)
    rankings = {"model": scores}
    if baselines:
        rankings["review length"] = [len(t) for t in prepared.texts]
        rng = random.Random(seed)
        rankings["random"] = [rng.random() for _ in prepared.texts]
    out: dict[str, Any] = {"model": mv.name, "split": split, "reviews": len(prepared), "rankings": {}}
    cats = sorted(set(prepared.categories))
    for name, sc in rankings.items():
        out["rankings"][name] = {
            "overall": _metrics(prepared, sc),
            "per_category": {c: _metrics(prepared, sc, category=c) for c in cats},
        }
    return out
