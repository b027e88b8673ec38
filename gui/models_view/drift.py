"""How model B's score and five interaction sub-scores differ from model A's on the reviews
nobody flagged (pure Python + numpy, no Qt, no torch).

Input: the rows of :func:`storage.repository.paired_predictions`, ``(review_pk, product_pk,
category, score_a, 5 sub-scores under A, score_b, 5 sub-scores under B)``. Per series (the score
and each sub-score), over the reviews where both models have a value:

- ``n``, the mean under A and under B, quantiles (every 5 %) under both;
- the two-sample Kolmogorov-Smirnov statistic D (the largest gap between the two empirical
  CDFs) and the value where it occurs (the smallest such value);
- the share of reviews that *moved*: ``|B - A| > 1.0`` (one step of the 0-4 label scale) for a
  sub-score; the score is not on the label scale, so for it a move is more than one standard
  deviation of A's scores (population std), and the sentence says so;
- the reviews that moved most (by ``|B - A|``), and the moved share per product category when
  the pairs span more than one category;
- one sentence in plain words. A series with no variation under either model (an image
  interaction without images) is called flat instead of being given quantiles and a KS location.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np

from storage.records import SUBSCORE_NAMES, ReviewRow

SERIES = ("score", *SUBSCORE_NAMES)
"""The six series, in the order of the prediction columns."""
QUANTILES = tuple(i / 20 for i in range(21))
"""Where the quantiles are taken: 0 %, 5 %, ..., 100 %."""
LABEL_STEP = 1.0
TOP_MOVERS = 50
FLAT_SPAN = 1e-6
"""A series whose values span no more than this under a model is flat under it."""
NO_CATEGORY = "(no category)"
_SAME_MEAN = 0.05
"""Means closer than this (label scale; for the score, times A's std) read as about equal."""


@dataclass(frozen=True)
class Mover:
    """A review's value of one series under A and under B."""

    review_pk: int
    product_pk: int
    category: str
    a: float
    b: float
    row: Optional[ReviewRow] = None

    @property
    def delta(self) -> float:
        return self.b - self.a


@dataclass(frozen=True)
class SeriesDrift:
    """One series (the score or a sub-score) under A and B, over the unflagged common reviews."""

    name: str
    n: int
    mean_a: Optional[float] = None
    mean_b: Optional[float] = None
    quantiles_a: tuple[float, ...] = ()
    quantiles_b: tuple[float, ...] = ()
    ks_d: Optional[float] = None
    ks_at: Optional[float] = None
    threshold: float = LABEL_STEP
    threshold_text: str = "one label step (1.0)"
    moved: int = 0
    flat_a: bool = False
    flat_b: bool = False
    movers: tuple[Mover, ...] = ()
    sentence: str = ""

    @property
    def flat(self) -> bool:
        """No variation under either model."""
        return self.flat_a and self.flat_b

    @property
    def moved_share(self) -> Optional[float]:
        return self.moved / self.n if self.n else None

    @property
    def mean_delta(self) -> Optional[float]:
        return None if self.mean_a is None or self.mean_b is None else self.mean_b - self.mean_a


@dataclass(frozen=True)
class CategoryDrift:
    """The moved share of every series (in :data:`SERIES` order) within one product category."""

    category: str
    n: int
    moved_share: tuple[Optional[float], ...]


@dataclass(frozen=True)
class Drift:
    """Model B against model A on the unflagged reviews both scored.

    ``stamp`` is what the pairs were read under (:func:`storage.repository.paired_predictions_stamp`):
    a cached drift whose stamp still matches is still true.
    """

    a_id: int
    b_id: int
    n: int
    series: tuple[SeriesDrift, ...]
    categories: tuple[CategoryDrift, ...] = ()
    a_name: str = ""
    b_name: str = ""
    stamp: Any = None
    quantiles: tuple[float, ...] = QUANTILES

    def get(self, name: str) -> SeriesDrift:
        return next(s for s in self.series if s.name == name)

    @property
    def reviews(self) -> tuple[tuple[int, int], ...]:
        """(product_pk, review_pk) of every mover of every series, without repeats."""
        return tuple(dict.fromkeys((m.product_pk, m.review_pk) for s in self.series for m in s.movers))


def _columns(rows: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """review pks, product pks, categories (object array) and the (n, 6) values under A and
    under B (NaN where a model has no value)."""
    k = len(SERIES)
    if not rows:
        empty = np.zeros((0, k))
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), empty, empty
    cols = list(zip(*rows))
    values = np.array(cols[3:3 + 2 * k], dtype=float)  # None -> NaN
    categories = np.array([c if c else NO_CATEGORY for c in cols[2]], dtype=object)
    return np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64), categories, values[:k].T, values[k:].T


def share_text(share: Optional[float]) -> str:
    """23%, or 0.4% below one percent (never a rounded 0% for a few moves)."""
    if share is None:
        return ""
    if 0 < share < 0.01:
        return f"{share * 100:.1f}%"
    if 0.99 < share < 1:
        return f"{share * 100:.1f}%"
    return f"{share * 100:.0f}%"


def _ks(a_sorted: np.ndarray, b_sorted: np.ndarray) -> tuple[float, float]:
    """KS D of two sorted samples and the smallest value where the CDF gap is largest."""
    xs = np.union1d(a_sorted, b_sorted)
    gap = np.abs(np.searchsorted(a_sorted, xs, side="right") / len(a_sorted)
                 - np.searchsorted(b_sorted, xs, side="right") / len(b_sorted))
    d = float(gap.max())
    i = int(np.argmax(gap >= d - 1e-12))
    return d, float(xs[i])


