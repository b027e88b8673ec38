"""The starter model's shipped scores of the bundled sample (engine/starter.py): used at first
launch instead of a minute of scoring, but only where they are the model's own answer: the
same weights, the same product content, a review not scored yet."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest
from sqlalchemy import update

import resources
from engine.model_card import WEIGHTS_FILE, file_sha256
from engine.starter import SAMPLE_SCORES, apply_shipped_scores, ensure_starter_model
from storage import open_database
from storage import repository as repo
from storage.importers import import_path
from storage.models import ModelVersion, Review


@pytest.fixture
def sample_db(tmp_path):
    if not (resources.STARTER_MODEL_DIR / WEIGHTS_FILE).exists() or not SAMPLE_SCORES.exists():
        pytest.skip("no bundled starter model or shipped scores")
    db = open_database(str(tmp_path / "sample.db"), media_dir=tmp_path / "media")
    import_path(db, resources.sample_path())
    yield db
    db.dispose()


def _scores(db):
    with db.begin() as s:
        mv = repo.get_active_model(s)
        return {pk: sc for rows in repo.scores_by_product(s, mv.id).values() for pk, sc, _ in rows}


def test_the_shipped_file_belongs_to_the_bundled_starter_and_sample(sample_db):
    """Regenerate with `python -m benchmarks.make_starter --sample-scores-only` when this fails:
    otherwise every first launch scores for a minute instead of showing scores at once."""
    with gzip.open(SAMPLE_SCORES, "rt", encoding="utf-8") as fh:
        payload = json.load(fh)
    assert payload["model_sha256"] == file_sha256(resources.STARTER_MODEL_DIR / WEIGHTS_FILE)
    with sample_db.begin() as s:
        fingerprints = repo.product_fingerprints(s)
    assert {pid: d for pid, d in fingerprints.values()} == {pid: e["fingerprint"] for pid, e in payload["products"].items()}


def test_first_launch_scores_every_sample_review_from_the_shipped_file(sample_db):
    assert ensure_starter_model(sample_db)
    assert apply_shipped_scores(sample_db) == 737
    scores = _scores(sample_db)
    assert len(scores) == 737 and all(isinstance(v, float) for v in scores.values())
    with gzip.open(SAMPLE_SCORES, "rt", encoding="utf-8") as fh:
        payload = json.load(fh)
    with sample_db.begin() as s:
        ids = repo.review_ids_by_pk(s, list(scores))
    shipped = {rid: v[0] for e in payload["products"].values() for rid, v in e["reviews"].items()}
    assert all(scores[pk] == pytest.approx(shipped[ids[pk]]) for pk in scores)
    # each with the explanation scoring stored: parts that add up to the score, against the training means
    with sample_db.begin() as s:
        mv = repo.get_active_model(s)
        for pk in list(scores)[:50]:
            parts = repo.score_parts(s, mv.id, pk)
            assert parts is not None and abs(parts.base + sum(p.value for p in parts.parts) - scores[pk]) < 1e-4
            assert "training" in parts.reference
    assert apply_shipped_scores(sample_db) == 0  # nothing left to score: nothing rewritten
    with sample_db.begin() as s:
        events = [e for e in repo.list_audit_events(s) if e.action == "score"]
    assert [e.details.get("shipped") for e in events] == [True]


def test_a_product_edited_since_is_left_to_real_scoring(sample_db):
    with sample_db.begin() as s:
        first_product = next(iter(repo.review_pks_by_product(s)))
        edited = repo.review_pks_by_product(s)[first_product]
        s.execute(update(Review).where(Review.id == edited[0]).values(text="Changed after the scores were computed"))
    ensure_starter_model(sample_db)
    n = apply_shipped_scores(sample_db)
    assert n == 737 - len(edited)  # the whole product: its other reviews' features depend on it too
    assert not set(edited) & set(_scores(sample_db))


def test_other_weights_get_no_shipped_scores(sample_db, tmp_path):
    ensure_starter_model(sample_db)
    with sample_db.begin() as s:
        s.execute(update(ModelVersion).values(checkpoint_sha256="0" * 64))  # a retrained starter, say
    assert apply_shipped_scores(sample_db) == 0
    assert _scores(sample_db) == {}


def test_no_file_or_no_model_is_not_an_error_but_a_broken_file_is(sample_db, tmp_path):
    assert apply_shipped_scores(sample_db, tmp_path / "absent.json.gz") == 0
    assert apply_shipped_scores(sample_db) == 0  # no active model yet
    ensure_starter_model(sample_db)
    broken = tmp_path / "broken.json.gz"
    shutil.copyfile(SAMPLE_SCORES, broken)
    broken.write_bytes(broken.read_bytes()[:100])
    with pytest.raises(ValueError, match="broken.json.gz"):
        apply_shipped_scores(sample_db, broken)
    assert _scores(sample_db) == {}
