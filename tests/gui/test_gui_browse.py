"""Open a store, pick products, sort, filter, hide columns, switch theme: real widgets."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui.models.product_model import MAP, SCORED
from gui.state.columns import COLUMN_INDEX


def _wait_loaded(qtbot, window):
    qtbot.waitUntil(lambda: not window.review_model.is_loading and not window.store.busy, timeout=WAIT)


def test_opening_a_store_shows_products_counts_metrics_and_status(make_window, catalogue, qtbot, monkeypatch):
    from gui.training import engine_info

    # the device shown is the active model card's until `engine doctor` answers (its answer wins,
    # and an earlier test's answer is remembered for the process): here it is never asked
    monkeypatch.setattr(engine_info.QtEngineInfo, "query", lambda self, db_url: None)
    w = make_window(catalogue.url)
    products = w.product_list.proxy
    assert [products.index(r, 0).data() for r in range(products.rowCount())] == ["Kettle", "Memory of Trees", "Shoe"]
    assert w.app_state.current_product_pk == catalogue.product_pks["P-KETTLE"]
    assert w.review_table.title.text() == "Reviews of \u201cKettle\u201d"
    assert w.review_table.counts.text() == "1200 reviews \u00b7 500 loaded"
    qtbot.waitUntil(lambda: products.index(0, MAP).data() not in ("\u2013", None), timeout=WAIT)
    assert 0.0 <= float(products.index(0, MAP).data()) <= 100.0
    assert products.index(2, SCORED).data() == "\u2013"
    assert products.index(2, SCORED).data(Qt.ItemDataRole.ToolTipRole).startswith("not scored")
    assert w.status.model_label.text() == "model: v1 (active)"
    assert w.status.device_label.text() == "cuda:0 (test card)"
    assert str(catalogue.path) in w.status.db_label.text()


def test_lazy_table_fetches_the_next_page_when_scrolled(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    view = w.review_table.view
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        view.scrollToBottom()
    qtbot.waitUntil(lambda: w.review_model.rowCount() >= 1000, timeout=WAIT)


def test_sorting_by_a_subscore_from_the_header(make_window, catalogue, qtbot, click_header):
    w = make_window(catalogue.url)
    col = COLUMN_INDEX["sub2"]
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        click_header(w.review_table.view, col)
    assert w.table_state.sort == ("sub2", False)
    values = [w.review_model.review(r).sub_scores[2] for r in range(w.review_model.rowCount())]
    assert values == sorted(values, reverse=True)
    assert w.review_table.view.horizontalHeader().sortIndicatorSection() == col
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        click_header(w.review_table.view, col)  # second click: ascending
    values = [w.review_model.review(r).sub_scores[2] for r in range(w.review_model.rowCount())]
    assert values == sorted(values)
    flag_col = COLUMN_INDEX["flag"]
    click_header(w.review_table.view, flag_col)  # not sortable: nothing changes
    assert w.table_state.sort == ("sub2", True)
    assert w.review_table.view.horizontalHeader().sortIndicatorSection() == col


def test_text_search_and_switch_filters(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    bar = w.review_table.filter_bar
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        qtbot.keyClicks(bar.search, "boils")
    assert w.review_model.total == 120
    assert all("boils" in w.review_model.review(r).text for r in range(w.review_model.rowCount()))
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        bar.switches["only_flagged"].click()
    assert w.review_model.rowCount() == 0 and w.review_table.counts.text() == "0 reviews"
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        bar.switches["only_flagged"].click()
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        bar.search.clear()
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        bar.switches["only_disagreements"].click()
    model = w.review_model
    assert 0 < model.total < 1200
    assert all(model.rank(model.review(r).id).is_disagreement for r in range(model.rowCount()))


def test_has_images_filter_on_another_product(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(catalogue.product_pks["P-TREES"])
    assert w.review_model.total == 6
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.review_table.filter_bar.switches["has_images"].click()
    assert [w.review_model.review(r).id for r in range(w.review_model.rowCount())] == [catalogue.image_review_pk]


def test_product_search_and_category_filter(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    pl = w.product_list
    qtbot.keyClicks(pl.search, "tree")
    qtbot.waitUntil(lambda: pl.proxy.rowCount() == 1, timeout=WAIT)
    assert pl.count.text() == "1 of 3 products"
    pl.search.clear()
    qtbot.waitUntil(lambda: pl.proxy.rowCount() == 3, timeout=WAIT)
    pl.category.setCurrentIndex(pl.category.findData("Clothing"))
    assert pl.proxy.rowCount() == 1 and pl.proxy.index(0, 0).data() == "Shoe"


def test_unscored_product_says_not_scored(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(catalogue.product_pks["P-SHOE"])
    assert w.review_model.index(0, COLUMN_INDEX["score"]).data() == "not scored"
    assert w.review_model.index(0, COLUMN_INDEX["rank"]).data() == ""


def test_hidden_columns_and_header_layout_are_remembered(make_window, catalogue, settings, qtbot):
    w = make_window(catalogue.url)
    menu = w.review_table.column_menu()
    action = next(a for a in menu.actions() if a.text() == "p_v r_t")
    action.trigger()
    col = COLUMN_INDEX["sub3"]
    assert w.review_table.view.isColumnHidden(col)
    assert "sub3" in settings.hidden_columns()
    w.review_table.view.horizontalHeader().resizeSection(COLUMN_INDEX["review"], 333)
    w.close()
    w2 = make_window(catalogue.url)
    assert w2.review_table.view.isColumnHidden(col)
    assert w2.review_table.view.horizontalHeader().sectionSize(COLUMN_INDEX["review"]) == 333
    assert not w2.review_table.view.isColumnHidden(COLUMN_INDEX["score"])


def test_theme_switch_applies_and_is_saved(make_window, catalogue, settings):
    w = make_window(catalogue.url)
    w.actions_.dark_theme.trigger()
    assert w.app_state.theme == "dark" and settings.theme == "dark"
    assert "#1e2228" in QApplication.instance().styleSheet()
    for chart in w.training.charts:  # dark panels with light text, not white boxes
        assert chart.chart().backgroundBrush().color().lightness() < 80
        assert chart.chart().titleBrush().color().lightness() > 150
    w.actions_.dark_theme.trigger()
    assert settings.theme == "light"
    assert "#f5f6f8" in QApplication.instance().styleSheet()


def test_j_and_k_move_through_the_table_and_drive_the_detail(make_window, catalogue, qtbot, focus):
    w = make_window(catalogue.url)
    view = w.review_table.view
    focus(view)
    assert view.currentIndex().row() == 0
    qtbot.keyClick(view, Qt.Key.Key_J)
    qtbot.keyClick(view, Qt.Key.Key_J)
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert view.currentIndex().row() == 1
    pk = w.review_model.review(1).id
    assert w.app_state.current_review_pk == pk
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == pk, timeout=WAIT)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert w.detail.text.hasFocus()
    qtbot.keyClick(w.detail.text, Qt.Key.Key_Escape)
    assert view.hasFocus()


def test_product_list_sorts_by_metric_and_back_to_title(make_window, catalogue, qtbot, click_header):
    from gui.models.roles import SortRole

    w = make_window(catalogue.url)
    products = w.product_list.proxy
    qtbot.waitUntil(lambda: products.index(0, MAP).data() not in ("\u2013", None), timeout=WAIT)
    click_header(w.product_list.view, MAP)
    values = [products.index(r, MAP).data(SortRole) for r in range(products.rowCount())]
    assert values == sorted(values, reverse=True)
    click_header(w.product_list.view, 0)
    titles = [products.index(r, 0).data() for r in range(products.rowCount())]
    assert titles == sorted(titles, key=str.casefold)
    click_header(w.product_list.view, 0)
    assert [products.index(r, 0).data() for r in range(products.rowCount())] == titles[::-1]


def test_sort_filters_queue_order_and_selection_survive_a_restart(make_window, catalogue, qtbot):
    """Close the window and open the same database again (the next start): the sort, the
    filters, the product search and category, the queue's ordering, the product and the review
    are as the moderator left them."""
    from storage.ranking import DisagreementMode
    from storage.records import ReviewFilter

    w = make_window(catalogue.url)
    trees = catalogue.product_pks["P-TREES"]
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(trees)
    w.table_state.sort = ("votes", False)
    w.table_state.update_filter(only_labeled=True)
    w.queue_state.mode = DisagreementMode.SCORE_VS_LABEL
    w.product_state.category = "Books"
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.rowCount() >= 3, timeout=WAIT)
    third = w.review_model.review(2)
    w.app_state.current_review_pk = third.id
    w.close()

    again = make_window(catalogue.url)
    qtbot.waitUntil(lambda: again.app_state.current_review_pk == third.id, timeout=WAIT)
    assert again.app_state.current_product_pk == trees
    assert again.table_state.sort == ("votes", False)
    assert again.table_state.filter == ReviewFilter(only_labeled=True)
    assert again.queue_state.mode is DisagreementMode.SCORE_VS_LABEL
    assert again.product_state.category == "Books"
    assert again.queue.mode.currentText() == DisagreementMode.SCORE_VS_LABEL.value
    assert again.review_table.view.currentIndex().row() == again.review_model.row_of(third.id)


def test_product_names_stay_readable_on_a_laptop_screen(make_window, catalogue, qtbot):
    """At 1280 x 800 the product pane is ~300 px: the product column keeps room for an id
    like B00139TT72 (the Scored and N@3 columns step aside), and they return when widened."""
    from gui.models.product_model import NDCG3, PRODUCT, SCORED

    w = make_window(catalogue.url)
    w.resize(1280, 800)
    view = w.product_list.view
    qtbot.waitUntil(lambda: view.columnWidth(PRODUCT) >= 100, timeout=WAIT)
    assert view.isColumnHidden(SCORED) and view.isColumnHidden(NDCG3)
    w.splitter.setSizes([520, 460, 300])
    qtbot.waitUntil(lambda: not view.isColumnHidden(SCORED), timeout=WAIT)
    assert view.columnWidth(PRODUCT) >= 100


def test_at_a_laptops_1280_by_800_every_default_column_is_on_screen(make_window, catalogue, qtbot):
    """The Flag column and the five sub-scores fit the review table without scrolling sideways,
    and the detail pane's chart names its five bars in full."""
    w = make_window(catalogue.url)
    w.resize(1280, 800)
    view = w.review_table.view
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: w.width() == 1280 and view.viewport().width() > 0, timeout=WAIT)
    qtbot.waitUntil(lambda: header.length() <= view.viewport().width(), timeout=WAIT)
    flag = COLUMN_INDEX["flag"]
    assert header.sectionViewportPosition(flag) + header.sectionSize(flag) <= view.viewport().width()
    assert not view.horizontalScrollBar().isVisible()
    assert header.sectionSize(COLUMN_INDEX["review"]) >= 150  # the review's title stays readable
    w.app_state.current_review_pk = w.review_model.review(0).id
    qtbot.waitUntil(lambda: w.detail.bundle is not None, timeout=WAIT)
    chart = w.detail.chart
    assert chart.row_texts[0].startswith("p_t r_t: ") and chart.width() <= w.detail.viewport().width()
    assert chart.height() >= chart.heightForWidth(chart.width())  # the caption is not cut off


