"""Compare two model versions' predictions (pure Python, no Qt, no torch).

Inputs are what ``storage.repository.scores_by_product`` returns for each model:
``product_id -> [(review_pk, score, vote label)]`` in review order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from storage.records import ModelVersionRecord, ReviewRow

from storage.ranking import RankInput, rank_product

ScoreRows = Mapping[str, Sequence[tuple[int, float, Optional[int]]]]
METRICS = ("MAP", "NDCG@3", "NDCG@5")
RELEVANT_ABOVE = 1  # Amazon-MRHP threshold (MMSS.md): label > 1 is relevant


@dataclass(frozen=True)
class RankMove:
    """A review's rank in its product under two models (1 = top)."""

    review_pk: int
    product_id: str
    old_rank: int
    new_rank: int
    n: int
    row: Optional[ReviewRow] = None

    @property
    def delta(self) -> int:
        """Places moved up (> 0) or down (< 0) from the old model to the new one."""
        return self.old_rank - self.new_rank


@dataclass(frozen=True)
class MetricRow:
    """One registered metric of both models (from their model cards)."""

    split: str
    metric: str
    a: Optional[float]
    b: Optional[float]

    @property
    def delta(self) -> Optional[float]:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class ProductDelta:
    """A product's AP under both models, over its reviews that both scored and that have a label."""

    product_id: str
    title: str
    split: str
    n_labelled: int
    ap_a: float
    ap_b: float

    @property
    def delta(self) -> float:
        return self.ap_b - self.ap_a


@dataclass(frozen=True)
class Comparison:
    """Model ``b`` against model ``a`` (``delta = b - a``)."""

    a: ModelVersionRecord
    b: ModelVersionRecord
    metrics: list[MetricRow] = field(default_factory=list)
    products: list[ProductDelta] = field(default_factory=list)
    moves: list[RankMove] = field(default_factory=list)
    common_reviews: int = 0
    scored_a: int = 0
    scored_b: int = 0

    @property
    def mean_ap_delta(self) -> Optional[float]:
        return sum(p.delta for p in self.products) / len(self.products) if self.products else None


def ranks_of(rows: Sequence[tuple[int, Optional[float]]]) -> dict[int, int]:
    """review_pk -> 1-based rank by score (descending; ties keep the given review order)."""
    info = rank_product([RankInput(pk, score, None) for pk, score in rows])
    return {pk: i.model_rank for pk, i in info.items() if i.model_rank is not None}


def rank_moves_in_product(
    old: Sequence[tuple[int, Optional[float]]], new: Sequence[tuple[int, Optional[float]]], product_id: str = ""
) -> dict[int, RankMove]:
    """Moves of the reviews that both models scored, ranked among those common reviews."""
    old_scores = {pk: s for pk, s in old if s is not None}
    new_scores = {pk: s for pk, s in new if s is not None}
    common = [pk for pk, _ in new if pk in old_scores and pk in new_scores]
    before = ranks_of([(pk, old_scores[pk]) for pk in common])
    after = ranks_of([(pk, new_scores[pk]) for pk in common])
    return {pk: RankMove(pk, product_id, before[pk], after[pk], len(common)) for pk in common}


def metric_rows(a: ModelVersionRecord, b: ModelVersionRecord) -> list[MetricRow]:
    rows = []
    for split in ("dev", "test"):
        ma = a.metrics.get(split) if isinstance(a.metrics.get(split), dict) else {}
        mb = b.metrics.get(split) if isinstance(b.metrics.get(split), dict) else {}
        if not ma and not mb:
            continue
        for m in METRICS:
            rows.append(MetricRow(split, m, _num(ma.get(m)), _num(mb.get(m))))
    return rows


def _num(v: Any) -> Optional[float]:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def compare(
    a: ModelVersionRecord, b: ModelVersionRecord, scores_a: ScoreRows, scores_b: ScoreRows,
    products: Mapping[str, tuple[str, str]], move_limit: int = 200,
) -> Comparison:
    """Metrics side by side, per-product AP deltas, and the reviews whose rank moved most.

    ``products`` maps product_id -> (title, split).
    """
    from engine.metrics import per_product_metrics  # pure Python; imported lazily, never torch

    deltas: list[ProductDelta] = []
    moves: list[RankMove] = []
    common_total = 0
    for pid, rows_b in scores_b.items():
        rows_a = scores_a.get(pid)
        if not rows_a:
            continue
        moved = rank_moves_in_product([(pk, s) for pk, s, _ in rows_a], [(pk, s) for pk, s, _ in rows_b], pid)
        common_total += len(moved)
        moves.extend(m for m in moved.values() if m.delta)
        label = {pk: lab for pk, _s, lab in rows_b}
        sa = {pk: s for pk, s, _ in rows_a}
        kept = [(pk, sa[pk], s, label[pk]) for pk, s, _ in rows_b if pk in moved and label[pk] is not None]
        if not kept:
            continue
        scores = {"a": [x[1] for x in kept], "b": [x[2] for x in kept]}
        labels = [x[3] for x in kept]
        ap = per_product_metrics(scores, {"a": labels, "b": labels}, threshold=RELEVANT_ABOVE)
        title, split = products.get(pid, (pid, ""))
        deltas.append(ProductDelta(pid, title or pid, split, len(kept), ap["a"]["AP"], ap["b"]["AP"]))
    deltas.sort(key=lambda d: (-abs(d.delta), d.product_id))
    moves.sort(key=lambda m: (-abs(m.delta), m.product_id, m.review_pk))
    return Comparison(a, b, metric_rows(a, b), deltas, moves[:move_limit], common_total,
                      sum(len(v) for v in scores_a.values()), sum(len(v) for v in scores_b.values()))
