"""Ranking metrics exactly as MMSS.md (and the MCR reference code) define them.

Per product, then averaged over products; a product with no relevant review counts 0.

- Rank a product's reviews by score, descending, with a STABLE sort (ties keep input order).
- Relevant: label > threshold (0 for Lazada-MRHP, 1 for Amazon-MRHP).
- AP: walk the ranking; at each relevant review hits += 1, sum += hits / rank; AP = sum / hits.
- DCG@k = sum over the first k positions i (from 0) holding a relevant review of
  (2^label - 1) / ln(2 + i); NDCG@k = DCG@k / DCG@k of the ideal (label-descending) order,
  0 when that is 0.
- Reported x100.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

__all__ = ["average_precision", "dcg_at_k", "ndcg_at_k", "per_product_metrics", "evaluate_rankings"]

_KS = (3, 5)


def _ranking(scores: Sequence[float]) -> list[int]:
    """Indices by score, descending; Python's sort is stable, so ties keep input order."""
    return sorted(range(len(scores)), key=lambda i: -float(scores[i]))


def average_precision(ranked_labels: Sequence[float], threshold: float = 1) -> float:
    """AP of labels already in ranked order (a fraction, not x100); 0 with no relevant one."""
    hits = 0
    total = 0.0
    for rank, label in enumerate(ranked_labels, start=1):
        if label > threshold:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def dcg_at_k(ranked_labels: Sequence[float], k: int, threshold: float = 1) -> float:
    """DCG@k with gain 2^label - 1 for relevant labels only and discount ln(2 + i)."""
    return sum(
        (2.0 ** label - 1.0) / math.log(2 + i)
        for i, label in enumerate(ranked_labels[:k])
        if label > threshold
    )


def ndcg_at_k(ranked_labels: Sequence[float], k: int, threshold: float = 1) -> float:
    """NDCG@k (a fraction); 0 when the ideal DCG@k is 0."""
    ideal = dcg_at_k(sorted(ranked_labels, reverse=True), k, threshold)
    return dcg_at_k(ranked_labels, k, threshold) / ideal if ideal > 0 else 0.0


def per_product_metrics(
    scores: Mapping[Hashable, Sequence[float]],
    labels: Mapping[Hashable, Sequence[float]],
    threshold: float = 1,
) -> dict[Hashable, dict[str, float]]:
    """``{product: {"AP", "NDCG@3", "NDCG@5"}}``, each x100, in ``scores``' order.

    ``scores[p]`` and ``labels[p]`` are equal-length sequences over product p's reviews.
    Raises ValueError naming the product on a length mismatch, a missing product or a
    non-finite score.
    """
    missing = [p for p in scores if p not in labels] + [p for p in labels if p not in scores]
    if missing:
        raise ValueError(f"product {missing[0]!r} is in only one of scores / labels")
    out: dict[Hashable, dict[str, float]] = {}
    for pid, s in scores.items():
        y = labels[pid]
        if len(s) != len(y):
            raise ValueError(f"product {pid!r}: {len(s)} scores but {len(y)} labels")
        if any(not math.isfinite(float(v)) for v in s):
            raise ValueError(f"product {pid!r}: scores must be finite")
        ranked = [float(y[i]) for i in _ranking(s)]
        row = {"AP": 100.0 * average_precision(ranked, threshold)}
        for k in _KS:
            row[f"NDCG@{k}"] = 100.0 * ndcg_at_k(ranked, k, threshold)
        out[pid] = row
    return out


def evaluate_rankings(
    scores: Mapping[Hashable, Sequence[float]],
    labels: Mapping[Hashable, Sequence[float]],
    threshold: float = 1,
) -> dict[str, float]:
    """``{"MAP", "NDCG@3", "NDCG@5"}`` x100, averaged over all products of ``scores``."""
    rows = per_product_metrics(scores, labels, threshold)
    if not rows:
        raise ValueError("evaluate_rankings: no products")
    n = len(rows)
    return {
        "MAP": sum(r["AP"] for r in rows.values()) / n,
        "NDCG@3": sum(r["NDCG@3"] for r in rows.values()) / n,
        "NDCG@5": sum(r["NDCG@5"] for r in rows.values()) / n,
    }