def test_dark_theme_charts_are_dark_with_light_text(make_window, catalogue, qtbot):
    from gui.training.chart_style import DARK_BACKGROUND

    w = make_window(catalogue.url)
    w.app_state.theme = "dark"
    panel = w.training
    w.detail.chart.resize(200, 40)  # painted, not a QChart: its background is the theme's
    detail = w.detail.chart.grab().toImage()
    assert detail.pixelColor(1, 1).name() == DARK_BACKGROUND
    for view in panel.charts:
        chart = view.chart()
        assert chart.backgroundBrush().color().name() == DARK_BACKGROUND, view
        assert chart.axes()[0].labelsBrush().color().lightness() > 150, view  # readable on it


def test_a_sort_of_the_same_product_is_done_in_memory_in_the_querys_order(make_window, catalogue, qtbot):
    """Once a product's rows are read in the background, a sort needs no query; every page in
    the order the SQL query gives (NULLs last, ties by review id), both directions."""
    from storage import repository as repo

    w = make_window(catalogue.url)
    _wait_loaded(qtbot, w)
    model = w.review_model
    ppk, mv = w.app_state.current_product_pk, w.app_state.model_version_id
    for key in ("votes", "score", "label", "rating", "sub2", "review", "date", "rank"):
        for ascending in (False, True):
            w.table_state.sort = (key, ascending)
            assert model.rowCount() > 0 and not model.is_loading  # answered at once: no worker
            while model.canFetchMore():
                model.fetchMore()
            assert model.rowCount() == model.total == 1200
            q = model.query
            expected = w.store.db.run(lambda s: [r.id for r in repo.page_reviews(s, ppk, mv, 0, None, q.order_by,
                                                                                  q.descending, q.flt)])
            assert model.loaded_pks() == expected, (key, ascending)
    w.table_state.update_filter(only_labeled=True)  # a filter: back to the query
    assert model.is_loading
    _wait_loaded(qtbot, w)
    assert model.rowCount() > 0


