"""Small text formatting helpers shared by models and widgets (no widgets here)."""
from __future__ import annotations

import datetime as dt
import html
from typing import Optional

NOT_SCORED = "not scored"


def fmt_float(value: Optional[float], digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def fmt_date(unix_seconds: Optional[int]) -> str:
    if unix_seconds is None:
        return ""
    return dt.datetime.fromtimestamp(unix_seconds, dt.timezone.utc).strftime("%Y-%m-%d")


def fmt_datetime(value: Optional[dt.datetime]) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def fmt_stars(rating: Optional[float]) -> str:
    if rating is None:
        return ""
    n = max(0, min(5, int(round(rating))))
    return "\u2605" * n + "\u2606" * (5 - n)


def one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def fmt_flag(kind: Optional[str], corrected_label: Optional[int]) -> str:
    if not kind:
        return ""
    return f"\u2691 {kind}" + ("" if corrected_label is None else f" \u2192 {corrected_label}")


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally.

    Qt renders a tooltip as rich text when it merely looks like HTML, so user content
    ("<b>html</b>") is escaped inside an explicit rich-text wrapper: the characters
    show as typed and nothing in them is interpreted.
    """
    escaped = html.escape(text, quote=False).replace("\n", "<br>")
    return f"<qt>{escaped}</qt>"
