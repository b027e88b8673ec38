"""Scoring after an import, where the reviews are: the offer above the review table, the job's
progress there and in the "not scored" cells, rows filling in batch by batch, Cancel, and the
training panel refusing to start while the job writes.

The engine here is tests/helpers/fake_scorer.py: it writes predictions the way ``engine score``
does (whole batches, one transaction each, SIGTERM honoured between batches) without torch, and
can hold after its first batch until the test lets it go, so the mid-way checks wait on
conditions, never on time.
"""
from __future__ import annotations

from waits import WAIT, LONG_WAIT  # noqa: E402

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui.models.formatting import NOT_SCORED
from gui.models.review_table_model import column_of
from gui.models.roles import ProgressRole
from gui.training.state import RunStatus
from storage import open_database
from storage import repository as repo
from storage.models import ModelVersion, Prediction, Product, Review

FAKE_SCORER = Path(__file__).resolve().parents[1] / "helpers" / "fake_scorer.py"
NEW_REVIEWS = 25
CHUNK = 10
REASON = ("Scoring 25 reviews with v1 is writing to the store; training can start when it finishes or is "
          "cancelled.")


@pytest.fixture
def small_db(tmp_path) -> str:
    """A store with one product whose 3 reviews the active model v1 has scored."""
    url = f"sqlite:///{tmp_path / 'small.db'}"
    db = open_database(url)
    with db.begin() as s:
        mv = ModelVersion(name="v1", checkpoint_path="/models/v1", checkpoint_sha256="ab" * 32, active=True)
        product = Product(product_id="OLD", title="Old kettle", category="Kitchen", split="test")
        s.add_all([mv, product])
        s.flush()
        reviews = [Review(review_id=f"o-{i}", product_pk=product.id, title=f"old {i}", text=f"old text {i}",
                          helpful_votes=i, label=0) for i in range(3)]
        s.add_all(reviews)
        s.flush()
        s.add_all([Prediction(model_version_id=mv.id, review_pk=r.id, score=float(i)) for i, r in enumerate(reviews)])
        s.flush()
        repo.refresh_ranks(s, [product.id], [mv.id])  # as write_predictions stores them
    db.dispose()
    return url


@pytest.fixture
def new_catalogue(tmp_path) -> Path:
    """A JSONL catalogue folder: one new product with 25 reviews."""
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "products.jsonl").write_text('{"product_id": "NEW", "title": "Lamp", "category": "Home"}\n',
                                          encoding="utf-8")
    (folder / "reviews.jsonl").write_text(
        "".join(json.dumps({"review_id": f"n-{i}", "product_id": "NEW", "text": f"lamp review {i}",
                            "helpful_votes": i % 7}) + "\n" for i in range(NEW_REVIEWS)), encoding="utf-8")
    return folder


@pytest.fixture
def gated_scorer(tmp_path, monkeypatch):
    """(engine command, gate file): the scorer holds after its first batch until the gate exists."""
    gate = tmp_path / "gate"
    monkeypatch.setenv("FAKE_SCORE_GATE", str(gate))
    monkeypatch.setenv("FAKE_SCORE_CHUNK", str(CHUNK))
    return [sys.executable, str(FAKE_SCORER)], gate


def _missing(url: str) -> int:
    db = open_database(url)
    try:
        with db.begin() as s:
            return repo.count_missing_predictions(s, repo.get_active_model(s).id)
    finally:
        db.dispose()


def _score_cells(w) -> list[str]:
    col = column_of("score")
    return [w.review_model.index(r, col).data() for r in range(w.review_model.rowCount())]


