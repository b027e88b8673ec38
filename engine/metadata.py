"""Review-metadata features: facts about a review that are known when it is scored.

Beyond the paper (see MMSS.md, "Beyond the paper"): simple facts such as length, star
rating and age rank are strong helpfulness signals on real data, so MM-SS fuses them into
module (c) next to the five interaction features.

The features are computed per product, because several of them are relative to the other
reviews of the same product (rating minus the product's mean, age rank, length rank).

Leakage guard: only the fields in :data:`METADATA_INPUT_FIELDS` are ever read from a review.
Anything derived from votes (the label source) is never read, whatever else the input
objects carry; ``tests/engine/test_metadata.py`` checks this.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "METADATA_INPUT_FIELDS",
    "METADATA_FEATURES",
    "METADATA_LABELS",
    "compute_metadata",
    "fit_normalizer",
]

#: The only review fields this module reads (dict keys or attribute names).
#: ``text`` (str), ``title`` (str or None), ``rating`` (1-5 or None),
#: ``time`` (unix seconds or None), ``n_images`` (int, default 0).
METADATA_INPUT_FIELDS: tuple[str, ...] = ("text", "title", "rating", "time", "n_images")

#: Names of the columns of :func:`compute_metadata`'s output, in order.
METADATA_FEATURES: tuple[str, ...] = (
    "log_text_chars",  # log(1 + characters of the review text)
    "log_text_words",  # log(1 + whitespace-separated words)
    "log_title_chars",  # log(1 + characters of the title); 0 when there is none
    "rating",  # star rating, 0 when unknown
    "has_rating",  # 1 when the review has a rating
    "rating_minus_product_mean",  # rating - mean rating of the product's rated reviews
    "abs_rating_minus_product_mean",  # |rating - product mean|
    "log_n_images",  # log(1 + number of review images)
    "age_rank",  # 1 = oldest review of the product, 0 = newest; 0.5 when time unknown
    "log_days_before_newest",  # log(1 + days between this review and the product's newest)
    "has_time",  # 1 when the review has a time
    "length_rank",  # 1 = longest text of the product, 0 = shortest
    "log_chars_minus_product_mean",  # log_text_chars - its product mean
    "log_product_reviews",  # log(1 + number of reviews of the product)
    "has_product_text",  # 1 when the product has a name or description
)

#: Plain words for each feature, as a reader of a score's explanation sees them. A part of the
#: linear path is ``w_j * (m_j - training mean) / std``: its sign says whether this review's
#: value, compared with the average training review, raised or lowered the score.
METADATA_LABELS: dict[str, str] = {
    "log_text_chars": "review length",
    "log_text_words": "review word count",
    "log_title_chars": "title length",
    "rating": "star rating",
    "has_rating": "has a star rating",
    "rating_minus_product_mean": "rating vs. the product's average",
    "abs_rating_minus_product_mean": "rating far from the product's average",
    "log_n_images": "number of review images",
    "age_rank": "older than most reviews",
    "log_days_before_newest": "days before the newest review",
    "has_time": "has a date",
    "length_rank": "longer than most reviews",
    "log_chars_minus_product_mean": "length vs. the product's average",
    "log_product_reviews": "number of the product's reviews",
    "has_product_text": "product has a description",
}
assert set(METADATA_LABELS) == set(METADATA_FEATURES)


def _field(review: Any, name: str) -> Any:
    """Read one allowed field from a mapping or an object; None when absent."""
    if name not in METADATA_INPUT_FIELDS:  # pragma: no cover - programming error guard
        raise KeyError(f"metadata may not read field {name!r}")
    if isinstance(review, Mapping):
        return review.get(name)
    return getattr(review, name, None)


def _normalised_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value among ``values`` scaled to [0, 1] (ties share their mean rank).

    The smallest value gets 0, the largest 1; a single value gets 0.5.
    """
    n = len(values)
    if n == 1:
        return np.full(1, 0.5)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n, dtype=np.float64)
    # Average the ranks of tied values so input order never matters.
    for v in np.unique(values):
        tied = values == v
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks / (n - 1)


