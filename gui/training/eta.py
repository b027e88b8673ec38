"""How long a job still needs, from the rate measured so far (pure functions, no Qt).

A job reports ``(time, done)`` samples as it goes (a scoring job: one per batch written).
The rate is measured over the recent samples only, so the cost of a slow start (loading a
model, encoding texts that are not cached yet) fades out of the estimate as the job runs.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

Sample = tuple[float, int]
"""(seconds on a monotonic clock, items done by then)."""

MIN_SPAN_S = 0.5
"""Samples closer together than this measure nothing yet (the estimate is None)."""


def estimate_eta(samples: Sequence[Sample], total: int, window_s: float = 60.0,
                 min_span_s: float = MIN_SPAN_S) -> Optional[float]:
    """Seconds still needed to reach ``total``, at the rate of the last ``window_s`` seconds.

    The rate is (items done) / (time taken) between the newest sample and the oldest one that
    lies within ``window_s`` of it; when no older sample lies inside the window, the one just
    before it is used, so two samples far apart still give an estimate. None when the rate
    cannot be measured: fewer than two samples, less than ``min_span_s`` between them, or no
    progress between them. 0 once ``total`` is reached.
    """
    if not samples or total <= 0:
        return None
    t_last, done_last = samples[-1]
    if done_last >= total:
        return 0.0
    anchor = None
    for t, done in reversed(samples[:-1]):
        anchor = (t, done)
        if t_last - t >= window_s:
            break
    if anchor is None:
        return None
    span, progress = t_last - anchor[0], done_last - anchor[1]
    if span < min_span_s or progress <= 0:
        return None
    eta = (total - done_last) * span / progress
    return eta if math.isfinite(eta) else None


def eta_text(seconds: Optional[float]) -> str:
    """``None`` -> ``""``; ``4`` -> ``"a few seconds left"``; ``42`` -> ``"about 45 s left"``;
    ``150`` -> ``"about 3 min left"``; ``5400`` -> ``"about 1 h 30 min left"``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 60:
        return f"about {min(55, int(5 * round(seconds / 5)))} s left"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"
