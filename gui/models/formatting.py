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


def _tag(m: re.Match) -> str:
    closing, name = m.group(1), m.group(2).lower()
    if name in _BREAK:
        return "\n"
    if name == "li":
        return "" if closing else "\n\u2022 "
    if name in _BLOCK:
        return "\n\n"
    return ""


def _entity(m: re.Match) -> str:
    return html.unescape(m.group(0))


_SPACE_BEFORE_BREAK = (re.compile(r"[ \t]+\n"), lambda m: "\n")
_MANY_BREAKS = (re.compile(r"\n{3,}"), lambda m: "\n\n")


def display_text(text: str) -> str:
    """Review or product text as a reader should see it: the HTML some catalogues carry
    (``<br />``, ``<p>``, ``<a href=...>``, ``&amp;``) becomes plain text with line breaks.

    Only known HTML tag names are taken as markup, so "x < y" or "I <3 it" stay as typed; only
    complete ``&name;`` entities are decoded. The result is plain text for plain-text widgets:
    nothing is ever rendered. The database keeps the text as imported.
    """
    if "<" not in text and "&" not in text:
        return text
    out = _TAG.sub(_tag, text)
    out = _ENTITY.sub(_entity, out)
    for pattern, repl in (_SPACE_BEFORE_BREAK, _MANY_BREAKS):
        out = pattern.sub(repl, out)
    return out.strip("\n") if out != text else out


def _sub_tracked(pattern: re.Pattern, repl, text: str, src: list[int]) -> tuple[str, list[int]]:
    """``pattern.sub(repl, text)``, carrying ``src`` (a source index per character) along: a
    replacement's characters get the source index of the match's first character."""
    out: list[str] = []
    out_src: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(text[pos:m.start()])
        out_src.extend(src[pos:m.start()])
        rep = repl(m)
        out.append(rep)
        out_src.extend([src[m.start()]] * len(rep))
        pos = m.end()
    out.append(text[pos:])
    out_src.extend(src[pos:])
    return "".join(out), out_src


def display_text_map(text: str) -> tuple[str, list[int]]:
    """``(display_text(text), src)``: ``src[i]`` is the index in ``text`` that displayed character
    ``i`` comes from (non-decreasing), so spans of the stored text can be found in the shown one."""
    if "<" not in text and "&" not in text:
        return text, list(range(len(text)))
    out, src = text, list(range(len(text)))
    for pattern, repl in ((_TAG, _tag), (_ENTITY, _entity), _SPACE_BEFORE_BREAK, _MANY_BREAKS):
        out, src = _sub_tracked(pattern, repl, out, src)
    if out != text:
        start = len(out) - len(out.lstrip("\n"))
        end = len(out.rstrip("\n"))
        out, src = out[start:max(start, end)], src[start:max(start, end)]
    return out, src


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
