"""The models view: list, compare two versions, activate (flags resolved, rank arrows in the
table), delete, and export / import a model folder through the real engine."""
from __future__ import annotations

from waits import WAIT, LONG_WAIT  # noqa: E402

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gui.models.review_table_model import column_of
from gui.models_view.compare import compare, rank_moves_in_product
from storage import open_database
from storage import repository as repo
from storage.models import Review
from storage.records import PredictionIn

TREES_SCORES = {"t-0": 1.0, "t-1": 4.0, "t-2": 0.5, "t-3": 2.5, "t-4": 3.0, "t-5": 2.0}


@pytest.fixture
def two_models(catalogue):
    """v2 (child of v1) scores every review: Kettle in reverse review order, Trees by label
    (so it agrees with a flag that lifts t-3 to label 2), Shoe too. A flag asks for that."""
    db = open_database(catalogue.url)
    with db.begin() as s:
        v2 = repo.register_model_version(s, "v2", "/models/v2", "cd" * 32, parent_id=catalogue.model_id,
                                         metrics={"dev": {"MAP": 61.0, "NDCG@3": 50.0}, "test": {"MAP": 55.0}},
                                         card={"recipe": "cpu-quick", "device": "cpu"})
        repo.update_model_metrics(s, catalogue.model_id, {"dev": {"MAP": 58.5, "NDCG@3": 49.0}, "test": {"MAP": 56.0}})
        reviews = s.query(Review).order_by(Review.id).all()
        preds = []
        for r in reviews:
            if r.review_id in TREES_SCORES:
                score = TREES_SCORES[r.review_id]
            else:
                score = -float(int(r.review_id.split("-")[1]))
            preds.append(PredictionIn(r.id, score, (0.1, 0.2, 0.3, 0.4, 0.5)))
        repo.write_predictions(s, v2.id, preds)
        t3 = next(r.id for r in reviews if r.review_id == "t-3")
        repo.add_flag(s, t3, "model too low", "mod", corrected_label=2)
    db.dispose()
    return catalogue, v2.id, t3


def _select(view, *model_ids) -> None:
    view.select(model_ids)


def test_list_compare_activate_resolves_flags_and_shows_rank_arrows(make_window, qtbot, two_models, open_db):
    cat, v2_id, t3 = two_models
    w = make_window(cat.url)
    view = w.models_view
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 2, timeout=WAIT)
    names = [view.list_model.record(r).name for r in range(2)]
    assert names == ["v2", "v1"]  # newest first
    active_row = view.list_model.row_of(cat.model_id)
    assert view.list_model.index(active_row, 0).data() == "\u25cf"
    assert view.list_model.index(view.list_model.row_of(v2_id), 4).data() == "61.0"
    assert view.list_model.index(view.list_model.row_of(v2_id), 2).data() == "v1"  # parent

    # one model selected: compared with its parent
    _select(view, v2_id)
    qtbot.waitUntil(lambda: view.state.comparison is not None, timeout=WAIT)
    comp = view.state.comparison
    assert (comp.a.name, comp.b.name) == ("v1", "v2")
    dev_map = next(r for r in comp.metrics if (r.split, r.metric) == ("dev", "MAP"))
    assert dev_map.delta == pytest.approx(2.5)
    assert {p.product_id for p in comp.products} == {"P-KETTLE", "P-TREES"}
    assert comp.moves and abs(comp.moves[0].delta) >= abs(comp.moves[-1].delta)
    assert comp.moves[0].row is not None
    assert view.comparison.moves_model.rowCount() == len(comp.moves)
    assert "A = v1, B = v2" in view.comparison.title.text()
    assert view.activate_button.isEnabled() and view.delete_button.isEnabled()

    # activate v2: it has scored everything, so flags are resolved at once and the window reloads
    qtbot.mouseClick(view.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.app_state.active_model is not None and w.app_state.active_model.name == "v2",
                    timeout=WAIT)
    with open_db.begin() as s:
        flag = repo.active_flag(s, t3)
    assert flag.resolution == f"resolved by model #{v2_id}"
    w.app_state.current_product_pk = cat.product_pks["P-TREES"]
    model = w.review_model
    qtbot.waitUntil(lambda: model.rowCount() == 6 and model.row_of(t3) is not None
                    and model.rank_move(t3) is not None, timeout=WAIT)
    row = model.row_of(t3)
    move = model.rank_move(t3)
    rank_text = model.index(row, column_of("rank")).data()
    assert move.delta != 0 and (("\u25b2" if move.delta > 0 else "\u25bc") + str(abs(move.delta))) in rank_text
    assert model.index(row, column_of("rank")).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert "resolved" in model.index(row, column_of("flag")).data()
    assert "Under the previous model, v1" in model.index(row, column_of("rank")).data(Qt.ItemDataRole.ToolTipRole)