def _series(name: str, is_score: bool, a: np.ndarray, b: np.ndarray, pks: np.ndarray, product_pks: np.ndarray,
            categories: np.ndarray, quantiles: Sequence[float], top: int) -> tuple[SeriesDrift, np.ndarray, np.ndarray]:
    """The drift of one series, and its (valid, moved) masks over all rows (for the categories)."""
    valid = ~(np.isnan(a) | np.isnan(b))
    a, b = a[valid], b[valid]
    n = int(valid.sum())
    moved_all = np.zeros(len(valid), dtype=bool)
    if n == 0:
        return SeriesDrift(name, 0, sentence=f"{name}: no unflagged review has a value under both models."), valid, moved_all
    a_sorted, b_sorted = np.sort(a), np.sort(b)
    flat_a = bool(a_sorted[-1] - a_sorted[0] <= FLAT_SPAN)
    flat_b = bool(b_sorted[-1] - b_sorted[0] <= FLAT_SPAN)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    if is_score:
        threshold = float(a.std())
        threshold_text = f"one standard deviation of A's scores ({threshold:.2f})"
    else:
        threshold, threshold_text = LABEL_STEP, "one label step (1.0)"
    delta = b - a
    moved = np.abs(delta) > threshold
    moved_all[valid] = moved
    d, at = _ks(a_sorted, b_sorted)
    pks, product_pks, categories = pks[valid], product_pks[valid], categories[valid]
    order = np.lexsort((pks, -np.abs(delta)))[:top]
    movers = tuple(Mover(int(pks[i]), int(product_pks[i]), str(categories[i]), float(a[i]), float(b[i]))
                   for i in order if delta[i] != 0)
    qa = tuple(float(v) for v in np.quantile(a_sorted, quantiles))
    qb = tuple(float(v) for v in np.quantile(b_sorted, quantiles))
    s = SeriesDrift(name, n, mean_a, mean_b, qa, qb, d, at, threshold, threshold_text, int(moved.sum()),
                    flat_a, flat_b, movers)
    return _with_sentence(s, is_score), valid, moved_all


def _with_sentence(s: SeriesDrift, is_score: bool) -> SeriesDrift:
    return replace(s, sentence=sentence(s, is_score))


def sentence(s: SeriesDrift, is_score: bool = False) -> str:
    """The series' drift in plain words."""
    if not s.n:
        return f"{s.name}: no unflagged review has a value under both models."
    reviews = f"{s.n:,} unflagged review{'s' if s.n != 1 else ''}"
    if s.flat:
        a, b = s.quantiles_a[0], s.quantiles_b[0]
        if abs(b - a) <= FLAT_SPAN:
            return (f"{s.name}: flat \u2014 all {reviews} score {a:.2f} under both models, "
                    f"so there is no distribution to compare.")
        return (f"{s.name}: flat under each model (all {reviews} score {a:.2f} under A and {b:.2f} under B); "
                f"{share_text(s.moved_share)} moved by more than {s.threshold_text}.")
    step = s.threshold_text if is_score else "a label step"
    parts = [f"{s.name}: {share_text(s.moved_share)} of {reviews} moved by more than {step}"]
    diff = s.mean_delta or 0.0
    same = _SAME_MEAN * (s.threshold if is_score else 1.0)
    means = f"mean {s.mean_a:.2f} \u2192 {s.mean_b:.2f}"
    if abs(diff) < same:
        parts.append(f"their means about agree ({means})")
    else:
        parts.append(f"B's values run {'higher' if diff > 0 else 'lower'} ({means})")
    if s.ks_d is not None and s.ks_d <= 1e-12:
        parts.append("the two distributions are the same (KS D = 0)")
    else:
        parts.append(f"distributions differ most near {s.ks_at:.2f} (KS D = {s.ks_d:.2f})")
    for side, flat, q in (("A", s.flat_a, s.quantiles_a), ("B", s.flat_b, s.quantiles_b)):
        if flat:
            parts.append(f"under {side} it is flat (every review {q[0]:.2f})")
    return "; ".join(parts) + "."


def compute_drift(rows: Sequence[tuple], a_id: int = 0, b_id: int = 0, *, quantiles: Sequence[float] = QUANTILES,
                  top: int = TOP_MOVERS) -> Drift:
    """Drift of every series over ``rows`` (see the module's docstring)."""
    pks, product_pks, categories, a, b = _columns(rows)
    series, masks = [], []
    for k, name in enumerate(SERIES):
        s, valid, moved = _series(name, k == 0, a[:, k], b[:, k], pks, product_pks, categories, quantiles, top)
        series.append(s)
        masks.append((valid, moved))
    per_category: list[CategoryDrift] = []
    names, inverse = np.unique(categories, return_inverse=True) if len(categories) else ([], None)
    if len(names) > 1:
        counts = np.bincount(inverse, minlength=len(names))
        shares = []
        for valid, moved in masks:
            n_valid = np.bincount(inverse, weights=valid, minlength=len(names))
            n_moved = np.bincount(inverse, weights=moved, minlength=len(names))
            shares.append([float(m / v) if v else None for m, v in zip(n_moved, n_valid)])
        per_category = [CategoryDrift(str(c), int(counts[i]), tuple(sh[i] for sh in shares))
                        for i, c in enumerate(names)]
        per_category.sort(key=lambda c: (-c.n, c.category))
    return Drift(a_id, b_id, len(rows), tuple(series), tuple(per_category), quantiles=tuple(quantiles))
