"""Where a review stands among its product's reviews: under the model, under the votes; and
the one definition of a disagreement between them.

Pure functions over plain tuples (no database, no Qt): the review table, the disagreement
queue, the flags' resolution after retraining and the reports all decide here.
A review's *implied label* is the vote label found at the model's position when the
product's labelled reviews are sorted by label: if the model puts a review labelled 1 at
the place of the 4s, the model implies 4, it is "too high" by 3 labels.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Iterator, Mapping, NamedTuple, Optional, Sequence

MODEL_TOO_HIGH = "model too high"
MODEL_TOO_LOW = "model too low"
AGREES_KIND = "other"


class RankInput(NamedTuple):
    """One review as the ranking needs it (in review-id order within a product)."""

    review_pk: int
    score: Optional[float]
    label: Optional[int]
    votes: int = 0


@dataclass(frozen=True)
class RankInfo:
    """A review's position in its product.

    Attributes
    ----------
    model_rank : int or None
        1-based rank by score (descending, ties in review order) among scored reviews.
    n_scored : int
        Scored reviews of the product.
    vote_rank : int
        1-based rank by helpful votes (descending, ties in review order) among all reviews.
    n_reviews : int
        Reviews of the product.
    implied_label : int or None
        The vote label at the model's position among scored, labelled reviews.
    label_gap : int or None
        ``implied_label - label``: > 0 the model ranks the review too high, < 0 too low.
    rank_gap : int or None
        Positions between the model's place and the places the review's label occupies,
        signed like ``label_gap``; 0 when the model puts it among its label's equals.
    """

    model_rank: Optional[int]
    n_scored: int
    vote_rank: int
    n_reviews: int
    implied_label: Optional[int] = None
    label_gap: Optional[int] = None
    rank_gap: Optional[int] = None

    @property
    def is_disagreement(self) -> bool:
        return bool(self.label_gap)


def _by_score(items: Sequence[RankInput]) -> list[RankInput]:
    # Python's sort is stable: ties keep review order, as engine.metrics ranks them.
    return sorted((r for r in items if r.score is not None), key=lambda r: -float(r.score))


def _tie_ranges(sorted_labels: Sequence[int]) -> dict[int, tuple[int, int]]:
    """label -> (first, last) position of that label in ``sorted_labels`` (sorted)."""
    ranges: dict[int, tuple[int, int]] = {}
    for i, v in enumerate(sorted_labels):
        first = ranges[v][0] if v in ranges else i
        ranges[v] = (first, i)
    return ranges


def _gap(position: int, first: int, last: int) -> int:
    if position < first:
        return first - position
    if position > last:
        return -(position - last)
    return 0


class ProductRanks(Mapping[int, RankInfo]):
    """review pk -> :class:`RankInfo` of one product, what :func:`rank_product` returns.

    The sorts are done up front; each :class:`RankInfo` is built when first read, so a table
    that shows 500 of 10,000 reviews pays for 500 of them."""

    def __init__(self, items: Sequence[RankInput]) -> None:
        scored = _by_score(items)
        self._n_scored = len(scored)
        self._model_rank = {r.review_pk: i + 1 for i, r in enumerate(scored)}
        by_votes = sorted(items, key=lambda r: -(r.votes or 0))
        self._vote_rank = {r.review_pk: i + 1 for i, r in enumerate(by_votes)}
        judged = [r for r in scored if r.label is not None]
        self._labels_desc = sorted((r.label for r in judged), reverse=True)
        self._ties = _tie_ranges(self._labels_desc)
        self._judged = {r.review_pk: (i, r.label) for i, r in enumerate(judged)}
        self._score = {r.review_pk: r.score for r in judged}
        self._order = [r.review_pk for r in items]
        self._built: dict[int, RankInfo] = {}

    def __getitem__(self, review_pk: int) -> RankInfo:
        info = self._built.get(review_pk)
        if info is not None:
            return info
        vote_rank = self._vote_rank[review_pk]  # KeyError: not a review of this product
        implied = label_gap = rank_gap = None
        judged = self._judged.get(review_pk)
        if judged is not None:
            pos, label = judged
            implied = self._labels_desc[pos]
            label_gap = implied - label
            rank_gap = _gap(pos, *self._ties[label])
        info = RankInfo(self._model_rank.get(review_pk), self._n_scored, vote_rank, len(self._order), implied,
                        label_gap, rank_gap)
        self._built[review_pk] = info
        return info

    def __iter__(self) -> Iterator[int]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, review_pk: object) -> bool:
        return review_pk in self._vote_rank


def rank_product(items: Sequence[RankInput]) -> ProductRanks:
    """:class:`RankInfo` of every review of one product (``items`` in review-id order), as a
    read-only mapping review pk -> RankInfo (built lazily, see :class:`ProductRanks`)."""
    return ProductRanks(items)


def model_agrees(items: Sequence[RankInput], review_pk: int, label: int) -> bool:
    """True when the model places ``review_pk`` among the reviews labelled ``label`` (its
    :class:`RankInfo` has no label gap once it carries that label); False when it does not, or
    when the model did not score it. A disagreement is the opposite, with the review's label."""
    patched = [r._replace(label=label) if r.review_pk == review_pk else r for r in items]
    info = rank_product(patched).get(review_pk)
    return info is not None and info.label_gap == 0


