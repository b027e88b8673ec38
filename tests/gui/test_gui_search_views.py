"""Search across the catalogue from the toolbar, and saved views of the review table."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import QPoint, Qt

from gui.state.columns import COLUMN_INDEX
from gui.state.saved_views import SavedView, SavedViewsState
from storage.records import ReviewFilter


def _pk(open_db, review_id: str) -> int:
    from sqlalchemy import select

    from storage.models import Review

    with open_db.begin() as s:
        return s.scalar(select(Review.id).where(Review.review_id == review_id))


def _search(qtbot, w, text: str) -> list:
    w.actions_.search.trigger()  # Ctrl+F: into the field, its text selected
    qtbot.waitUntil(w.search.hasFocus, timeout=WAIT)
    qtbot.keyClicks(w.search, text)
    qtbot.waitUntil(lambda: w.search.results.isVisible() and w.search._shown_text == text and not w.store.busy,
                    timeout=WAIT)
    return w.search.results.hits()


def _table_selection(w):
    index = w.review_table.view.currentIndex()
    return w.review_model.review(index.row()).id if index.isValid() else None


def test_typing_shows_hits_and_enter_selects_the_review_in_place(make_window, catalogue, open_db, qtbot):
    w = make_window(catalogue.url)
    assert w.app_state.current_product_pk == catalogue.product_pks["P-KETTLE"]
    hits = _search(qtbot, w, "moving sto")  # another product's review, the last word still being typed
    assert [h.review_id for h in hits] == ["t-1"]
    assert hits[0].product_title == "Memory of Trees"
    html = w.search.results.list.item(0).data(Qt.ItemDataRole.UserRole + 1)
    assert "<b>moving</b>" in html and "<b>story</b>" in html and "t-1" in html
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    t1 = _pk(open_db, "t-1")
    qtbot.waitUntil(lambda: _table_selection(w) == t1, timeout=WAIT)
    assert w.app_state.current_product_pk == catalogue.product_pks["P-TREES"]
    assert w.product_list.view.currentIndex().data() == "Memory of Trees"
    assert not w.search.results.isVisible() and w.review_table.view.hasFocus()
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == t1, timeout=WAIT)


def test_search_after_an_import_catches_the_index_up_and_says_so(make_window, catalogue, open_db, qtbot, tmp_path):
    from helpers.storage_checks import write_good_catalogue
    from storage.importers import import_path

    w = make_window(catalogue.url)
    import_path(open_db, write_good_catalogue(tmp_path / "good"))  # another program imports: the index is behind
    w.search.setText("comfortable")
    w.search.run_search()
    gen = w.search._generation
    assert w.search.results.status.text() == "searching\u2026"  # the workers' answers wait for the event loop
    w.search._on_backlog(gen, 8)  # what the backlog query answers
    assert "catching up" in w.search.results.status.text() and "8 imported reviews" in w.search.results.status.text()
    qtbot.waitUntil(lambda: w.search._shown_text == "comfortable" and not w.store.busy, timeout=WAIT)
    assert [h.review_id for h in w.search.results.hits()] == ["R5"]
    assert "catching up" not in w.search.results.status.text()
    w.search._on_backlog(gen, 8)  # an answer that comes after the hits changes nothing
    assert "catching up" not in w.search.results.status.text()


def test_after_an_import_the_app_builds_its_search_index_in_short_steps(make_window, catalogue, open_db, qtbot,
                                                                         tmp_path, monkeypatch):
    from helpers.storage_checks import write_good_catalogue
    from storage import repository as repo

    def behind() -> int:
        with open_db.begin() as s:
            return repo.search_backlog(s)

    w = make_window(catalogue.url)
    monkeypatch.setattr(w, "SEARCH_CATCH_UP_STEP", 3)  # 8 reviews: steps of 3, 3 and 2
    steps = []
    real = w.store.call

    def call(fn, *args, **kwargs):
        if fn.__name__ == "catch_up_search":
            steps.append(behind())
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(w.store, "call", call)
    w.import_paths([str(write_good_catalogue(tmp_path / "good"))])
    qtbot.waitUntil(lambda: not w.importer.running and behind() == 0 and not w.store.busy, timeout=WAIT)
    assert steps == [8, 5, 2, 0]  # before each step: what was still behind (the last one finds nothing)


def test_a_hit_beyond_the_first_page_is_loaded_and_selected(make_window, catalogue, open_db, qtbot):
    w = make_window(catalogue.url)
    w.table_state.sort = ("review_id", True)  # k-01190 is row 1190: the third page
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.rowCount() > 0, timeout=WAIT)
    hits = _search(qtbot, w, '"number 1190"')
    assert [h.review_id for h in hits] == ["k-01190"]
    w.search.results.list.itemClicked.emit(w.search.results.list.item(0))  # a click on the hit
    target = _pk(open_db, "k-01190")
    qtbot.waitUntil(lambda: _table_selection(w) == target, timeout=WAIT)
    assert w.review_model.rowCount() > 1190


def test_stale_results_are_dropped_and_hostile_input_is_searched_as_words(make_window, catalogue, qtbot,
                                                                           message_boxes):
    w = make_window(catalogue.url)
    w.search.setText("shoe")
    w.search.run_search()
    w.search.setText("moving story")  # typed on before the first answer came
    w.search.run_search()
    qtbot.waitUntil(lambda: w.search._shown_text == "moving story" and not w.store.busy, timeout=WAIT)
    assert [h.review_id for h in w.search.results.hits()] == ["t-1"]
    for hostile in ('"', "AND(", "-", "*", "NEAR", "kettle -boils*"):
        w.search.clear()
        assert not w.search.results.isVisible()
        _search(qtbot, w, hostile)
        assert "failed" not in w.search.results.status.text()
    assert message_boxes == []
    qtbot.keyClick(w.search, Qt.Key.Key_Escape)
    assert not w.search.results.isVisible()


def test_ctrl_f_reaches_the_search_field_from_the_table(make_window, catalogue, qtbot, focus):
    w = make_window(catalogue.url)
    focus(w.review_table.view)
    qtbot.keyClick(w.review_table.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(w.search.hasFocus, timeout=WAIT)
    assert w.search.placeholderText().startswith("Search all reviews")


def _click_view(qtbot, w, name: str) -> None:
    lst = w.saved_views.list
    item = next(lst.item(i) for i in range(lst.count()) if lst.item(i).text() == name)
    rect = lst.visualItemRect(item)
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))


def test_saved_view_restores_filter_sort_columns_and_product_and_survives_a_restart(
        make_window, catalogue, settings, qtbot):
    w = make_window(catalogue.url)
    trees = catalogue.product_pks["P-TREES"]
    w.app_state.current_product_pk = trees
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.query.product_pk == trees, timeout=WAIT)
    w.table_state.sort = ("votes", False)
    w.table_state.update_filter(only_labeled=True, text="story")
    w.table_state.set_column_hidden("score", True)
    header = w.review_table.view.horizontalHeader()
    header.moveSection(header.visualIndex(COLUMN_INDEX["votes"]), 0)
    shown = w.review_table.visible_columns()
    assert shown[0] == "votes" and "score" not in shown

    w.actions_.save_view.trigger()  # the dialog: a name, and "open this product"
    dialog = w._save_view_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    assert "Memory of Trees" in dialog.with_product.text()
    dialog.name.setText("  Labelled   story ")
    dialog.with_product.setChecked(True)
    dialog.accept()
    assert w.saved_views_state.names() == ["Labelled story"]
    assert [w.saved_views.list.item(i).text() for i in range(w.saved_views.list.count())] == ["Labelled story"]

    # everything changed back, another product
    w.table_state.sort = ("rank", True)
    w.table_state.filter = ReviewFilter()
    w.review_table.set_visible_columns([c for c in COLUMN_INDEX if c not in ("date", "images", "review_id")])
    w.app_state.current_product_pk = catalogue.product_pks["P-SHOE"]
    qtbot.waitUntil(lambda: not w.review_model.is_loading, timeout=WAIT)

    _click_view(qtbot, w, "Labelled story")
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.query.product_pk == trees, timeout=WAIT)
    assert w.table_state.sort == ("votes", False)
    assert w.table_state.filter == ReviewFilter(text="story", only_labeled=True)
    assert w.review_table.filter_bar.search.text() == "story"
    assert w.review_table.view.isColumnHidden(COLUMN_INDEX["score"])
    assert w.review_table.visible_columns() == shown
    assert [w.review_model.review(r).review_id for r in range(w.review_model.rowCount())] == ["t-1"]
    w.close()

    w2 = make_window(catalogue.url)  # a new window on the same database: the views are there
    assert w2.saved_views_state.names() == ["Labelled story"]
    w2.table_state.filter = ReviewFilter()
    _click_view(qtbot, w2, "Labelled story")
    qtbot.waitUntil(lambda: not w2.review_model.is_loading and w2.review_model.query.product_pk == trees, timeout=WAIT)
    assert w2.table_state.filter == ReviewFilter(text="story", only_labeled=True)
    assert w2.review_table.visible_columns() == shown


def test_a_view_without_product_lists_all_products_and_keeps_the_current_one(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    w.table_state.update_filter(only_flagged=True)
    w.save_view("Flagged")
    w.product_state.search = "shoe"  # the product list narrowed down
    w.table_state.filter = ReviewFilter()
    current = w.app_state.current_product_pk
    _click_view(qtbot, w, "Flagged")
    assert w.product_state.search == "" and w.product_list.proxy.rowCount() == 3
    assert w.app_state.current_product_pk == current and w.table_state.filter.only_flagged


def test_rename_and_delete_are_stored_per_database(make_window, catalogue, settings, qtbot, tmp_path, message_boxes):
    from gui.state.saved_views import saved_views_key

    w = make_window(catalogue.url)
    w.save_view("One")
    w.save_view("Two")
    w.saved_views.rename("One", "Two")  # taken: refused with a message, nothing changes
    assert w.saved_views_state.names() == ["One", "Two"] and "already a view" in message_boxes[-1][1]
    w.saved_views.rename("One", "First")
    w.saved_views.delete("Two")
    assert w.saved_views_state.names() == ["First"]
    stored = settings.saved_views(saved_views_key(catalogue.url))
    assert [v["name"] for v in stored] == ["First"]
    assert settings.saved_views(saved_views_key("sqlite:///another.db")) == []


def test_saved_views_read_back_what_they_can():
    state = SavedViewsState()
    view = SavedView("Mine", ("votes", False), ReviewFilter(text="x", has_images=True), ("review", "votes"), "P-1", "P")
    state.save(view)
    copy = SavedViewsState()
    copy.load_json(state.to_json() + [{"name": ""}, "junk", {"name": "mine"},  # no name, not a view, a duplicate
                                      {"name": "Old", "sort": ["gone", True], "columns": ["gone", "score"],
                                       "filter": {"text": 3, "only_flagged": True}}])
    assert copy.views[0] == view
    old = copy.get("old")
    assert old.sort == ("rank", True) and old.columns == ("review", "score")
    assert old.review_filter == ReviewFilter(only_flagged=True) and old.product_id is None
    assert "all products" in old.summary()
