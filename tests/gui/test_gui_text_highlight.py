"""The detail pane's word tint: a review whose stored explanation carries a text highlight shows
its words with background colours at the right characters of the displayed (HTML-stripped) text
and of the title, a legend, the truncation note; the on/off box clears it and is remembered; a
review without a highlight shows its text untinted and no legend."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from waits import WAIT  # noqa: E402

from gui.models.formatting import display_text, display_text_map
from gui.widgets.qt_text_highlight import tint_color
from storage import open_database
from storage import repository as repo
from storage.models import Review
from storage.records import PredictionIn

from test_gui_explain import _show_review  # noqa: E402  (tests/gui is on sys.path)

PARTS = {"version": 1, "reference": "training mean", "base": 0.5, "score": 1.25,
         "parts": [["meta:rating", "star rating", 0.5], ["block:p_t r_t", "product text \u00d7 review text", 0.25]]}
TITLE = "x < y & z"


def _store(catalogue, pk: int, text: str, read_to=None, with_light: bool = True) -> None:
    def span(word, value, within=text):
        start = within.index(word)
        return [start, start + len(word), value]

    light = None if not with_light else {"method": "integrated gradients", "of": "score", "baseline": "zeros", "rule": "gauss-legendre",
             "steps": 4, "delta": 0.3, "gap": 1e-7, "other": 0.0,
             "title": [span("y", 0.1, TITLE)],
             "text": [span("html", 0.2), span("is", 0.001), span("links", -0.1)], "read_to": read_to}
    db = open_database(catalogue.url)
    with db.begin() as s:
        review = s.get(Review, pk)
        review.title = TITLE
        repo.write_predictions(s, catalogue.model_id, [PredictionIn(
            pk, 1.25, (None,) * 5, {**PARTS, "highlight": light} if light else PARTS)])
    db.dispose()


def _background(edit, position: int):
    cursor = QTextCursor(edit.document())
    cursor.setPosition(position + 1)  # the format of the character before the cursor
    brush = cursor.charFormat().background()
    return None if brush.style() == Qt.BrushStyle.NoBrush else brush.color().name()


def test_words_are_tinted_in_the_displayed_text_and_title(make_window, catalogue, qtbot, settings):
    _store(catalogue, catalogue.html_review_pk, catalogue.html_text, read_to=catalogue.html_text.index("links") + 5)
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.html_review_pk)
    d = w.detail
    shown = d.text.toPlainText()
    assert shown == display_text(catalogue.html_text) == "html is not rendered & links neither"
    html_at, links_at, is_at = shown.index("html"), shown.index("links"), shown.index("is")
    assert _background(d.text, html_at) == _background(d.text, html_at + 3) == tint_color(1.0, False).name()
    assert _background(d.text, links_at) == tint_color(-0.5, False).name()  # half the largest, lowered
    assert _background(d.text, html_at + 4) is None  # the space after the word
    assert _background(d.text, is_at) is None  # too faint to tint
    assert _background(d.text, shown.index("neither")) is None
    # the title stays plain text; its words' values are in its tooltip, shown literally
    assert d.title.textFormat() == Qt.TextFormat.PlainText and d.title.text() == TITLE
    assert "the title's words" in d.title.toolTip() and "y +0.100" in d.title.toolTip()
    assert "&lt;" not in TITLE and d.title.toolTip().startswith("<qt>")  # escaped for a literal tooltip
    # legend and the note on what was read
    legend = d.highlight_legend
    assert legend.isVisible() and legend.key.isVisible() and legend.check.isChecked()
    assert "raised the score" in legend.key.text() and "lowered the score" in legend.key.text()
    assert legend.note.isVisible() and "first 6 of the 7 words" in legend.note.text()
    # the legend wraps: it never widens the pane (checked once the pane has laid out)
    qtbot.waitUntil(lambda: 0 < legend.width() <= d.viewport().width(), timeout=WAIT)
    assert "all-zero baseline" in legend.toolTip() and "4 Gauss-Legendre nodes" in legend.toolTip()
    # dark theme: the same words, the dark colours
    w.app_state.theme = "dark"
    assert _background(d.text, html_at) == tint_color(1.0, True).name() != tint_color(1.0, False).name()
    # off: no background anywhere, a plain title, remembered; on again from the state
    legend.check.setChecked(False)
    assert w.app_state.text_highlight is False and settings.text_highlight is False
    assert all(_background(d.text, i) is None for i in range(len(shown)))
    assert d.title.toolTip() == ""
    assert legend.isVisible() and not legend.key.isVisible() and not legend.note.isVisible()
    w.app_state.text_highlight = True
    assert legend.check.isChecked() and _background(d.text, links_at) == tint_color(-0.5, True).name()


def test_a_review_without_a_highlight_is_untinted(make_window, catalogue, qtbot):
    _store(catalogue, catalogue.image_review_pk, "A moving story about trees.", with_light=False)
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.image_review_pk)
    d = w.detail
    assert d.bundle.detail.explanation is not None and d.highlight is None
    assert all(_background(d.text, i) is None for i in range(len(d.text.toPlainText())))
    assert not d.highlight_legend.isVisible() and d.title.text() == TITLE
    # a score stored without parts at all (the catalogue's other reviews): the same, no error
    rows = [w.review_model.review(i) for i in range(w.review_model.rowCount())]
    other = next(r for r in rows if r.id not in (catalogue.image_review_pk, catalogue.html_review_pk))
    w.app_state.current_review_pk = other.id
    qtbot.waitUntil(lambda: d.bundle is not None and d.bundle.detail.row.id == other.id, timeout=WAIT)
    assert d.highlight is None and not d.highlight_legend.isVisible()


def test_the_tint_setting_is_read_at_start(make_window, catalogue, qtbot, settings):
    settings.text_highlight = False
    _store(catalogue, catalogue.html_review_pk, catalogue.html_text)
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.html_review_pk)
    assert w.app_state.text_highlight is False and not w.detail.highlight_legend.check.isChecked()
    assert _background(w.detail.text, 0) is None


def test_display_text_map_points_each_shown_character_at_its_source():
    for raw in ["plain", "<b>html</b> is <i>not</i> &amp; <br/>x", "<p>a</p>\n\n\n<p>b</p>  \n", "&am<b>p;", "x < y"]:
        shown, src = display_text_map(raw)
        assert shown == display_text(raw) and len(src) == len(shown)
        assert src == sorted(src)
        for ch, i in zip(shown, src):
            assert ch in "\n\u2022 &" or raw[i] == ch
