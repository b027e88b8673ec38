"""Qt-free view state: no QApplication needed for any of these."""
from __future__ import annotations

import datetime as dt
import sys

import pytest

from gui.state import (
    UNKNOWN_DEVICE, AppState, DisagreementMode, DisagreementQueueState, FlagDraft, ProductListState, RankInput,
    ReviewTableState, correction_kind, device_from_card, find_disagreements, rank_product,
)
from gui.state.evented import EventedState, evented
from storage.records import ModelVersionRecord, ProductSummary, ReviewFilter


def test_state_queries_and_exports_import_neither_qt_nor_torch():
    import subprocess

    code = (
        "import sys, gui.state, gui.queries, gui.flag_ops, gui.export; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'torch'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_evented_attribute_emits_only_on_change():
    class S(EventedState):
        x = evented(1, "an x")

    s = S()
    seen = []
    s.events.x.connect(seen.append)
    s.x = 1
    s.x = 2
    s.x = 2
    with s.events.x.blocker():
        s.x = 3
    assert seen == [2]
    assert s.x == 3
    assert S.x.__doc__ == "an x"
    with pytest.raises(TypeError):
        S(y=1)


def test_app_state_device_comes_from_the_model_card():
    state = AppState()
    assert state.device == UNKNOWN_DEVICE
    mv = ModelVersionRecord(1, "v1", None, "/x", "0" * 64, {}, {}, {"device": "cuda:0"}, True, dt.datetime(2024, 1, 1))
    state.set_active_model(mv)
    assert state.device == "cuda:0" and state.model_version_id == 1
    assert device_from_card(None) == UNKNOWN_DEVICE
    with pytest.raises(ValueError):
        state.theme = "purple"


def test_review_table_state_maps_rank_to_score_descending():
    state = ReviewTableState()
    q = state.query(7, 3)
    assert (q.product_pk, q.model_version_id, q.order_by, q.descending) == (7, 3, "score", True)
    state.sort = ("sub1", False)
    q = state.query(7, 3)
    assert (q.order_by, q.descending) == ("s_pv_rv", True)
    with pytest.raises(ValueError):
        state.sort = ("flag", True)  # not sortable


def test_review_table_state_filter_and_columns_emit():
    state = ReviewTableState()
    filters, hidden = [], []
    state.events.filter.connect(filters.append)
    state.events.hidden_columns.connect(hidden.append)
    state.update_filter(text="boil", only_flagged=True)
    assert filters[-1] == ReviewFilter(text="boil", only_flagged=True)
    state.set_column_hidden("score", True)
    assert "score" in hidden[-1]
    state.set_column_hidden("score", False)
    assert "score" not in state.hidden_columns


def test_product_list_state_matches_title_id_and_category():
    p = ProductSummary(1, "B00X", "Memory of Trees", "Books", "test", 3, 2, 0, 3)
    state = ProductListState()
    assert state.accepts(p)
    state.search = "trees"
    assert state.accepts(p)
    state.search = "b00x"
    assert state.accepts(p)
    state.category = "Kitchen"
    assert not state.accepts(p)


def test_rank_product_ranks_by_score_and_votes_with_stable_ties():
    items = [RankInput(1, 0.5, 4, 20), RankInput(2, 0.9, 0, 1), RankInput(3, 0.5, 2, 5), RankInput(4, None, None, 0)]
    ranks = rank_product(items)
    assert [ranks[pk].model_rank for pk in (1, 2, 3, 4)] == [2, 1, 3, None]
    assert [ranks[pk].vote_rank for pk in (1, 2, 3, 4)] == [1, 3, 2, 4]
    # review 2 (label 0) sits where the 4 belongs: model too high by 4 labels, 2 places
    assert ranks[2].implied_label == 4 and ranks[2].label_gap == 4 and ranks[2].rank_gap == 2
    assert ranks[1].label_gap == -2 and ranks[1].rank_gap == -1
    assert ranks[4].label_gap is None and not ranks[4].is_disagreement


def test_correction_kind_follows_the_model_ranking():
    items = [RankInput(1, 0.9, 1), RankInput(2, 0.5, 3), RankInput(3, 0.1, 2)]
    assert correction_kind(items, 1, 0) == "model too high"
    assert correction_kind(items, 3, 4) == "model too low"
    assert correction_kind(items, 1, 4) == "other"  # the model already puts it first
    assert correction_kind([RankInput(1, None, 2)], 1, 0) == "other"


def test_find_disagreements_orders_by_mode_and_limits():
    by_product = {
        "A": [(1, 0.9, 0), (2, 0.5, 4), (3, 0.1, 2)],
        "B": [(4, 0.2, 1), (5, 0.8, 1)],
    }
    rank_gap = find_disagreements(by_product, DisagreementMode.RANK_GAP)
    assert {d.review_pk for d in rank_gap} == {1, 2, 3}
    assert rank_gap[0].review_pk == 1 and rank_gap[0].direction == "model too high"
    score_vs_label = find_disagreements(by_product, DisagreementMode.SCORE_VS_LABEL, limit=1)
    assert len(score_vs_label) == 1 and abs(score_vs_label[0].info.label_gap) == 4


def test_queue_state_steps_and_keeps_the_current_item_across_reloads():
    class Item:
        def __init__(self, pk):
            self.review_pk = pk

    q = DisagreementQueueState()
    assert q.step(1) is None
    q.set_items([Item(1), Item(2), Item(3)])
    assert q.current.review_pk == 1
    assert q.step(1).review_pk == 2
    assert q.step(5).review_pk == 3
    q.set_items([Item(3), Item(1)])
    assert q.current.review_pk == 3 and q.index == 0
    assert q.step(-1).review_pk == 3


def test_flag_draft_validates_kind_label_and_strips_note():
    assert FlagDraft("spam", None, "  buy now  ").validated().note == "buy now"
    with pytest.raises(ValueError):
        FlagDraft("not offered").validated(("spam", "other"))  # the dialog's kinds
    with pytest.raises(ValueError):
        FlagDraft("   ").validated()  # any other kind is the store's to refuse (flag_kinds)
    with pytest.raises(ValueError):
        FlagDraft("spam", 5).validated()


def test_bound_methods_are_held_weakly_and_lambdas_strongly():
    import gc
    import weakref

    class S(EventedState):
        x = evented(0, "an x")

    class View:
        def __init__(self):
            self.seen = []

        def on_x(self, value):
            self.seen.append(value)

    s, view, lam_seen = S(), View(), []
    s.events.x.connect(view.on_x)
    s.events.x.connect(lambda v: lam_seen.append(v))
    s.x = 1
    assert view.seen == [1] and lam_seen == [1]
    gone = weakref.ref(view)
    del view
    gc.collect()
    assert gone() is None  # the state did not keep the view alive
    s.x = 2
    assert lam_seen == [1, 2]  # the lambda is still connected
    assert len(s.events.x.callbacks) == 1


def test_a_misspelled_event_name_is_an_error_naming_the_real_ones():
    class S(EventedState):
        extra_events = ("log_line",)
        status = evented("", "a status")

    s = S()
    s.events.log_line.emit("fine")
    with pytest.raises(AttributeError, match=r"no event 'stauts'.*log_line, status"):
        s.events.stauts.connect(print)


def test_remembered_view_round_trips_and_ignores_what_no_longer_reads():
    from gui.state.remembered import RememberedView, settings_key
    from storage.ranking import DisagreementMode
    from storage.records import ReviewFilter

    view = RememberedView(("votes", False), ReviewFilter(text="battery", has_images=True), "kettle", "Kitchen",
                          DisagreementMode.SCORE_VS_LABEL, "P-1", "R-9")
    assert RememberedView.from_json(view.to_json()) == view
    broken = {"sort": ["no such column", True], "filter": {"text": 3, "only_flagged": True, "gone": 1},
              "queue_mode": "alphabetical", "product_id": 42, "category": "Books"}
    assert RememberedView.from_json(broken) == RememberedView(None, ReviewFilter(only_flagged=True), None, "Books")
    assert RememberedView.from_json("not an object") == RememberedView()
    assert settings_key("sqlite:///a.db") != settings_key("sqlite:///b.db")


def test_columns_added_since_a_layout_was_saved_start_hidden_when_hidden_by_default():
    from gui.state.columns import ADDED_LATER, COLUMN_INDEX, hidden_with_new_columns

    # saved before the app remembered which columns it knew: the reason columns were not among them
    assert hidden_with_new_columns({"votes"}, None) == {"votes", *ADDED_LATER}
    # saved knowing every column: the user's choice stands, a shown reason column stays shown
    assert hidden_with_new_columns({"votes"}, set(COLUMN_INDEX)) == {"votes"}
    known = set(COLUMN_INDEX) - {"second_reason"}
    assert hidden_with_new_columns(set(), known) == {"second_reason"}
