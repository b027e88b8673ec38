"""Every item model passes QAbstractItemModelTester (through pytest-qt's qtmodeltester)."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import datetime as dt

from PySide6.QtCore import Qt

from gui.models.audit_model import AuditFilterProxy, AuditLogModel
from gui.models.disagreement_model import DisagreementTableModel
from gui.models.flag_history_model import FlagHistoryModel
from gui.models.product_model import ProductFilterProxy, ProductTableModel
from gui.models.review_table_model import ReviewTableModel
from gui.models.roles import SubScoreRole, ValueRole
from gui.queries import QueueItem
from gui.state import AppState, DisagreementQueueState, ProductListState, ReviewTableState
from gui.state.columns import COLUMN_INDEX
from storage.ranking import Disagreement, RankInfo
from gui.store import Store
from storage.records import AuditRecord, FlagRecord, ProductSummary, ReviewRow

PRODUCTS = [
    ProductSummary(1, "P-1", "Kettle", "Kitchen", "test", 24, 20, 2, 24),
    ProductSummary(2, "P-2", "", "Books", "dev", 3, 1, 0, 0),
]


def test_product_model_and_proxy(qtmodeltester):
    model = ProductTableModel()
    model.set_products(PRODUCTS)
    model.set_metrics({"P-1": {"AP": 71.25, "NDCG@3": 60.0, "NDCG@5": 62.0}})
    state = ProductListState()
    proxy = ProductFilterProxy(state)
    proxy.setSourceModel(model)
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
    assert model.index(0, 4).data().startswith("71.")
    assert model.index(1, 0).data() == "P-2"  # no title: the id
    assert model.index(1, 3).data() == "\u2013"
    state.search = "kett"
    assert proxy.rowCount() == 1
    state.search = ""
    state.category = "Books"
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data() == "P-2"


def test_review_table_model_loads_pages_lazily(qtbot, qtmodeltester, catalogue):
    store = Store()
    with qtbot.waitSignal(store.opened, timeout=WAIT):
        store.open(catalogue.url)
    app, table = AppState(), ReviewTableState()
    model = ReviewTableModel(store, app, table)
    from storage import repository as repo

    with store.db.begin() as s:
        app.set_active_model(repo.get_active_model(s))
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        app.current_product_pk = catalogue.product_pks["P-KETTLE"]
    assert model.rowCount() == 500 and model.total == 1200 and model.canFetchMore()
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.fetchMore()
    assert model.rowCount() == 1000
    first = model.review(0)
    assert model.index(0, COLUMN_INDEX["rank"]).data() == "1"
    assert model.index(0, COLUMN_INDEX["sub0"]).data(ValueRole) == first.sub_scores[0]
    view = model.index(0, COLUMN_INDEX["sub0"]).data(SubScoreRole)
    assert view.value == first.sub_scores[0] and view.spread.low <= round(first.sub_scores[0], 2) <= view.spread.high
    assert view.spread.n == 1200 and 0 < view.percentile < 100
    # sorting is a new query: rank ascending = score descending
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.sort(COLUMN_INDEX["votes"], Qt.SortOrder.DescendingOrder)
    votes = [model.review(i).helpful_votes for i in range(model.rowCount())]
    assert votes == sorted(votes, reverse=True)
    store.close()


def test_every_loaded_row_shows_the_rank_and_percentiles_the_definitions_give(qtbot, catalogue):
    """The first page brings the stored ranks and percentiles of its rows only; each further page
    brings its own: rows on every page show what storage.ranking and product_subscores compute."""
    from storage import repository as repo
    from storage.ranking import RankInput, rank_product

    store = Store()
    with qtbot.waitSignal(store.opened, timeout=WAIT):
        store.open(catalogue.url)
    app, table = AppState(), ReviewTableState()
    model = ReviewTableModel(store, app, table)
    kettle = catalogue.product_pks["P-KETTLE"]
    with store.db.begin() as s:
        mv = repo.get_active_model(s)
        app.set_active_model(mv)
        ranks = rank_product([RankInput(*r) for r in repo.product_rank_inputs(s, kettle, mv.id)])
        subs = repo.product_subscores(s, kettle, mv.id)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        app.current_product_pk = kettle
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.sort(COLUMN_INDEX["votes"], Qt.SortOrder.AscendingOrder)
    while model.canFetchMore():
        with qtbot.waitSignal(model.loaded, timeout=WAIT):
            model.fetchMore()
    assert model.rowCount() == 1200
    for i in (0, 499, 500, 777, 1000, 1199):
        pk = model.review(i).id
        assert model.rank(pk) == ranks[pk]
        assert model.index(i, COLUMN_INDEX["rank"]).data() == str(ranks[pk].model_rank)
        for k in range(5):
            view = model.index(i, COLUMN_INDEX[f"sub{k}"]).data(SubScoreRole)
            assert (view.percentile, view.spread) == (subs.percentiles[pk][k], subs.spreads[k])
    store.close()


def _queue_item(pk: int) -> QueueItem:
    row = ReviewRow(pk, f"r{pk}", 1, f"title {pk}", "text", 4.0, 3, 1, None, 0, 0.5, (0.1,) * 5)
    return QueueItem(Disagreement("P-1", pk, 0.5, 1, RankInfo(1, 3, 2, 3, 4, 3, 2)), row, "Kettle")


def test_disagreement_model(qtmodeltester):
    state = DisagreementQueueState()
    model = DisagreementTableModel(state)
    state.set_items([_queue_item(1), _queue_item(2)])
    qtmodeltester.check(model)
    assert model.index(0, 5).data() == "+2"
    state.replace_row(ReviewRow(2, "r2", 1, "new", "text", 4.0, 3, 1, None, 0, 0.5, (0.1,) * 5, "spam", 9, None))
    assert model.index(1, 6).data().endswith("spam")
    assert model.index(1, 0).data().startswith("\u2713")  # done: ticked
    assert not model.index(0, 0).data().startswith("\u2713")
    assert state.progress() == "1 of 2 reviewed"
    state.hide_done = True
    assert model.rowCount() == 1 and state.progress() == "1 of 2 reviewed"


def test_audit_and_flag_history_models(qtmodeltester):
    audit = AuditLogModel()
    audit.set_events([
        AuditRecord(1, dt.datetime(2024, 5, 1, 12, 0), "ana", "flag.add", "review", "7", {"kind": "spam"},
                    review_id="R1X3", product_id="P-9", product_title="Kettle"),
        AuditRecord(2, dt.datetime(2024, 5, 1, 12, 1), "bo", "review.bulk", "", "", {"n": 3, "kind": "spam"}),
    ])
    proxy = AuditFilterProxy()
    proxy.setSourceModel(audit)
    qtmodeltester.check(audit)
    qtmodeltester.check(proxy)
    assert [audit.index(0, c).data() for c in range(5)] == [
        "2024-05-01 12:00", "ana", "Flag", "R1X3 \u00b7 Kettle", "flag 'spam'"]
    assert (audit.index(1, 2).data(), audit.index(1, 4).data()) == ("review.bulk", "kind: spam, n: 3")
    assert '"kind": "spam"' in audit.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)
    proxy.setFilterFixedString("ANA")
    assert proxy.rowCount() == 1
    proxy.setFilterFixedString("r1x3")
    assert proxy.rowCount() == 1
    proxy.setFilterFixedString("p-9")
    assert proxy.rowCount() == 1
    proxy.setFilterFixedString("spam")
    assert proxy.rowCount() == 2
    proxy.setFilterFixedString("nobody")
    assert proxy.rowCount() == 0
    history = FlagHistoryModel()
    history.set_flags([
        FlagRecord(1, 7, 1, "spam", None, "", "ana", dt.datetime(2024, 5, 1), True, None, 2),
        FlagRecord(2, 7, 1, "model too high", 1, "note", "ana", dt.datetime(2024, 5, 2), False, None, 1),
    ])
    qtmodeltester.check(history)
    assert history.index(0, 2).data() == "model too high"
    assert history.index(1, 5).data() == "undone"
    assert history.index(1, 0).data(Qt.ItemDataRole.FontRole).strikeOut()
