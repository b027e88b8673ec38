"""The review-metadata channel: values, robustness and the no-vote-leakage guard."""

import inspect
import math
from dataclasses import dataclass

import numpy as np
import pytest

import engine.metadata as metadata_module
from engine.metadata import METADATA_FEATURES, METADATA_INPUT_FIELDS, compute_metadata, fit_normalizer

COL = {name: i for i, name in enumerate(METADATA_FEATURES)}
VOTE_WORDS = ("vote", "helpful", "label", "upvote")

REVIEWS = [
    {"text": "abc", "title": "ok", "rating": 5, "time": 300 * 86400, "n_images": 2},
    {"text": "a much longer review text", "title": None, "rating": 1, "time": 100 * 86400, "n_images": 0},
    {"text": "middle text", "title": "fine", "rating": 3, "time": 200 * 86400, "n_images": 0},
]


def test_shape_names_and_hand_values():
    x = compute_metadata(REVIEWS, product_text="Kettle 1.7 l")
    assert x.shape == (3, len(METADATA_FEATURES)) and x.dtype == np.float32
    assert x[0, COL["log_text_chars"]] == pytest.approx(math.log(4))
    assert x[1, COL["log_text_words"]] == pytest.approx(math.log(6))
    assert x[1, COL["log_title_chars"]] == 0.0
    assert x[:, COL["rating"]].tolist() == [5, 1, 3]
    assert x[:, COL["rating_minus_product_mean"]].tolist() == pytest.approx([2, -2, 0])
    assert x[:, COL["abs_rating_minus_product_mean"]].tolist() == pytest.approx([2, 2, 0])
    assert x[0, COL["log_n_images"]] == pytest.approx(math.log(3))
    assert x[:, COL["age_rank"]].tolist() == pytest.approx([0.0, 1.0, 0.5])  # 1 = oldest
    assert x[:, COL["log_days_before_newest"]].tolist() == pytest.approx([0, math.log(201), math.log(101)])
    assert x[:, COL["length_rank"]].tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert x[:, COL["log_product_reviews"]].tolist() == pytest.approx([math.log(4)] * 3)
    assert x[:, COL["has_product_text"]].tolist() == [1, 1, 1]
    assert compute_metadata(REVIEWS)[0, COL["has_product_text"]] == 0


def test_missing_rating_time_title_and_single_review():
    x = compute_metadata([{"text": "only text"}, {"text": "x", "rating": 4}])
    assert np.isfinite(x).all()
    assert x[:, COL["has_rating"]].tolist() == [0, 1]
    assert x[:, COL["has_time"]].tolist() == [0, 0]
    assert x[:, COL["age_rank"]].tolist() == [0.5, 0.5]
    assert x[1, COL["rating_minus_product_mean"]] == 0.0
    one = compute_metadata([{"text": "alone", "time": 5}])
    assert one[0, COL["age_rank"]] == 0.5 and one[0, COL["length_rank"]] == 0.5
    assert compute_metadata([]).shape == (0, len(METADATA_FEATURES))
    with pytest.raises(ValueError, match="rating"):
        compute_metadata([{"text": "x", "rating": "five"}])


def test_permuting_reviews_permutes_rows():
    perm = [2, 0, 1]
    x = compute_metadata(REVIEWS)
    y = compute_metadata([REVIEWS[i] for i in perm])
    np.testing.assert_allclose(y, x[perm], rtol=1e-6)


def test_vote_fields_change_nothing():
    base = compute_metadata(REVIEWS)
    with_votes = [
        dict(r, helpful_votes=h, total_votes=t, label=lab, upvotes=h)
        for r, h, t, lab in zip(REVIEWS, (250, 0, 3), (300, 10, 3), (4, 0, 1))
    ]
    np.testing.assert_array_equal(compute_metadata(with_votes), base)
    flipped = [dict(r, helpful_votes=h, total_votes=h) for r, h in zip(REVIEWS, (0, 999, 7))]
    np.testing.assert_array_equal(compute_metadata(flipped), base)

    @dataclass
    class Review:  # objects work too, and their vote attributes are never read
        text: str
        title: str | None
        rating: int
        time: int
        n_images: int
        helpful_votes: int
        total_votes: int

    objs = [Review(**r, helpful_votes=1000, total_votes=1000) for r in REVIEWS]
    np.testing.assert_array_equal(compute_metadata(objs), base)


def test_no_vote_derived_name_anywhere():
    names = list(METADATA_INPUT_FIELDS) + list(METADATA_FEATURES)
    names += list(inspect.signature(compute_metadata).parameters)
    for name in names:
        assert not any(w in name.lower() for w in VOTE_WORDS), name
    source = inspect.getsource(metadata_module)
    for field in ("helpful_votes", "total_votes", "upvotes", '"label"', "'label'"):
        assert field not in source


def test_fit_normalizer():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    mean, std = fit_normalizer(x)
    assert mean.tolist() == [2.0, 5.0]
    assert std.tolist() == [1.0, 1.0]  # constant column: std raised to 1
    with pytest.raises(ValueError):
        fit_normalizer(np.zeros((0, 2)))