def test_delete_asks_first_and_never_deletes_the_active_model(make_window, qtbot, two_models, open_db, monkeypatch):
    cat, v2_id, _t3 = two_models
    w = make_window(cat.url)
    view = w.models_view
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 2, timeout=WAIT)
    _select(view, cat.model_id)  # v1 is active
    assert not view.delete_button.isEnabled() and not view.activate_button.isEnabled()
    _select(view, v2_id)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []
    others: list[tuple[str, str]] = []  # any other box (an error) is recorded, not answered as a question

    def fake_exec(box):
        if box.standardButtons() & QMessageBox.StandardButton.Yes and answers:
            asked.append(box.text())
            return answers.pop(0)
        others.append((box.windowTitle(), box.text()))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)  # "No": nothing happens
    assert len(asked) == 1 and view.list_model.rowCount() == 2
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)
    assert len(asked) == 2 and others == []
    with open_db.begin() as s:
        assert [m.name for m in repo.list_model_versions(s)] == ["v1"]
        assert repo.prediction_counts(s).get(v2_id) is None


def test_export_then_import_a_model_folder_and_refuse_a_pickle(make_window, qtbot, catalogue, tiny_encoder_path,
                                                                tmp_path, message_boxes):
    from helpers.tiny_engine import write_tiny_checkpoint

    src = tmp_path / "ckpt" / "tiny"
    sha = write_tiny_checkpoint(src, tiny_encoder_path, {"dev": {"MAP": 40.0}})
    db = open_database(catalogue.url)
    with db.begin() as s:
        repo.register_model_version(s, "tiny", str(src), sha, metrics={"dev": {"MAP": 40.0}})
    db.dispose()
    w = make_window(catalogue.url)
    ops, view = w.model_ops, w.models_view
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 2, timeout=WAIT)

    out = tmp_path / "exported"
    with qtbot.waitSignal(ops.message, timeout=LONG_WAIT) as sent:
        assert ops.export("tiny", str(out))
    assert sent.args[0].startswith("Exported tiny")
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.safetensors"]

    with qtbot.waitSignal(ops.message, timeout=LONG_WAIT) as sent:
        assert ops.import_folder(str(out), "tiny-copy")
    assert sent.args[0].startswith("Imported tiny-copy")
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 3, timeout=WAIT)
    copy = next(view.list_model.record(r) for r in range(3) if view.list_model.record(r).name == "tiny-copy")
    assert copy.checkpoint_sha256 == sha and not copy.active and Path(copy.checkpoint_path).is_dir()

    evil = tmp_path / "evil"
    evil.mkdir()
    for f in out.iterdir():
        (evil / f.name).write_bytes(f.read_bytes())
    (evil / "extra.pkl").write_bytes(b"\x80\x04K\x01.")
    with qtbot.waitSignal(ops.failed, timeout=LONG_WAIT):
        assert ops.import_folder(str(evil), "evil")
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=WAIT)
    title, text = message_boxes[-1]
    assert title == "Import model failed" and "refusing a pickle-format file" in text
    assert view.list_model.rowCount() == 3


# ---------------------------------------------------------------- pure comparison


def test_rank_moves_rank_among_reviews_both_models_scored():
    old = [(1, 3.0), (2, 2.0), (3, 1.0), (4, None)]
    new = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 9.0)]
    moves = rank_moves_in_product(old, new)
    assert set(moves) == {1, 2, 3}
    assert (moves[1].old_rank, moves[1].new_rank, moves[1].delta) == (1, 3, -2)
    assert moves[3].delta == 2 and moves[2].delta == 0


def test_compare_gives_per_product_ap_deltas_over_common_labelled_reviews():
    import datetime as dt

    from storage.records import ModelVersionRecord

    def mv(i, metrics):
        return ModelVersionRecord(i, f"m{i}", None, "", "", {}, metrics, {}, False, dt.datetime(2024, 1, 1))

    a_rows = {"P": [(1, 0.1, 4), (2, 0.9, 0), (3, 0.5, None)], "Q": [(5, 1.0, 3)]}
    b_rows = {"P": [(1, 0.9, 4), (2, 0.1, 0), (3, 0.5, None)], "Q": [(5, 1.0, 3)], "R": [(7, 1.0, 2)]}
    comp = compare(mv(1, {"dev": {"MAP": 50}}), mv(2, {"dev": {"MAP": 60}}), a_rows, b_rows, {"P": ("Pen", "test")})
    p = next(d for d in comp.products if d.product_id == "P")
    assert (p.ap_a, p.ap_b, p.n_labelled, p.title) == (50.0, 100.0, 2, "Pen")
    assert comp.products[0].product_id == "P"  # biggest change first
    assert comp.common_reviews == 4 and comp.scored_b == 5
    assert {m.review_pk for m in comp.moves} == {1, 2}
    (dev_map,) = [r for r in comp.metrics if r.metric == "MAP"]
    assert dev_map.delta == 10


