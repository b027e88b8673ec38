"""The review detail pane: plain text only, thumbnails that enlarge, the sub-score chart."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from gui.state.columns import COLUMN_INDEX
from gui.widgets.qt_flag_dialog import QtFlagDialog


def _show_review(qtbot, w, product_pk, review_pk):
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(product_pk)
    w.app_state.current_review_pk = review_pk
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == review_pk, timeout=WAIT)


def test_review_text_with_html_is_shown_as_plain_text(make_window, catalogue, qtbot):
    html_text = catalogue.html_text
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.html_review_pk)
    assert html_text.startswith("<b>html</b>")
    # catalogue HTML is shown as the text it marks up, never rendered and never as tags
    assert w.detail.text.toPlainText() == "html is not rendered & links neither"
    for label in w.detail.findChildren(QLabel):
        assert label.textFormat() in (Qt.TextFormat.PlainText, Qt.TextFormat.AutoText)
        if label in (w.detail.title, w.detail.product, w.detail.meta, w.detail.ranks):
            assert label.textFormat() == Qt.TextFormat.PlainText
    row = w.review_model.row_of(catalogue.html_review_pk)
    assert w.review_model.index(row, COLUMN_INDEX["review"]).data().startswith("Trees 0")
    dialog = QtFlagDialog("<b>html</b> title")
    qtbot.addWidget(dialog)
    assert dialog.review.textFormat() == Qt.TextFormat.PlainText and dialog.review.text() == "<b>html</b> title"


def test_tooltips_show_user_text_literally(make_window, catalogue, qtbot):
    """Qt renders a tooltip as rich text when it looks like HTML: review text must not be."""
    from PySide6.QtGui import QTextDocument

    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.html_review_pk)
    row = w.review_model.row_of(catalogue.html_review_pk)
    tip = w.review_model.index(row, COLUMN_INDEX["review"]).data(Qt.ItemDataRole.ToolTipRole)
    doc = QTextDocument()
    doc.setHtml(tip)
    assert "html is not rendered & links neither" in doc.toPlainText()  # what the user sees
    assert "<b>" not in tip and "<a " not in tip  # the review's own markup never reaches Qt


def test_thumbnails_load_and_enlarge(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.image_review_pk)
    strip = w.detail.review_images
    assert strip.isVisible() and len(strip.buttons) == 1
    assert w.detail.product_images.isVisible() and len(w.detail.product_images.buttons) == 1
    qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)
    assert not strip.buttons[0].icon().isNull()
    qtbot.mouseClick(strip.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.detail.viewers) == 1, timeout=WAIT)
    viewer = w.detail.viewers[0]
    qtbot.waitUntil(lambda: viewer.image_label.pixmap() is not None and not viewer.image_label.pixmap().isNull(),
                    timeout=WAIT)
    assert viewer.image_label.pixmap().width() == 64
    viewer.close()


def test_chart_and_ranks_show_the_scores(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.image_review_pk)
    row = w.detail.bundle.detail.row
    chart = w.detail.chart
    # one row per sub-score, first on top, each with its value (this review has both images and texts)
    assert [v.value for v in chart.views] == list(row.sub_scores)
    assert [t.split(":")[0] for t in chart.row_texts] == ["p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v"]
    assert not any(v.greyed for v in chart.views)
    assert "under the model" in w.detail.ranks.text() and "of 6 under the votes" in w.detail.ranks.text()
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(catalogue.product_pks["P-SHOE"])
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.score is None, timeout=WAIT)
    assert all(t.endswith(": not scored") for t in chart.row_texts)
    assert "not scored" in w.detail.meta.text()


def test_sample_reviews_with_html_read_as_plain_text_with_line_breaks():
    """63 of the bundled sample's reviews carry <br /> (and some <a href>): shown as lines."""
    import json
    from pathlib import Path

    from gui.models.formatting import display_text

    sample = Path(__file__).resolve().parents[2] / "resources" / "sample" / "reviews.jsonl"
    texts = [json.loads(line)["text"] for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    marked = [t for t in texts if "<br" in t or "<a " in t]
    assert len(marked) >= 60
    for t in marked:
        shown = display_text(t)
        assert "<br" not in shown and "<a " not in shown and "href=" not in shown
    with_breaks = next(t for t in marked if "<br /><br />" in t)
    first, _, rest = with_breaks.partition("<br /><br />")
    assert display_text(with_breaks).startswith(display_text(first).rstrip() + "\n\n")
    assert display_text("x < y and I <3 it, AT&T") == "x < y and I <3 it, AT&T"  # not markup: as typed