def _is_score(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _import_and_show_new(w, qtbot, folder: Path) -> None:
    """Import ``folder``, wait for the offer, show the new product's reviews (all not scored)."""
    w.import_paths([str(folder)])
    qtbot.waitUntil(lambda: w.scoring_bar.mode == "offer", timeout=WAIT)
    qtbot.waitUntil(lambda: w.product_model.find("NEW") is not None, timeout=WAIT)
    w.app_state.current_product_pk = w.product_model.find("NEW").id
    qtbot.waitUntil(lambda: w.review_model.rowCount() == NEW_REVIEWS and not w.review_model.is_loading, timeout=WAIT)
    assert _score_cells(w) == [NOT_SCORED] * NEW_REVIEWS


def _score_until_first_batch(w, qtbot) -> None:
    qtbot.mouseClick(w.scoring_bar.score_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.scoring.state.done == CHUNK, timeout=LONG_WAIT)
    # the batch written is read back into the table; the other rows say how far the job is
    qtbot.waitUntil(lambda: sum(map(_is_score, _score_cells(w))) == CHUNK, timeout=WAIT)


def test_import_offers_to_score_then_the_table_shows_the_job_and_fills_in(
        make_window, qtbot, small_db, new_catalogue, gated_scorer):
    command, gate = gated_scorer
    w = make_window(small_db, engine_command=command)
    bar = w.scoring_bar
    assert bar.mode == "" and bar.isHidden()  # everything is scored: nothing to say

    _import_and_show_new(w, qtbot, new_catalogue)
    text = bar.label.text()
    assert "The import added 25 reviews" in text and "25 reviews have no score under v1" in text, text
    assert not bar.score_button.isHidden() and not bar.later_button.isHidden() and bar.cancel_button.isHidden()
    assert w.scoring.state.status is RunStatus.IDLE  # an offer, not a job: nothing starts unasked

    _score_until_first_batch(w, qtbot)
    assert bar.mode == "running" and not bar.cancel_button.isHidden() and bar.score_button.isHidden()
    assert bar.label.text().startswith("Scoring 10 of 25 reviews with v1 \u2014 40%"), bar.label.text()
    assert (bar.bar.value(), bar.bar.maximum()) == (CHUNK, NEW_REVIEWS)
    cells = _score_cells(w)
    assert cells.count("scoring\u2026 40%") == NEW_REVIEWS - CHUNK, cells
    unscored_row = cells.index("scoring\u2026 40%")
    cell = w.review_model.index(unscored_row, column_of("score"))
    tip = cell.data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Being scored by v1: 10 of 25 reviews done"), tip
    assert cell.data(ProgressRole) == pytest.approx(0.4)  # the cell paints the job's bar
    scored_row = next(r for r, text in enumerate(cells) if _is_score(text))
    assert w.review_model.index(scored_row, column_of("score")).data(ProgressRole) is None

    # training cannot start while the job writes, and says why
    panel = w.training
    assert not panel.start_button.isEnabled()
    assert panel.blocked_label.text() == REASON and not panel.blocked_label.isHidden()
    assert panel.start_button.toolTip() == REASON
    assert panel.start() is False and not panel.controller.running

    gate.write_text("go")
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED, timeout=LONG_WAIT)
    qtbot.waitUntil(lambda: w.review_model.rowCount() == NEW_REVIEWS and all(map(_is_score, _score_cells(w))),
                    timeout=WAIT)
    assert _missing(small_db) == 0
    assert all(w.review_model.index(r, column_of("score")).data(ProgressRole) is None for r in range(NEW_REVIEWS))
    assert bar.mode == "ended" and bar.label.text().startswith("Scored 25 reviews with v1 in ")
    assert bar.rest_button.isHidden()
    assert panel.start_button.isEnabled() and panel.blocked_label.isHidden()
    qtbot.mouseClick(bar.close_button, Qt.MouseButton.LeftButton)
    assert bar.isHidden()


def test_cancel_mid_way_keeps_the_written_batch_and_the_rest_not_scored(
        make_window, qtbot, small_db, new_catalogue, gated_scorer):
    command, _gate = gated_scorer  # never opened: the job holds after its first batch until cancelled
    w = make_window(small_db, engine_command=command)
    bar = w.scoring_bar
    _import_and_show_new(w, qtbot, new_catalogue)
    _score_until_first_batch(w, qtbot)
    assert not w.training.start_button.isEnabled()

    qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
    assert not bar.cancel_button.isEnabled() and bar.label.text().startswith("Cancelling:")
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.CANCELLED, timeout=LONG_WAIT)
    # the store: exactly the first batch, whole; the rest has no prediction
    assert _missing(small_db) == NEW_REVIEWS - CHUNK
    db = open_database(small_db)
    try:
        with db.begin() as s:
            mv = repo.get_active_model(s)
            rows = repo.review_rows_by_pks(s, [r.id for r in repo.page_reviews(s, None, order_by="id")], mv.id)
    finally:
        db.dispose()
    assert sum(r.score is not None for r in rows) == 3 + CHUNK
    # the table: the written batch shows its scores, the rest says "not scored" again
    qtbot.waitUntil(lambda: _score_cells(w).count(NOT_SCORED) == NEW_REVIEWS - CHUNK
                    and sum(map(_is_score, _score_cells(w))) == CHUNK, timeout=WAIT)
    assert bar.mode == "ended"
    assert bar.label.text() == "Scoring cancelled: 10 reviews scored (kept), 15 reviews still not scored"
    assert not bar.rest_button.isHidden()
    assert w.training.start_button.isEnabled() and w.training.blocked_label.isHidden()

    # "Score the rest" goes on where it stopped
    _gate.write_text("go")
    qtbot.mouseClick(bar.rest_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED, timeout=LONG_WAIT)
    assert w.scoring.state.outcome.scored == NEW_REVIEWS - CHUNK
    qtbot.waitUntil(lambda: all(map(_is_score, _score_cells(w))) and w.review_model.rowCount() == NEW_REVIEWS,
                    timeout=WAIT)
    assert _missing(small_db) == 0


def test_later_keeps_the_reviews_unscored_and_scores_nothing(make_window, qtbot, small_db, new_catalogue,
                                                            gated_scorer):
    command, _gate = gated_scorer
    w = make_window(small_db, engine_command=command)
    _import_and_show_new(w, qtbot, new_catalogue)
    qtbot.mouseClick(w.scoring_bar.later_button, Qt.MouseButton.LeftButton)
    assert w.scoring_bar.isHidden() and w.scoring.state.status is RunStatus.IDLE
    assert _missing(small_db) == NEW_REVIEWS
    assert _score_cells(w) == [NOT_SCORED] * NEW_REVIEWS


