"""The review table's reason columns and the sub-scores on the label scale, against the
product's range and greyed where an input is missing (table cells and the detail chart)."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from sqlalchemy import select

from gui.models.roles import SubScoreRole
from gui.state.columns import COLUMN_INDEX
from storage import open_database
from storage import repository as repo
from storage.models import Review
from storage.records import PredictionIn


def _trees(catalogue) -> dict[str, int]:
    """review_id -> pk of the Memory of Trees reviews (t-0 .. t-5; only t-1 has an image)."""
    db = open_database(catalogue.url)
    with db.begin() as s:
        out = dict(s.execute(select(Review.review_id, Review.id).where(
            Review.product_pk == catalogue.product_pks["P-TREES"])).all())
    db.dispose()
    return out


def _write(catalogue, preds) -> None:
    db = open_database(catalogue.url)
    with db.begin() as s:
        repo.write_predictions(s, catalogue.model_id, preds)
    db.dispose()


def _parts(*parts: tuple[str, float]) -> dict:
    return {"version": 1, "reference": "training mean", "base": 0.1, "score": 0.1 + sum(v for _l, v in parts),
            "parts": [[f"meta:{i}", label, v] for i, (label, v) in enumerate(parts)]}


def _open_trees(qtbot, w, catalogue):
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(catalogue.product_pks["P-TREES"])


def _show(qtbot, w, review_pk):
    w.app_state.current_review_pk = review_pk
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == review_pk, timeout=WAIT)


def test_the_top_reason_columns_show_the_stored_explanation_and_sort_by_it(make_window, catalogue, qtbot):
    pks = _trees(catalogue)
    _write(catalogue, [
        PredictionIn(pks["t-0"], 0.5, (1.0,) * 5, _parts(("review length", 0.42), ("star rating", -0.05))),
        PredictionIn(pks["t-1"], 0.3, (1.0,) * 5, _parts(("star rating", -0.61), ("review length", 0.3))),
        PredictionIn(pks["t-2"], 0.2, (1.0,) * 5, _parts(("review length", 0.9))),
    ])  # t-3 .. t-5 keep predictions without an explanation
    w = make_window(catalogue.url)
    model, view, top = w.review_model, w.review_table.view, COLUMN_INDEX["top_reason"]
    assert view.isColumnHidden(top) and view.isColumnHidden(COLUMN_INDEX["second_reason"])  # off by default
    menu = w.review_table.column_menu()
    action = next(a for a in menu.actions() if a.text() == "Top reason")
    assert not action.isChecked()
    action.setChecked(True)  # the column chooser shows it
    assert not view.isColumnHidden(top)
    _open_trees(qtbot, w, catalogue)

    def cell(review_id: str, column: str, role=Qt.ItemDataRole.DisplayRole):
        return model.index(model.row_of(pks[review_id]), COLUMN_INDEX[column]).data(role)

    assert cell("t-0", "top_reason") == "review length +0.42"  # as the waterfall and the exports word it
    assert cell("t-1", "top_reason") == "star rating \u22120.61"
    assert cell("t-0", "second_reason") == "star rating \u22120.05" and cell("t-2", "second_reason") == ""
    assert cell("t-3", "top_reason") == ""
    assert "rescore" in cell("t-3", "top_reason", Qt.ItemDataRole.ToolTipRole)
    assert "review length +0.42" in cell("t-0", "top_reason", Qt.ItemDataRole.ToolTipRole)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.sort(top, Qt.SortOrder.AscendingOrder)
    order = [model.review(i).review_id for i in range(model.rowCount())]
    assert order[:3] == ["t-0", "t-2", "t-1"]  # by reason, then amount; no explanation last
    assert set(order[3:]) == {"t-3", "t-4", "t-5"}


def test_a_review_without_images_shows_its_image_interactions_greyed(make_window, catalogue, qtbot):
    pks = _trees(catalogue)  # the product has a description and an image; only t-1 has a review image
    w = make_window(catalogue.url)
    _open_trees(qtbot, w, catalogue)
    model = w.review_model
    note = "no review image: this interaction only sees the empty slot"
    for column in ("sub1", "sub2", "sub4"):  # p_v r_v, p_t r_v, r_t r_v
        index = model.index(model.row_of(pks["t-0"]), COLUMN_INDEX[column])
        assert index.data(SubScoreRole).greyed
        assert note in index.data(Qt.ItemDataRole.ToolTipRole)
        assert not model.index(model.row_of(pks["t-1"]), COLUMN_INDEX[column]).data(SubScoreRole).greyed
    for column in ("sub0", "sub3"):
        assert not model.index(model.row_of(pks["t-0"]), COLUMN_INDEX[column]).data(SubScoreRole).greyed
    w.review_table.view.viewport().grab()  # paints the greyed cells without error
    _show(qtbot, w, pks["t-0"])
    chart = w.detail.chart
    assert [v.greyed for v in chart.views] == [False, True, True, False, True]
    assert chart.row_texts[1] == "p_v r_v: no img" and note in chart.row_tooltip(1)
    assert "helpfulness-label scale" in chart.row_tooltip(0) and chart.index_at(chart.rect().center()) is not None


def test_the_detail_chart_gives_the_percentile_within_a_tiny_product(make_window, catalogue, qtbot):
    pks = _trees(catalogue)
    # p_t r_t: 0.5, 1.0, ..., 3.0 over t-0 .. t-5; p_v r_t: flat (1.70 give or take 1e-4)
    _write(catalogue, [PredictionIn(pks[f"t-{i}"], 0.0, (0.5 * (i + 1), 2.0, 2.0, 1.7 + i * 1e-4, 4.6))
                       for i in range(6)])
    w = make_window(catalogue.url)
    _open_trees(qtbot, w, catalogue)
    _show(qtbot, w, pks["t-4"])  # p_t r_t 2.5: four below, itself -> (4 + 0.5) / 6 = 75th
    chart = w.detail.chart
    assert chart.row_texts[0] == "p_t r_t: 2.50 \u00b7 75th"
    tip = chart.row_tooltip(0)
    assert "Percentile within this product: 75th" in tip and "This product (6 reviews): 0.50 to 3.00" in tip
    assert chart.row_texts[3] == "p_v r_t: 1.70 \u00b7 flat"  # not ranked on noise
    assert "Flat within this product" in chart.row_tooltip(3)
    assert chart.views[3].band[1] - chart.views[3].band[0] < 0.01
    assert chart.views[4].greyed  # r_t r_v of a review without an image
    # the table's cell says the same
    index = w.review_model.index(w.review_model.row_of(pks["t-4"]), COLUMN_INDEX["sub0"])
    assert "Percentile within this product: 75th" in index.data(Qt.ItemDataRole.ToolTipRole)
    _show(qtbot, w, pks["t-1"])  # with an image: its r_t r_v 4.6 goes past the scale's end, marked
    assert chart.views[4].position == (1.0, 1) and "above 4" in chart.row_tooltip(4)
    assert chart.row_texts[0] == "p_t r_t: 1.00 · 25th"


def test_a_narrow_reason_cell_cuts_the_name_and_keeps_the_amount(qtbot):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QStyleOptionViewItem

    from gui.widgets.qt_reason_delegate import QtReasonDelegate

    model = QStandardItemModel()
    model.appendRow(QStandardItem("product images \u00d7 review images \u22120.18"))
    delegate = QtReasonDelegate()
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 120, 22)
    delegate.initStyleOption(option, model.index(0, 0))
    assert option.text.endswith("\u2026 \u22120.18") and option.text.startswith("product")
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 600, 22)
    delegate.initStyleOption(option, model.index(0, 0))
    assert option.text == "product images \u00d7 review images \u22120.18"


def test_a_greyed_cell_drawn_from_the_cache_is_the_cell_drawn_afresh(qtbot):
    """Greyed cells are drawn once per size, text and colours, then copied: the copy is the same
    pixels as drawing it, and a new text colour (a theme change) draws a new one."""
    from PySide6.QtCore import QRect, QRectF
    from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QStyleOptionViewItem

    from gui.state.subscores import SubScoreView
    from gui.widgets.qt_subscore_delegate import QtSubScoreBarDelegate, draw_greyed

    model = QStandardItemModel()
    item = QStandardItem()
    item.setData(SubScoreView(1, 0.5, missing=("review image",)), SubScoreRole)
    model.appendRow(item)
    delegate = QtSubScoreBarDelegate()

    def painted(text_colour: QColor, via_delegate: bool) -> QImage:
        image = QImage(90, 26, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor("white"))
        option = QStyleOptionViewItem()
        option.rect = QRect(0, 0, 90, 26)
        palette = QPalette(option.palette)
        palette.setColor(QPalette.ColorRole.Text, text_colour)
        option.palette = palette
        painter = QPainter(image)
        if via_delegate:
            delegate.paint(painter, option, model.index(0, 0))
        else:
            light, grey = delegate._grey_pair(option)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            draw_greyed(painter, QRectF(option.rect).adjusted(3, 4, -3, -4), "no img", light, grey,
                        delegate._small_fonts(option.font)[1])
        painter.end()
        return image

    def largest_difference(a: QImage, b: QImage) -> int:
        """The largest difference of a colour channel over the pixels (a translucent drawing
        composed in a pixmap then onto the cell rounds its premultiplied channels by one)."""
        return max(abs(getattr(a.pixelColor(x, y), c)() - getattr(b.pixelColor(x, y), c)())
                   for x in range(a.width()) for y in range(a.height()) for c in ("red", "green", "blue"))

    assert model.index(0, 0).data(SubScoreRole).short_text == "no img"
    black, red = QColor(0, 0, 0), QColor(200, 0, 0)
    afresh = painted(black, via_delegate=False)
    assert largest_difference(afresh, painted(QColor("white"), via_delegate=False)) > 40  # the drawing shows
    assert largest_difference(painted(black, via_delegate=True), afresh) <= 2  # drawn into the cache
    assert largest_difference(painted(black, via_delegate=True), afresh) <= 2  # copied from it
    assert len(delegate._greyed) == 1
    in_red = painted(red, via_delegate=True)  # a new text colour: drawn anew, in it
    assert len(delegate._greyed) == 2
    assert largest_difference(in_red, afresh) > 40 and largest_difference(in_red, painted(red, via_delegate=False)) <= 2
