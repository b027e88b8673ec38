"""What the detail pane's word tint shows (no Qt): a stored text highlight
(:class:`storage.records.TextHighlight`: which words of the review's stored title and text pushed
its score up or down) placed in the text as the pane displays it; the title's words (its label
stays plain text) are listed with their values.

Each word gets a level in ``[-1, 1]``: its value over the review's largest ``|value|``, so the
strongest word of every review is fully tinted and the sign says which way it pushed. Words whose
level is below :data:`FAINT` are left untinted (noise a reader cannot tell from white). The pane
shows the text through :func:`gui.models.formatting.display_text` (catalogue HTML becomes line
breaks), so spans are carried from the stored text to the displayed one.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from storage.records import TextHighlight

from ..models.formatting import display_text, display_text_map

__all__ = ["FAINT", "LEGEND_DOWN", "LEGEND_UP", "Tint", "HighlightView", "highlight_view"]

FAINT = 0.06
LEGEND_UP = "raised the score"
LEGEND_DOWN = "lowered the score"


@dataclass(frozen=True)
class Tint:
    """Characters ``[start, end)`` of the displayed text, tinted at ``level`` in [-1, 1]
    (positive: the word raised the score)."""

    start: int
    end: int
    level: float


@dataclass(frozen=True)
class HighlightView:
    text: tuple[Tint, ...]
    note: str
    """Where reading stopped ("" when the model read all of the text)."""
    tooltip: str
    """How the values were made: method, baseline, scaling, completeness."""
    title_note: str = ""
    """The title's words and values (the title label stays plain text: no tint there)."""


def _place(spans, raw: str, largest: float) -> tuple[tuple[Tint, ...], str, list[int]]:
    shown, src = display_text_map(raw)
    tints = []
    for s, e, v in spans:
        level = v / largest if largest > 0 else 0.0
        if abs(level) < FAINT or e > len(raw):
            continue
        a, b = bisect_left(src, s), bisect_left(src, e)  # first shown characters from s and from e on
        if b > a:
            tints.append(Tint(a, b, max(-1.0, min(1.0, level))))
    return tuple(tints), shown, src


def _words(text: str) -> int:
    return len(text.split())


def highlight_view(light: TextHighlight, title: str, text: str) -> HighlightView:
    """The tints of a review's stored ``title`` and ``text`` (as imported) in their displayed form."""
    largest = light.largest
    text_tints, shown, src = _place(light.text, text or "", largest)
    note = ""
    if light.read_to is not None:
        read = shown[:bisect_left(src, light.read_to)]
        n, total = _words(read), _words(shown)
        if n == 0:
            note = "The model read only the title; the text is not tinted."
        else:
            note = (f"The model read the first {n} of the {total} words of the text (its token limit); "
                    "the rest is not tinted.")
    tooltip = (
        "Word tint: integrated gradients of the score over the review tokens the model read, from an "
        f"all-zero baseline ({light.baseline} token states, {light.steps} Gauss-Legendre nodes). A word's "
        "value is the sum of its word pieces'; the tint is scaled to this review's largest |value| "
        f"({_fmt(largest)}). Orange words raised the score, blue words lowered it. Together the words move "
        f"the score by {_fmt(light.delta)} from the baseline (completeness gap {light.gap:.0e})."
    )
    words = [f"{display_text(title[s:e])} {_fmt(v)}" for s, e, v in sorted(light.title, key=lambda w: -abs(w[2]))[:8]]
    title_note = f"How the title's words pushed the score: {', '.join(words)}" if words else ""
    return HighlightView(text_tints, note, tooltip, title_note)


def _fmt(value: float) -> str:
    return f"{value:+.3f}".replace("-", "\u2212")