def test_a_reload_reads_the_store_again_even_when_the_rows_are_in_memory(make_window, catalogue, qtbot):
    """The rows read for in-memory sorts are a copy: a reload (a colleague flagged rows in the
    shared store) reads them again, and the next in-memory sort holds the new flags too."""
    from gui.state.columns import COLUMN_INDEX
    from storage import repository as repo

    w = make_window(catalogue.url)
    _wait_loaded(qtbot, w)
    model = w.review_model
    w.table_state.sort = ("votes", False)
    assert not model.is_loading  # answered from memory
    top = model.review(0).id
    w.store.db.run(lambda s: repo.add_flag(s, top, "profanity", "colleague"))
    flag_cell = lambda: model.index(model.row_of(top), COLUMN_INDEX["flag"]).data()  # noqa: E731
    model.reload()
    qtbot.waitUntil(lambda: model.row_of(top) is not None and flag_cell() == "\u2691 profanity", timeout=WAIT)
    _wait_loaded(qtbot, w)
    w.table_state.sort = ("votes", True)
    w.table_state.sort = ("votes", False)
    qtbot.waitUntil(lambda: not model.is_loading and model.row_of(top) is not None, timeout=WAIT)
    assert flag_cell() == "\u2691 profanity"


def _jobs_of(monkeypatch):
    """The store jobs a window starts, by function name."""
    import gui.store as store_mod

    names: list[str] = []
    real = store_mod.Store.call

    def call(self, fn, *a, **k):
        names.append(getattr(fn, "__name__", str(fn)))
        return real(self, fn, *a, **k)

    monkeypatch.setattr(store_mod.Store, "call", call)
    return names


