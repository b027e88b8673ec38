"""One definition of a disagreement (storage/ranking.py), used by the queue and by the flags'
resolution after retraining."""
from __future__ import annotations

import itertools
import random

from sqlalchemy import select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Review
from storage.ranking import (
    MODEL_TOO_HIGH,
    MODEL_TOO_LOW,
    Disagreement,
    DisagreementMode,
    RankInput,
    find_disagreements,
    model_agrees,
    rank_product,
)
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


def _reference_queue(by_product, mode, direction=None):
    """The queue as it was computed before it was cut at the limit: every disagreement of every
    product as a RankInfo, sorted, filtered by direction afterwards."""
    found = []
    for key, rows in by_product.items():
        items = [RankInput(pk, score, label) for pk, score, label in rows]
        infos = dict(rank_product(items).items())
        for r in items:
            info = infos[r.review_pk]
            if info.label_gap:
                found.append(Disagreement(key, r.review_pk, float(r.score), int(r.label), info))
    if mode is DisagreementMode.RANK_GAP:
        found.sort(key=lambda d: (-abs(d.info.rank_gap or 0), -abs(d.info.label_gap or 0), d.review_pk))
    else:
        found.sort(key=lambda d: (-abs(d.info.label_gap or 0), -abs(d.info.rank_gap or 0), d.review_pk))
    return [d for d in found if direction is None or d.direction == direction]


def test_the_queue_cut_at_its_limit_is_the_head_of_the_full_sorted_queue():
    rng = random.Random(11)
    by_product = {}
    pk = 0
    for p in range(60):
        rows = []
        for _ in range(rng.randint(1, 40)):
            pk += 1
            rows.append((pk, rng.choice([rng.uniform(-2, 2), round(rng.uniform(-1, 1), 1)]),
                         rng.choice([None, 0, 1, 2, 3, 4])))
        by_product[f"P{p}"] = [r for r in rows if r[1] is not None]
    for mode in DisagreementMode:
        for direction in (None, MODEL_TOO_HIGH, MODEL_TOO_LOW):
            full = _reference_queue(by_product, mode, direction)
            assert len(full) > 50
            for limit in (None, 1, 37, len(full) + 5):
                got = find_disagreements(by_product, mode, limit=limit, direction=direction)
                assert got == full[:limit]


def test_ranks_are_read_lazily_but_equal_every_review_computed_at_once():
    rng = random.Random(5)
    items = [RankInput(pk, rng.choice([None, rng.uniform(-1, 1)]), rng.choice([None, 0, 1, 2, 3, 4]),
                       rng.randint(0, 5)) for pk in range(1, 300)]
    ranks = rank_product(items)
    assert list(ranks) == [r.review_pk for r in items] and len(ranks) == len(items)
    assert ranks.get(10_000) is None and 10_000 not in ranks
    one = ranks[150]
    assert dict(ranks.items())[150] == one
    scored = sorted((r for r in items if r.score is not None), key=lambda r: -r.score)
    assert [ranks[r.review_pk].model_rank for r in scored] == list(range(1, len(scored) + 1))
