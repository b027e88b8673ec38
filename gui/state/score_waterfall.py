"""What the detail pane's "why this score" waterfall shows (no Qt).

A stored explanation (:class:`storage.records.ScoreParts`: a base and named parts that add up
to the score, MMSS.md "Explaining a score") becomes rows: the base, then each part, largest
``|part|`` first, each starting where the previous ended, then the score. Parts too small to read
at two decimals (``|value| < TINY``) are summed into one "N other parts" row when there are two
or more of them; the rows still add up to the score exactly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from storage.records import ScoreParts

__all__ = ["NO_EXPLANATION", "TINY", "WaterfallRow", "Waterfall", "waterfall", "fmt_part", "part_text", "reference_note",
           "honest_label"]

#: Parts below this in absolute value read ``+0.00`` at two decimals: only those are grouped.
TINY = 0.005
NO_EXPLANATION = "No explanation stored for this score: rescore to see one."
_TRAINING_MEAN = "training mean"  # engine.model.explain.REFERENCE_TRAINING_MEAN (gui reads no torch module)


@dataclass(frozen=True)
class WaterfallRow:
    """One row: ``kind`` is "base", "part", "group" (tiny parts summed) or "score"; a part's bar
    runs from ``start`` to ``end = start + value``; base and score bars run from 0."""

    kind: str
    label: str
    value: float
    start: float
    end: float
    count: int = 1  # parts in a "group" row

    @property
    def text(self) -> str:
        if self.kind in ("base", "score"):
            return f"{self.label} {self.value:.2f}".replace("-", "\u2212")
        return part_text(self.label, self.value)


@dataclass(frozen=True)
class Waterfall:
    rows: tuple[WaterfallRow, ...]
    reference: str

    @property
    def parts(self) -> tuple[WaterfallRow, ...]:
        """The rows between base and score."""
        return tuple(r for r in self.rows if r.kind in ("part", "group"))

    @property
    def low(self) -> float:
        return min([0.0] + [min(r.start, r.end) for r in self.rows])

    @property
    def high(self) -> float:
        return max([0.0] + [max(r.start, r.end) for r in self.rows])


def fmt_part(value: float) -> str:
    """Signed, two decimals, with a real minus sign: ``+0.42``, ``\u22120.05``."""
    return f"{value:+.2f}".replace("-", "\u2212")


def part_text(label: str, value: float) -> str:
    """A part in words as the waterfall and the review table's reasons read it: ``review length +0.42``
    (exports write the same with an ASCII sign: ``storage.records.reason_text``)."""
    return f"{label} {fmt_part(value)}"


_PLURAL = {"product image": "product images", "review image": "review images"}


def honest_label(label: str, missing: tuple[str, ...]) -> str:
    """A block's name where this review has no data for one of its sides: that side is named as
    missing (``review text \u00d7 no review image``), since the block then read the other side and
    a learned empty slot, not an interaction of the two."""
    for side in missing:
        label = label.replace(_PLURAL.get(side, side), f"no {side}")
    return label


def waterfall(parts: ScoreParts, tiny: float = TINY,
              missing: Optional[dict[str, tuple[str, ...]]] = None) -> Waterfall:
    """The rows of a score's waterfall. ``missing``: per interaction (``p_t r_t``...), the inputs
    this review has no data for (:func:`gui.state.subscores.missing_inputs`); those blocks'
    names say so (:func:`honest_label`)."""
    if missing:
        parts = dataclasses.replace(parts, parts=tuple(
            dataclasses.replace(p, label=honest_label(p.label, missing.get(p.key.removeprefix("block:"), ())))
            for p in parts.parts))
    ordered = parts.ranked()
    small = [p for p in ordered if abs(p.value) < tiny]
    shown = [p for p in ordered if abs(p.value) >= tiny] if len(small) >= 2 else ordered
    rows = [WaterfallRow("base", "base", parts.base, 0.0, parts.base)]
    at = parts.base
    for p in shown:
        rows.append(WaterfallRow("part", p.label, p.value, at, at + p.value))
        at += p.value
    if len(small) >= 2:
        total = sum(p.value for p in small)
        rows.append(WaterfallRow("group", f"{len(small)} other parts", total, at, at + total, len(small)))
        at += total
    rows.append(WaterfallRow("score", "score", parts.score, 0.0, parts.score))
    return Waterfall(tuple(rows), parts.reference)


def reference_note(w: Optional[Waterfall]) -> str:
    """One line under the chart: what the base is."""
    if w is None:
        return ""
    if w.reference == _TRAINING_MEAN:
        return "Base: the score of an average training review; each part moves it for this review."
    return ("Base measured from a fallback (this model stores no training means: zeros for the interaction "
            "parts); retrain to measure from the average review.")