def test_score_now_runs_the_real_engine_on_what_the_import_added(make_window, qtbot, tmp_path, new_catalogue,
                                                                 tiny_encoder_path):
    """The same offer with ``python -m engine score`` and a tiny model: its events drive the bar,
    and the table ends with every imported review scored."""
    from helpers.tiny_engine import write_tiny_checkpoint

    url = f"sqlite:///{tmp_path / 'real.db'}"
    checkpoint = tmp_path / "models" / "tiny"
    sha = write_tiny_checkpoint(checkpoint, tiny_encoder_path)
    db = open_database(url)
    with db.begin() as s:
        repo.register_model_version(s, "v1", str(checkpoint), sha, activate=True)
        product = Product(product_id="OLD", title="Old kettle", category="Kitchen", split="test")
        s.add(product)
        s.flush()
        s.add(Review(review_id="o-0", product_pk=product.id, title="old", text="old kettle", helpful_votes=1, label=0))
    db.dispose()
    w = make_window(url)
    # opened with one review v1 has not scored: offered at once
    qtbot.waitUntil(lambda: w.scoring_bar.mode == "offer", timeout=WAIT)
    assert w.scoring_bar.label.text().startswith("1 review has no score under v1 yet")
    w.import_paths([str(new_catalogue)])
    qtbot.waitUntil(lambda: "The import added" in w.scoring_bar.label.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: w.scoring_bar.mode == "offer", timeout=WAIT)
    # the review that was there before the import is unscored too: the count says what the job will score
    assert "26 reviews have no score under v1" in w.scoring_bar.label.text(), w.scoring_bar.label.text()
    qtbot.waitUntil(lambda: w.product_model.find("NEW") is not None, timeout=WAIT)
    w.app_state.current_product_pk = w.product_model.find("NEW").id
    qtbot.mouseClick(w.scoring_bar.score_button, Qt.MouseButton.LeftButton)
    assert w.scoring_bar.mode == "running" and not w.training.start_button.isEnabled()
    qtbot.waitUntil(lambda: not w.scoring.state.status.active, timeout=LONG_WAIT)
    assert w.scoring.state.status is RunStatus.SUCCEEDED, w.scoring.state.error
    assert w.scoring_bar.label.text().startswith("Scored 26 reviews with v1 in ")
    qtbot.waitUntil(lambda: w.review_model.rowCount() == NEW_REVIEWS and all(map(_is_score, _score_cells(w))),
                    timeout=WAIT)
    assert _missing(url) == 0 and w.training.start_button.isEnabled()


def test_cancelling_the_scoring_of_a_model_just_activated_still_shows_that_model(make_window, qtbot, small_db,
                                                                                 gated_scorer, monkeypatch):
    command, _gate = gated_scorer
    monkeypatch.setenv("FAKE_SCORE_CHUNK", "2")  # 3 reviews: a batch of 2, then (cancelled) one of 1
    db = open_database(small_db)
    with db.begin() as s:
        v2 = repo.register_model_version(s, "v2", "/models/v2", "cd" * 32).id
    db.dispose()
    w = make_window(small_db, engine_command=command)
    shown = []
    w.status.messageChanged.connect(shown.append)
    w.model_ops.activate(v2, "v2")
    qtbot.waitUntil(lambda: w.scoring.state.done == 2, timeout=LONG_WAIT)  # its first batch; then it holds
    assert w.app_state.active_model.name == "v1"  # the table shows v1 until v2 is ready
    assert w.scoring_bar.mode == "running" and not w.training.start_button.isEnabled()
    qtbot.mouseClick(w.scoring_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.CANCELLED, timeout=LONG_WAIT)
    qtbot.waitUntil(lambda: w.app_state.active_model is not None and w.app_state.active_model.name == "v2",
                    timeout=WAIT)
    assert any(m.startswith("Scoring with v2 was cancelled") for m in shown), shown
    assert _missing(small_db) == 1  # v2 is active now: its first batch is kept, the last review not scored


def test_opening_a_store_with_unscored_reviews_offers_to_score_them(make_window, qtbot, small_db, gated_scorer):
    """E.g. the app closed while it rescored: the bar above the table offers it, as after an import."""
    command, gate = gated_scorer
    gate.touch()  # the scorer runs through
    db = open_database(small_db)
    with db.begin() as s:
        product = s.query(Product).one()
        s.add(Review(review_id="o-new", product_pk=product.id, title="new", text="not scored yet", helpful_votes=1))
    db.dispose()
    w = make_window(small_db, engine_command=command)
    qtbot.waitUntil(lambda: w.scoring_bar.mode == "offer", timeout=WAIT)
    assert w.scoring_bar.label.text() == "1 review has no score under v1 yet: score them now, in the background?"
    qtbot.mouseClick(w.scoring_bar.score_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED, timeout=LONG_WAIT)
    assert _missing(small_db) == 0
