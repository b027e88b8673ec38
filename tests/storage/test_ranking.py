"""One definition of a disagreement (storage/ranking.py), used by the queue and by the flags'
resolution after retraining."""
from __future__ import annotations

import itertools
import random

from sqlalchemy import select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Review
from storage.ranking import RankInput, find_disagreements, model_agrees, rank_product
from storage.records import PredictionIn


def test_the_queue_lists_exactly_the_reviews_the_model_does_not_agree_with():
    rng = random.Random(4)
    for _ in range(200):
        n = rng.randint(2, 7)
        rows = [(pk, rng.choice([None, rng.uniform(-2, 2)]), rng.choice([None, 0, 1, 2, 3, 4])) for pk in range(n)]
        queued = {d.review_pk for d in find_disagreements({"P": rows}, limit=100)}
        items = [RankInput(*r) for r in rows]
        expected = {pk for pk, score, label in rows if score is not None and label is not None
                    and not model_agrees(items, pk, label)}
        assert queued == expected


def test_model_agrees_means_placed_among_the_reviews_of_that_label():
    items = [RankInput(1, 0.9, 4), RankInput(2, 0.5, 2), RankInput(3, 0.1, 0), RankInput(4, None, 3)]
    assert model_agrees(items, 2, 2)
    assert model_agrees(items, 2, 4)  # with review 1, the 4s would hold the top two places: it is there
    assert not model_agrees(items, 3, 4)  # a 4 at the bottom: the model disagrees
    assert model_agrees(items, 3, 0) and not model_agrees(items, 3, 3)  # a 3 belongs above the 2
    assert not model_agrees(items, 4, 3)  # not scored: the model says nothing
    assert rank_product(items)[4].model_rank is None


def test_resolve_flags_applies_the_same_rule(db, good_catalogue):
    import_path(db, good_catalogue)
    with db.begin() as s:
        reviews = s.execute(select(Review.id, Review.product_pk, Review.label).order_by(Review.id)).all()
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        scores = {pk: float(i % 3) + 0.1 * i for i, (pk, _ppk, _lab) in enumerate(reviews)}
        repo.write_predictions(s, mv.id, [PredictionIn(pk, sc, (None,) * 5) for pk, sc in scores.items()])
        flagged = {}
        for (pk, ppk, _lab), corrected in zip(reviews, itertools.cycle([0, 2, 4, 1, 3])):
            flagged[repo.add_flag(s, pk, "model too low", "mod", corrected).id] = (pk, ppk, corrected)
    with db.begin() as s:
        n = repo.resolve_flags(s, mv.id)
        resolved = {f.id for f in repo.list_flags(s) if f.resolution}
    by_product: dict[int, list[RankInput]] = {}
    for pk, ppk, lab in reviews:
        by_product.setdefault(ppk, []).append(RankInput(pk, scores[pk], lab))
    expected = {fid for fid, (pk, ppk, corrected) in flagged.items() if model_agrees(by_product[ppk], pk, corrected)}
    assert resolved == expected and n == len(expected)
    assert 0 < len(expected) < len(flagged)  # the case mixes both outcomes
