"""How a review's five sub-scores are shown so that a reader can judge them (no Qt).

- On the scale they were trained on: each subtask head learns a pseudo-label that starts at the
  review's human helpfulness label, 0-4 (MMSS.md, SSP-Label), and may drift past it (clamped
  only to [-8, 8]). Bars are drawn on a fixed 0-4 axis, the same for every review and product,
  with a mark where a value goes past an end, never an axis stretched to the data.
- Against the product's own range: the product's 10th-90th percentile band and its min..max,
  and the review's percentile within the product (storage's ``product_subscores``: values
  compared at two decimals, ties at the middle). A sub-score that hardly varies within the
  product shows a band as thin as it is and says so ("flat").
- Honest about missing inputs: an interaction whose product or review side has no data for this
  review (no image, no product text) reads only the model's empty slot; it is greyed with the
  reason instead of a confident bar.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from storage.records import SUBSCORE_NAMES, ProductSubScores, ReviewRow, SubScoreSpread

__all__ = [
    "LABEL_LOW",
    "LABEL_HIGH",
    "FLAT_SPREAD",
    "SUBSCORE_INPUTS",
    "SCALE_NOTE",
    "SubScoreView",
    "label_fraction",
    "missing_inputs",
    "ordinal",
    "subscore_view",
    "subscore_views",
]

LABEL_LOW, LABEL_HIGH = 0.0, 4.0
"""The helpfulness-label scale (MMSS.md: labels 0-4) the subtask heads were trained toward."""

FLAT_SPREAD = 0.05
"""A product whose values of a sub-score all lie within this (on the 0-4 scale) is "flat": its
percentiles rank differences no reader could see."""

SUBSCORE_INPUTS: tuple[tuple[str, str], ...] = (
    ("product text", "review text"),
    ("product image", "review image"),
    ("product text", "review image"),
    ("product image", "review text"),
    ("review text", "review image"),
)
"""The two inputs each interaction reads, in :data:`SUBSCORE_NAMES` order (MMSS.md module (b))."""

SCALE_NOTE = ("on the helpfulness-label scale 0\u20134 the sub-task heads were trained toward "
              "(pseudo-labels start at the human label and may go past 0 or 4)")


def label_fraction(value: float) -> tuple[float, int]:
    """Where ``value`` sits on the 0-4 label axis: ``(fraction 0..1, overflow)``, overflow -1 below
    0, +1 above 4 (the fraction is then clamped to the end), 0 inside."""
    f = (float(value) - LABEL_LOW) / (LABEL_HIGH - LABEL_LOW)
    if f < 0.0:
        return 0.0, -1
    if f > 1.0:
        return 1.0, 1
    return f, 0


def _has_review_text(row: ReviewRow) -> bool:
    return bool((row.title or "").strip() or (row.text or "").strip())


def missing_inputs(index: int, row: ReviewRow) -> tuple[str, ...]:
    """The inputs of interaction ``index`` that this review has no data for (empty: both present)."""
    present = {
        "product text": row.has_product_text,
        "product image": row.n_product_images > 0,
        "review text": _has_review_text(row),
        "review image": row.n_images > 0,
    }
    return tuple(side for side in SUBSCORE_INPUTS[index] if not present[side])


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 83rd."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _fmt(v: float) -> str:
    return f"{v:.2f}".replace("-", "\u2212")


@dataclass(frozen=True)
class SubScoreView:
    """One sub-score of one review as drawn: in a table cell and as a row of the detail chart.

    Parameters
    ----------
    index : int
        0-4, in :data:`SUBSCORE_NAMES` order.
    value : float or None
        The sub-score (None: not scored).
    percentile : float or None
        Its percentile rank within the product, 0-100 (None: unknown).
    spread : SubScoreSpread or None
        The product's spread of this sub-score.
    missing : tuple of str
        Inputs this review lacks for this interaction ("review image", ...): drawn greyed.
    """

    index: int
    value: Optional[float]
    percentile: Optional[float] = None
    spread: Optional[SubScoreSpread] = None
    missing: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return SUBSCORE_NAMES[self.index]

    @property
    def inputs(self) -> str:
        return " / ".join(SUBSCORE_INPUTS[self.index])

    @property
    def greyed(self) -> bool:
        """No bar: one side of the interaction has no data for this review."""
        return bool(self.missing) and self.value is not None

    @property
    def flat(self) -> bool:
        """The product's values hardly vary (within :data:`FLAT_SPREAD`)."""
        return self.spread is not None and self.spread.n > 1 and self.spread.high - self.spread.low < FLAT_SPREAD

    @property
    def position(self) -> Optional[tuple[float, int]]:
        """:func:`label_fraction` of the value (None: not scored)."""
        return None if self.value is None else label_fraction(self.value)

    @property
    def band(self) -> Optional[tuple[float, float]]:
        """The product's 10th-90th percentile as fractions of the 0-4 axis (clamped)."""
        if self.spread is None:
            return None
        return label_fraction(self.spread.p10)[0], label_fraction(self.spread.p90)[0]

    @property
    def range(self) -> Optional[tuple[float, float]]:
        """The product's min..max as fractions of the 0-4 axis (clamped)."""
        if self.spread is None:
            return None
        return label_fraction(self.spread.low)[0], label_fraction(self.spread.high)[0]

    @property
    def missing_note(self) -> str:
        """``no review image: this interaction only sees the empty slot`` (empty when nothing is missing)."""
        if not self.missing:
            return ""
        what = " and ".join(f"no {m}" for m in self.missing)
        images = all(m.endswith("image") for m in self.missing)
        return f"{what}: this interaction only sees the empty {'slot' if images else 'input'}"

    @property
    def short_text(self) -> str:
        """What a narrow cell says instead of a number when greyed."""
        return "no img" if all(m.endswith("image") for m in self.missing) else "no text"

    @property
    def percentile_text(self) -> str:
        """``83rd`` (empty when unknown)."""
        if self.percentile is None:
            return ""
        return ordinal(max(1, min(99, round(self.percentile)))) if self.spread and self.spread.n > 1 else "only one"

    @property
    def product_text(self) -> str:
        """The product's range and this review's place in it, one or two lines."""
        s = self.spread
        if s is None:
            return ""
        if s.n == 1:
            return "The only scored review of this product: no product range to compare with."
        text = (f"This product ({s.n} reviews): {_fmt(s.low)} to {_fmt(s.high)}, "
                f"10th\u201390th percentile {_fmt(s.p10)} to {_fmt(s.p90)}")
        if self.percentile is not None:
            text += f"\nPercentile within this product: {self.percentile_text}"
        if self.flat:
            text += (f"\nFlat within this product: every review lies within {_fmt(s.high - s.low)}, "
                     "so its percentile ranks differences too small to mean anything")
        return text

    @property
    def tooltip(self) -> str:
        head = f"{self.name} \u00b7 {self.inputs}"
        if self.value is None:
            return f"{head}\nnot scored"
        if self.greyed:
            return (f"{head}\n{self.missing_note}.\nIts value, {_fmt(self.value)}, comes from the model's stand-in "
                    "for the missing input, not from this review.")
        value = f"{_fmt(self.value)} {SCALE_NOTE}"
        over = self.position[1] if self.position else 0
        if over:
            value += f"; {'above 4' if over > 0 else 'below 0'}, past the end of the label scale"
        return "\n".join(t for t in (head, value, self.product_text) if t)


def subscore_view(row: ReviewRow, product: Optional[ProductSubScores], index: int) -> SubScoreView:
    """Sub-score ``index`` of ``row``; ``product``: its product's sub-scores under the same model
    (None, or another product's: drawn without a band or percentile)."""
    if product is not None and product.product_pk != row.product_pk:
        product = None
    percentiles = product.percentiles.get(row.id) if product is not None else None
    return SubScoreView(index, row.sub_scores[index], percentiles[index] if percentiles is not None else None,
                        product.spreads[index] if product is not None else None, missing_inputs(index, row))


def subscore_views(row: ReviewRow, product: Optional[ProductSubScores]) -> tuple[SubScoreView, ...]:
    """The five :class:`SubScoreView` of ``row`` (see :func:`subscore_view`)."""
    return tuple(subscore_view(row, product, i) for i in range(len(SUBSCORE_NAMES)))
