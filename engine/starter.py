"""The bundled starter model and the scores it ships for the bundled sample (no torch).

First launch on a fresh profile imports the sample and must show scores at once, not after
the ~1 minute it takes to load the text encoder and score 737 reviews on two cores. The
starter model's scores of the sample are computed when the starter is built
(``python -m benchmarks.make_starter``) and shipped beside its weights
(:data:`SAMPLE_SCORES`). They are used for a product only when

- the model they are applied to has the weights they were computed with (its registered
  sha256 equals the file's ``model_sha256``), and
- the product's content fingerprint (:func:`storage.repository.product_fingerprints`: its
  text, images and reviews as the model reads them) equals the one recorded with them,

and only for reviews the model has no prediction for. Anything else is left to a real
``engine score`` run, which this makes quick or empty. Everything here runs in the app's
store worker as well as in the engine: it reads JSON and writes rows, it never imports torch.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Optional

from engine.model_card import WEIGHTS_FILE, card_configs, file_sha256, read_card
from resources import STARTER_MODEL_DIR

SAMPLE_SCORES = STARTER_MODEL_DIR / "sample_scores.json.gz"
FORMAT = "reviewscope-shipped-scores"


def ensure_starter_model(db, actor: str = "reviewscope") -> bool:
    """Register and activate the bundled starter model in a database that has no model yet."""
    from engine.config import flat_settings
    from storage import repository as repo

    weights = STARTER_MODEL_DIR / WEIGHTS_FILE
    if not weights.exists():
        return False
    card = read_card(STARTER_MODEL_DIR)
    with db.begin() as s:
        if repo.list_model_versions(s):
            return False
        repo.register_model_version(
            s, "starter", str(STARTER_MODEL_DIR), file_sha256(weights), config=flat_settings(*card_configs(card)),
            metrics=card.get("metrics", {}), card={"bundled": True}, activate=True, actor=actor,
        )
    return True


def dump_shipped_scores(db, model_name: str, path: Path = SAMPLE_SCORES) -> int:
    """Write ``model_name``'s predictions of every product of ``db`` with their fingerprints
    (what :func:`apply_shipped_scores` reads back). Returns the number of reviews written."""
    from sqlalchemy import select

    from storage import repository as repo
    from storage.models import Prediction, Review, SUBSCORE_COLUMNS

    with db.begin() as s:
        mv = repo.get_model_version(s, model_name)
        if mv is None:
            raise ValueError(f"no model {model_name!r}")
        fingerprints = repo.product_fingerprints(s)
        cols = [getattr(Prediction, c) for c in SUBSCORE_COLUMNS]
        rows = s.execute(select(Review.product_pk, Review.review_id, Prediction.explanation, Prediction.score, *cols)
                         .join(Prediction, Prediction.review_pk == Review.id)
                         .where(Prediction.model_version_id == mv.id))
        products: dict[str, dict] = {}
        n = 0
        for ppk, review_id, explanation, score, *subs in rows:
            product_id, digest = fingerprints[ppk]
            entry = products.setdefault(product_id, {"fingerprint": digest, "reviews": {}, "explanations": {}})
            entry["reviews"][review_id] = [score, *subs]
            if explanation is not None:
                entry["explanations"][review_id] = explanation
            n += 1
        payload = {"format": FORMAT, "format_version": 1, "model_sha256": mv.checkpoint_sha256, "products": products}
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(payload, fh, separators=(",", ":"), sort_keys=True)
    return n


def apply_shipped_scores(db, path: Path = SAMPLE_SCORES, actor: str = "reviewscope") -> int:
    """Write the shipped scores of the active model where they apply (see the module's
    docstring); the number of reviews scored so. 0 when nothing applies or there is no file."""
    from storage import repository as repo
    from storage.records import PredictionIn

    payload = _read(path)
    if payload is None:
        return 0
    with db.begin() as s:
        mv = repo.get_active_model(s)
        if mv is None or mv.checkpoint_sha256 != payload.get("model_sha256"):
            return 0
        missing = repo.review_pks_by_product(s, mv.id)
        if not missing:
            return 0
        shipped = payload.get("products") or {}
        fingerprints = repo.product_fingerprints(s, list(missing))
        wanted = {ppk for ppk, (product_id, digest) in fingerprints.items()
                  if (shipped.get(product_id) or {}).get("fingerprint") == digest}
        if not wanted:
            return 0
        ids = repo.review_ids_by_pk(s, [pk for ppk in wanted for pk in missing[ppk]])
        preds = []
        for ppk in wanted:
            entry = shipped[fingerprints[ppk][0]]
            scores, explanations = entry["reviews"], entry.get("explanations") or {}
            for pk in missing[ppk]:
                values = scores.get(ids.get(pk))
                if values is not None:  # the score, its five sub-scores and its explanation, as scoring stored them
                    preds.append(PredictionIn(pk, float(values[0]), tuple(None if v is None else float(v) for v in values[1:]),
                                              explanations.get(ids[pk])))
        n = repo.write_predictions(s, mv.id, preds)
        if n:
            repo.record_audit(s, actor, "score", "model", mv.id, {"reviews": n, "seconds": 0.0, "shipped": True})
    return n


def _read(path: Path) -> Optional[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            payload = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: shipped scores unreadable ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    return payload