def compute_metadata(reviews: Sequence[Any], *, product_text: str = "") -> np.ndarray:
    """Metadata feature matrix for the reviews of ONE product.

    Parameters
    ----------
    reviews
        The product's reviews, as mappings or objects exposing the fields of
        :data:`METADATA_INPUT_FIELDS`. Other fields are ignored.
    product_text
        The product's name and description (may be empty).

    Returns
    -------
    np.ndarray
        float32 array of shape ``[len(reviews), len(METADATA_FEATURES)]``, raw (not
        normalised; see :func:`fit_normalizer`).
    """
    n = len(reviews)
    out = np.zeros((n, len(METADATA_FEATURES)), dtype=np.float64)
    if n == 0:
        return out.astype(np.float32)

    texts = [str(_field(r, "text") or "") for r in reviews]
    titles = [str(_field(r, "title") or "") for r in reviews]
    ratings = [_field(r, "rating") for r in reviews]
    times = [_field(r, "time") for r in reviews]
    n_images = [int(_field(r, "n_images") or 0) for r in reviews]
    for i, (rating, t, k) in enumerate(zip(ratings, times, n_images)):
        if rating is not None and not isinstance(rating, (int, float)):
            raise ValueError(f"review {i}: rating must be a number or None, got {rating!r}")
        if t is not None and not isinstance(t, (int, float)):
            raise ValueError(f"review {i}: time must be unix seconds or None, got {t!r}")
        if k < 0:
            raise ValueError(f"review {i}: n_images must be >= 0, got {k}")

    col = {name: j for j, name in enumerate(METADATA_FEATURES)}

    log_chars = np.array([math.log1p(len(t)) for t in texts])
    out[:, col["log_text_chars"]] = log_chars
    out[:, col["log_text_words"]] = [math.log1p(len(t.split())) for t in texts]
    out[:, col["log_title_chars"]] = [math.log1p(len(t)) for t in titles]

    has_rating = np.array([r is not None and not math.isnan(float(r)) for r in ratings])
    rating = np.array([float(r) if ok else 0.0 for r, ok in zip(ratings, has_rating)])
    out[:, col["rating"]] = rating
    out[:, col["has_rating"]] = has_rating.astype(np.float64)
    if has_rating.any():
        dev = np.where(has_rating, rating - rating[has_rating].mean(), 0.0)
        out[:, col["rating_minus_product_mean"]] = dev
        out[:, col["abs_rating_minus_product_mean"]] = np.abs(dev)

    out[:, col["log_n_images"]] = np.log1p(np.array(n_images, dtype=np.float64))

    has_time = np.array([t is not None for t in times])
    out[:, col["has_time"]] = has_time.astype(np.float64)
    out[:, col["age_rank"]] = 0.5
    if has_time.any():
        tv = np.array([float(t) for t, ok in zip(times, has_time) if ok])
        # Older review = smaller time = larger age: rank of -time.
        out[has_time, col["age_rank"]] = _normalised_rank(-tv)
        days = (tv.max() - tv) / 86400.0
        out[has_time, col["log_days_before_newest"]] = np.log1p(days)

    out[:, col["length_rank"]] = _normalised_rank(log_chars)
    out[:, col["log_chars_minus_product_mean"]] = log_chars - log_chars.mean()
    out[:, col["log_product_reviews"]] = math.log1p(n)
    out[:, col["has_product_text"]] = float(bool(product_text and product_text.strip()))
    return out.astype(np.float32)


def fit_normalizer(features: np.ndarray, min_std: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of a training feature matrix ``[n, M]``.

    Stds below ``min_std`` (constant columns) are raised to 1 so normalising never divides
    by ~0. Feed the result to :meth:`engine.model.mmss.MMSSModel.set_metadata_normalization`.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be a non-empty [n, M] matrix, got shape {features.shape}")
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std = np.where(std < min_std, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)