# ---------------------------------------------------------------- drift on the unflagged reviews


def test_comparison_shows_drift_on_unflagged_reviews_and_a_mover_opens_its_review(make_window, qtbot, two_models):
    import math

    from gui.models_view.drift import SERIES, share_text

    cat, v2_id, t3 = two_models
    w = make_window(cat.url)
    view = w.models_view
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 2, timeout=WAIT)
    _select(view, v2_id)
    qtbot.waitUntil(lambda: view.state.drift is not None and not view.state.drifting, timeout=WAIT)
    drift = view.state.drift
    # v1 scored Kettle (1200) and Trees (6); v2 everything; t-3 has an active flag: left out
    assert (drift.a_name, drift.b_name, drift.n) == ("v1", "v2", 1205)
    assert all(m.review_pk != t3 for s in drift.series for m in s.movers)
    # p_t r_t under v1 is the fixture's sin curve, under v2 0.1 everywhere
    ids = [n for n in range(1200)] + [n for n in range(6) if n != 3]
    a_vals = [round(math.sin(n * 2 * 0.7) * 1.5, 4) for n in ids]
    moved = sum(abs(0.1 - a) > 1.0 for a in a_vals)
    pt_rt = drift.get("p_t r_t")
    assert pt_rt.moved == moved and pt_rt.mean_b == pytest.approx(0.1) and pt_rt.flat_b and not pt_rt.flat_a
    assert pt_rt.mean_a == pytest.approx(sum(a_vals) / len(a_vals))

    panel = view.comparison.drift
    assert panel.title.text().startswith("1,205 reviews scored by both and not flagged. Moved: |B \u2212 A| > 1 label step")
    assert "A v1" in panel.legend.text() and "B v2" in panel.legend.text()
    summary = panel.summary_model
    row = SERIES.index("p_t r_t")
    assert summary.index(row, 0).data() == "p_t r_t"
    assert summary.index(row, 1).data() == share_text(moved / 1205)
    assert summary.index(row, 5).data() == "1,205"
    assert summary.index(row, 0).data(Qt.ItemDataRole.ToolTipRole) == pt_rt.sentence
    assert f"{share_text(moved / 1205)} of 1,205 unflagged reviews" in pt_rt.sentence
    assert {c.category for c in drift.categories} == {"Kitchen", "Books"} and panel.movers_tabs.isTabVisible(1)

    # the series selector drives the plot and the movers
    panel.series_box.setCurrentText("p_t r_t")
    assert view.state.drift_series == "p_t r_t"
    assert panel.movers_model.rowCount() == 50 and panel.chart.a_line.count() == 21
    assert panel.sentence.text() == pt_rt.sentence

    # double click on the top mover opens it in place
    w.models_dock.raise_()
    view.comparison.tabs.setCurrentWidget(panel)
    mv = panel.movers_view
    qtbot.waitUntil(mv.isVisible, timeout=WAIT)
    mover = panel.movers_model.record(mv.model().mapToSource(mv.model().index(0, 0)).row())
    pos = mv.visualRect(mv.model().index(0, 1)).center()
    with qtbot.waitSignal(view.review_requested, timeout=WAIT) as sent:
        qtbot.mouseClick(mv.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        qtbot.mouseDClick(mv.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sent.args == [mover.product_pk, mover.review_pk]
    qtbot.waitUntil(lambda: w.app_state.current_review_pk == mover.review_pk, timeout=WAIT)

    # the same pair again: the cached drift at once (the stamp did not change)
    _select(view, cat.model_id)
    qtbot.waitUntil(lambda: view.state.drift is None, timeout=WAIT)
    _select(view, v2_id)
    qtbot.waitUntil(lambda: view.state.drift is drift and not view.state.drifting, timeout=WAIT)


def test_a_new_flag_takes_its_review_out_of_the_shown_drift(make_window, qtbot, two_models, open_db):
    """The drift covers the unflagged reviews: flagging a mover measures it again, without it."""
    from storage import repository as repo

    cat, v2_id, _t3 = two_models
    w = make_window(cat.url)
    view = w.models_view
    w.models_dock.raise_()
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 2, timeout=WAIT)
    _select(view, v2_id)
    qtbot.waitUntil(lambda: view.state.drift is not None and not view.state.drifting, timeout=WAIT)
    qtbot.waitUntil(view.isVisible, timeout=WAIT)
    before = view.state.drift
    mover = before.get("p_t r_t").movers[0].review_pk
    with open_db.begin() as s:
        repo.add_flag(s, mover, "spam", "mod")
    w._on_flag_changed(mover)  # what the window does after any flag command
    qtbot.waitUntil(lambda: view.state.drift is not before and view.state.drift is not None
                    and not view.state.drifting, timeout=WAIT)
    after = view.state.drift
    assert after.n == before.n - 1
    assert all(m.review_pk != mover for s in after.series for m in s.movers)
