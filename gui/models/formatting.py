"""Small text formatting helpers shared by models and widgets (no widgets here)."""
from __future__ import annotations

import datetime as dt
import html
import re
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


_TAG = re.compile(
    r"<\s*(/?)\s*(br|p|div|li|ul|ol|a|b|i|u|s|em|strong|span|font|h[1-6]|blockquote|sup|sub|small|big|center|hr|tt|code)"
    r"\b(?:\s[^<>]*)?/?\s*>",
    re.IGNORECASE,
)
_BREAK = {"br", "hr"}
_BLOCK = {"p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "center"}
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def display_text(text: str) -> str:
    """Review or product text as a reader should see it: the HTML some catalogues carry
    (``<br />``, ``<p>``, ``<a href=...>``, ``&amp;``) becomes plain text with line breaks.

    Only known HTML tag names are taken as markup, so "x < y" or "I <3 it" stay as typed; only
    complete ``&name;`` entities are decoded. The result is plain text for plain-text widgets:
    nothing is ever rendered. The database keeps the text as imported.
    """
    if "<" not in text and "&" not in text:
        return text

    def tag(m: re.Match) -> str:
        closing, name = m.group(1), m.group(2).lower()
        if name in _BREAK:
            return "\n"
        if name == "li":
            return "" if closing else "\n\u2022 "
        if name in _BLOCK:
            return "\n\n"
        return ""

    out = _TAG.sub(tag, text)
    out = _ENTITY.sub(lambda m: html.unescape(m.group(0)), out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n") if out != text else out


def one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(display_text(text).split())
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
