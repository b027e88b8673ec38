"""The review text highlight stored with a score's explanation: which words of the review's title
and text pushed the score up or down (MMSS.md "Explaining a score", last bullet).

Token values come from :func:`engine.model.text_attribution.integrated_gradients` (zero baseline);
here they become words, in the coordinates of the review's title and text **as stored** (the model
reads ``"<title>. <text>"``, both stripped: :func:`engine.jobs.data.review_text`), so the reader can
tint the words it shows. A word's value is the sum of its word pieces'. What the model reads beyond
``max_tokens`` gets no value: ``read_to`` says where in the stored text reading stopped.

The record (``explanation["highlight"]``, JSON)::

    {"method": "integrated gradients", "of": "score", "baseline": "zeros", "rule": "gauss-legendre",
     "steps": 4 (nodes; more where 4 missed the completeness tolerance), "delta": f(x) - f(baseline), "gap": sum of all token values - delta,
     "other": the [CLS] / [SEP] / title-text separator tokens' share,
     "title": [[start, end, value], ...], "text": [[start, end, value], ...],
     "read_to": None (the whole text was read) or the index in the stored text where reading stopped}

so that ``other + sum(title values) + sum(text values) == delta + gap`` (values rounded to
:data:`DECIMALS`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from engine.model.text_attribution import BASELINE, DEFAULT_STEPS, MAX_STEPS, integrated_gradients

__all__ = ["DECIMALS", "KEY", "highlight_records", "merge_words", "place_words"]

KEY = "highlight"
#: Decimals a word's value keeps (score units; a tint needs far less).
DECIMALS = 4

Span = tuple[int, int, float]


def merge_words(tokens: Sequence[tuple[int, int, Optional[int]]], values: Sequence[float]) -> tuple[list[Span], float]:
    """Sum token ``values`` per word: ``([(start, end, value)] in text order, the value of the
    tokens of no word)``. ``tokens`` are :class:`~engine.model.text.TokenOffsets` triples
    ``(start, end, word index or None)``; a word's span runs from its first piece to its last."""
    words: list[list] = []
    other = 0.0
    last_word = None
    for (start, end, word), v in zip(tokens, values):
        if word is None or end <= start:
            other += float(v)
            last_word = None
            continue
        if word == last_word and words:
            words[-1][1] = max(words[-1][1], end)
            words[-1][2] += float(v)
        else:
            words.append([start, end, float(v)])
        last_word = word
    return [(s, e, v) for s, e, v in words], other


def place_words(words: Sequence[Span], title: str, text: str, read_end: int) -> tuple[list[Span], list[Span], float, Optional[int]]:
    """Words of the read string ``"<title>. <text>"`` (as :func:`engine.jobs.data.review_text` makes
    it) -> ``(title words, text words, value of words in neither, read_to)``, spans in the coordinates
    of the stored ``title`` and ``text``. ``read_end``: where the last read token ends in the read
    string; ``read_to`` is None when all of the text was read, else where reading stopped in ``text``."""
    t, b = title.strip(), text.strip()
    t_lead, b_lead = len(title) - len(title.lstrip()), len(text) - len(text.lstrip())
    body_at = len(t) + 2 if t else 0
    in_title: list[Span] = []
    in_text: list[Span] = []
    other = 0.0
    for s, e, v in words:
        if t and e <= len(t):
            in_title.append((s + t_lead, e + t_lead, v))
        elif s >= body_at:
            in_text.append((s - body_at + b_lead, e - body_at + b_lead, v))
        else:  # the ". " between title and text
            other += v
    read = f"{t}. {b}" if t else b
    read_to = None if not read[read_end:].strip() else b_lead + max(0, read_end - body_at)
    return in_title, in_text, other, read_to


def _rounded(spans: Sequence[Span]) -> list[list]:
    return [[s, e, round(v, DECIMALS)] for s, e, v in spans]


def highlight_records(model, batch, read_texts: Sequence[str], sources: Sequence[tuple[str, str]], offsets,
                      steps: int = DEFAULT_STEPS) -> list[Optional[dict]]:
    """The highlight record of every review of ``batch`` (in batch order): ``read_texts`` what the
    model read, ``sources`` the stored ``(title, text)`` of each review, ``offsets`` a
    :class:`~engine.model.text.TokenOffsets` of the model's encoder. None for a review whose token
    count differs from what the model read (a tokenizer that does not match the cached states)."""
    ig = integrated_gradients(model, batch, steps, max_steps=max(steps, MAX_STEPS))
    values = ig.values.cpu().tolist()
    deltas, gaps, used = ig.delta.cpu().tolist(), ig.gap.cpu().tolist(), ig.steps.tolist()
    out: list[Optional[dict]] = []
    for row, tokens, n, (title, text), delta, gap, nodes in zip(values, offsets(read_texts), ig.lengths(), sources,
                                                                 deltas, gaps, used):
        if len(tokens) != n:
            out.append(None)
            continue
        words, special = merge_words(tokens, row[:n])
        read_end = max((e for _s, e, w in tokens if w is not None), default=0)
        in_title, in_text, between, read_to = place_words(words, title or "", text or "", read_end)
        out.append({"method": "integrated gradients", "of": "score", "baseline": BASELINE, "rule": ig.rule,
                    "steps": nodes, "delta": round(delta, 6), "gap": float(f"{gap:.2e}"),
                    "other": round(special + between, DECIMALS), "title": _rounded(in_title),
                    "text": _rounded(in_text), "read_to": read_to})
    return out