def correction_kind(items: Sequence[RankInput], review_pk: int, corrected_label: int) -> str:
    """Flag kind for a moderator who says ``review_pk`` deserves ``corrected_label``.

    "model too high" when the model ranks the review above where that label belongs,
    "model too low" when below, "other" when the model already agrees or has no score.
    """
    patched = [r._replace(label=corrected_label) if r.review_pk == review_pk else r for r in items]
    info = rank_product(patched).get(review_pk)
    if info is None or info.label_gap is None or info.label_gap == 0:
        return AGREES_KIND
    return MODEL_TOO_HIGH if info.label_gap > 0 else MODEL_TOO_LOW


class DisagreementMode(Enum):
    """How the disagreement queue orders reviews."""

    RANK_GAP = "rank gap"
    SCORE_VS_LABEL = "score vs label"


@dataclass(frozen=True)
class Disagreement:
    product_key: str
    review_pk: int
    score: float
    label: int
    info: RankInfo

    @property
    def direction(self) -> str:
        return MODEL_TOO_HIGH if (self.info.label_gap or 0) > 0 else MODEL_TOO_LOW


def find_disagreements(
    by_product: Mapping[str, Iterable[tuple]], mode: DisagreementMode = DisagreementMode.RANK_GAP, limit: int | None = 500,
    direction: Optional[str] = None,
) -> list[Disagreement]:
    """The ``limit`` reviews (all with None) where model and votes disagree most, across products;
    with ``direction`` (:data:`MODEL_TOO_HIGH` or :data:`MODEL_TOO_LOW`) only those, before the limit.

    ``by_product`` maps a product key to ``(review_pk, score, label)`` tuples, as
    ``storage.repository.scores_by_product`` returns them. Order: the largest rank gap first
    (then label gap) in :attr:`DisagreementMode.RANK_GAP`, the other way round in
    ``SCORE_VS_LABEL``, ties by review pk. Only the reviews kept become :class:`Disagreement`.
    """
    rank_first = mode is DisagreementMode.RANK_GAP
    want_high = direction == MODEL_TOO_HIGH
    found: list[tuple] = []
    kept_rows: dict[str, list] = {}
    for key, rows in by_product.items():
        rows = list(rows)
        kept_rows[key] = rows
        # The scored, labelled reviews in the model's order (score descending; the sort is stable,
        # so ties keep review order): what ProductRanks ranks them by, without building its maps.
        judged = [r for r in rows if r[1] is not None and r[2] is not None]
        judged.sort(key=lambda r: -float(r[1]))
        labels_desc = sorted((r[2] for r in judged), reverse=True)
        ties = _tie_ranges(labels_desc)
        for pos, (pk, score, label) in enumerate(judged):
            label_gap = labels_desc[pos] - label
            if not label_gap or (direction is not None and (label_gap > 0) != want_high):
                continue
            rank_gap = abs(_gap(pos, *ties[label]))
            sort_key = (-rank_gap, -abs(label_gap)) if rank_first else (-abs(label_gap), -rank_gap)
            found.append((*sort_key, pk, key, score, label))
    kept = heapq.nsmallest(limit, found) if limit is not None else sorted(found)
    ranked: dict[str, ProductRanks] = {}  # only the products that have a kept review
    out = []
    for *_k, pk, key, score, label in kept:
        ranks = ranked.get(key)
        if ranks is None:
            ranks = ranked[key] = ProductRanks([RankInput(p, s, lab) for p, s, lab in kept_rows[key]])
        out.append(Disagreement(key, pk, float(score), int(label), ranks[pk]))
    return out