def test_the_first_page_comes_with_the_status_and_a_wrong_guess_reads_the_right_page(
        make_window, catalogue, open_db, qtbot, monkeypatch):
    jobs = _jobs_of(monkeypatch)
    w = make_window(catalogue.url)  # no remembered view: the product list's first product
    kettle = catalogue.product_pks["P-KETTLE"]
    assert w.app_state.current_product_pk == kettle
    assert "open_reviews" not in jobs[:jobs.index("load_status") + 3]  # read with the status
    rows = [w.review_model.review(r) for r in range(w.review_model.rowCount())]
    assert len(rows) == 500 and all(r.product_pk == kettle for r in rows)
    scores = [r.score for r in rows]
    assert scores == sorted(scores, key=lambda s: (s is None, -(s or 0.0)))  # rank 1 (best score) first
    assert w.review_table.counts.text() == "1200 reviews \u00b7 500 loaded"

    # a remembered product and sort: the page read with the status is that product's, in that order
    trees = catalogue.product_pks["P-TREES"]
    w.app_state.current_product_pk = trees
    w.table_state.sort = ("votes", False)
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.query.product_pk == trees, timeout=WAIT)
    expected = [w.review_model.review(r).review_id for r in range(w.review_model.rowCount())]
    w.close()
    jobs.clear()
    w2 = make_window(catalogue.url)
    assert w2.app_state.current_product_pk == trees and w2.table_state.sort == ("votes", False)
    assert [w2.review_model.review(r).review_id for r in range(w2.review_model.rowCount())] == expected
    assert "open_reviews" not in jobs[:jobs.index("load_status") + 3]

    # the guess is only a guess: a page offered for another query is never shown
    from gui import queries

    shoe = catalogue.product_pks["P-SHOE"]
    with open_db.begin() as s:
        kettle_page = queries.first_page_guess(s, "P-KETTLE", w2.review_model.probable_first_query())
    assert kettle_page is not None and kettle_page.query.product_pk == kettle
    with open_db.begin() as s:  # the product and its total taken from the product list read beside it
        from storage import repository as repo

        listed = repo.list_products(s, model_version_id=kettle_page.query.model_version_id)
        probable = w2.review_model.probable_first_query()
        for pid in (None, "P-TREES", "P-KETTLE", "no such product"):
            plain = queries.first_page_guess(s, pid, probable)
            from_list = queries.first_page_guess(s, pid, probable, products=listed)
            assert (plain is None) == (from_list is None) == (pid == "no such product")
            if plain is not None:
                assert (from_list.query, from_list.total, from_list.rows) == (plain.query, plain.total, plain.rows)
    w2.review_model.offer_first_page(kettle_page)
    w2.app_state.current_product_pk = shoe
    qtbot.waitUntil(lambda: not w2.review_model.is_loading and w2.review_model.query.product_pk == shoe, timeout=WAIT)
    assert w2.review_model.rowCount() > 0
    assert {w2.review_model.review(r).product_pk for r in range(w2.review_model.rowCount())} == {shoe}
