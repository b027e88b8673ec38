"""The review text highlight stored inside a prediction's explanation (no migration: a key of the
explanation JSON) reads back with the review's detail; older explanations and bad shapes read as
no highlight, never as an error, and leave the score's parts intact."""
from __future__ import annotations

from sqlalchemy import select

from storage import repository as repo
from storage.importers import import_path
from storage.models import Review
from storage.records import PredictionIn, TextHighlight

PARTS = {"version": 1, "reference": "training mean", "base": 0.5, "score": 1.25,
         "parts": [["meta:rating", "star rating", 0.5], ["block:p_t r_t", "product text \u00d7 review text", 0.25]]}
LIGHT = {"method": "integrated gradients", "of": "score", "baseline": "zeros", "rule": "gauss-legendre", "steps": 4,
         "delta": 0.1234, "gap": 3.1e-07, "other": 0.01, "title": [[0, 4, 0.02]],
         "text": [[0, 5, 0.05], [6, 11, -0.03], [12, 15, 0.0734]], "read_to": 15}


def test_a_highlight_round_trips_with_the_review_detail(db, good_catalogue, tmp_path):
    import_path(db, good_catalogue)
    with db.begin() as s:
        mv = repo.register_model_version(s, "m", "/c", "0" * 64)
        pks = list(s.scalars(select(Review.id).order_by(Review.id)))[:4]
        bad = {**LIGHT, "text": [[5, 2, 0.1]]}  # end before start: not a span
        repo.write_predictions(s, mv.id, [PredictionIn(pks[0], 1.25, (None,) * 5, {**PARTS, "highlight": LIGHT}),
                                          PredictionIn(pks[1], 1.25, (None,) * 5, PARTS),
                                          PredictionIn(pks[2], 1.25, (None,) * 5, {**PARTS, "highlight": bad}),
                                          PredictionIn(pks[3], 1.25, (None,) * 5, {**PARTS, "highlight": "x"})])
    with db.begin() as s:
        details = [repo.get_review_detail(s, pk, mv.id, tmp_path) for pk in pks]
    light = details[0].explanation.highlight
    assert light == TextHighlight(title=((0, 4, 0.02),), text=((0, 5, 0.05), (6, 11, -0.03), (12, 15, 0.0734)),
                                  read_to=15, baseline="zeros", steps=4, delta=0.1234, gap=3.1e-07, other=0.01)
    assert light.largest == 0.0734
    for d in details[1:]:  # scored before the highlight, or a shape this version does not read
        assert d.explanation is not None and d.explanation.highlight is None
        assert [p.value for p in d.explanation.parts] == [0.5, 0.25]
    with db.begin() as s:  # the exporters' bulk read carries it too
        assert repo.score_parts_by_pks(s, mv.id, pks[:1])[pks[0]].highlight == light
    assert TextHighlight.from_json({**LIGHT, "read_to": None}).read_to is None
    assert TextHighlight.from_json({**LIGHT, "title": [], "text": []}).largest == 0.0
