"""Small text formatting helpers shared by models and widgets (no widgets here)."""
from __future__ import annotations

import datetime as dt
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
