"""The ETA of a scoring job from its measured rate, and what the job's state says (no Qt)."""
from __future__ import annotations

import json

import pytest

from gui.training.eta import estimate_eta, eta_text
from gui.training.scoring_state import ScoreJobState
from gui.training.state import RunStatus


def test_estimate_eta_from_the_measured_rate():
    assert estimate_eta([], 100) is None
    assert estimate_eta([(0.0, 0)], 100) is None  # one sample measures no rate
    assert estimate_eta([(0.0, 0), (10.0, 20)], 100) == pytest.approx(40.0)  # 2/s, 80 left
    assert estimate_eta([(0.0, 0), (0.1, 20)], 100) is None  # too close together to trust
    assert estimate_eta([(0.0, 0), (0.1, 20)], 100, min_span_s=0.05) == pytest.approx(0.4)
    assert estimate_eta([(0.0, 10), (5.0, 10)], 100) is None  # no progress: no rate
    assert estimate_eta([(0.0, 0), (10.0, 100)], 100) == 0.0
    assert estimate_eta([(0.0, 0), (1.0, 10)], 0) is None


def test_estimate_eta_follows_the_recent_rate_not_a_slow_start():
    # a slow first batch (model loading: 100 reviews in 60 s), then 100 reviews every 10 s
    samples = [(0.0, 0), (60.0, 100), (70.0, 200), (80.0, 300), (90.0, 400)]
    assert estimate_eta(samples, 1000, window_s=30.0) == pytest.approx(60.0)  # 10/s over the last 30 s
    assert estimate_eta(samples, 1000, window_s=1000.0) == pytest.approx(600 * 90 / 400)  # since the start
    # no sample inside the window but the newest: the one just before it anchors the rate
    assert estimate_eta([(0.0, 0), (100.0, 50)], 100, window_s=10.0) == pytest.approx(100.0)


def test_eta_text():
    assert eta_text(None) == "" and eta_text(float("nan")) == "" and eta_text(-1) == ""
    assert eta_text(4) == "a few seconds left"
    assert eta_text(42) == "about 40 s left" and eta_text(58) == "about 55 s left"
    assert eta_text(170) == "about 3 min left"
    assert eta_text(3600) == "about 1 h left" and eta_text(5400) == "about 1 h 30 min left"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _line(**obj) -> str:
    return json.dumps(obj)


def test_score_state_measures_its_eta_and_words_its_progress():
    clock = Clock()
    state = ScoreJobState(clock=clock)
    assert state.writing_reason() == ""
    state.begin("v1")
    assert state.writing_reason() == ("A scoring job with v1 is writing to the store; training can start when it "
                                      "finishes or is cancelled.")
    assert state.cell_text() == "scoring\u2026" and state.job_line().startswith("Starting to score with v1")
    state.apply_line(_line(event="start", model="v1", reviews=1234, device="cpu"))
    assert state.writing_reason().startswith("Scoring 1,234 reviews with v1 is writing to the store")
    clock.now += 10
    state.apply_line(_line(event="progress", done=100, total=1234, reviews_per_s=1.0, eta_s=999.0))
    assert state.eta_s == pytest.approx(1134 / 10)  # measured: 10 reviews/s, not the engine's 999
    assert state.cell_text() == "scoring\u2026 8%"
    assert state.job_line() == "Scoring 100 of 1,234 reviews with v1 \u2014 8%, about 2 min left"
    assert state.cell_tooltip() == "Being scored by v1: 100 of 1,234 reviews done, about 2 min left"


def test_the_highlight_pass_says_every_review_is_scored_and_counts_the_words_pass():
    state = ScoreJobState(clock=Clock())
    state.begin("v1")
    state.apply_line(_line(event="start", model="v1", reviews=40, device="cpu"))
    state.apply_line(_line(event="progress", done=40, total=40))
    state.apply_line(_line(event="highlight", done=10, total=40, eta_s=30.0))
    assert (state.done, state.total, state.highlighted) == (40, 40, 10)
    assert state.job_line() == ("All 40 reviews scored with v1; marking the words that moved each score: "
                                "10 done, about 30 s left")
    state.apply_line(_line(event="done", model="v1", scored=40, seconds=1.0, highlight_seconds=4.0))
    assert state.finish(0) is RunStatus.SUCCEEDED


def test_a_cancelled_score_job_is_cancelled_even_though_the_engine_says_done():
    state = ScoreJobState(clock=Clock())
    state.begin("v1")
    state.apply_line(_line(event="start", model="v1", reviews=25, device="cpu"))
    state.apply_line(_line(event="progress", done=10, total=25))
    state.status = RunStatus.CANCELLING
    assert state.cell_text() == "stopping\u2026" and state.job_line().startswith("Cancelling:")
    state.apply_line(_line(event="cancelled", scored=10))
    state.apply_line(_line(event="done", model="v1", scored=10, seconds=1.0))
    assert state.finish(0) is RunStatus.CANCELLED
    assert (state.done, state.total) == (10, 25)
    assert state.end_line() == "Scoring cancelled: 10 reviews scored (kept), 15 reviews still not scored"
    assert state.writing_reason() == ""
