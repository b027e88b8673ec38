"""The review detail pane: full text (always plain: catalogue HTML becomes line breaks), its words tinted by
how they pushed the score (the stored text highlight, with a legend and an on/off box), images, sub-score
chart, the score's explanation (a waterfall of its stored parts), ranks, flags."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from storage.records import SUBSCORE_NAMES, Disputes, FlagRecord, disputes_of

from .. import queries
from ..models.formatting import NOT_SCORED, display_text, fmt_date, fmt_float, fmt_stars, plain_tooltip
from ..state.app_state import AppState
from ..state.score_waterfall import NO_EXPLANATION, reference_note, waterfall
from ..state.subscores import missing_inputs, subscore_views
from ..state.text_highlight import HighlightView, highlight_view
from ..store import Store
from .qt_flag_history import QtFlagHistory
from .qt_image_viewer import QtImageViewer
from .qt_score_waterfall import QtScoreWaterfall
from .qt_subscore_chart import QtSubScoreChart
from .qt_text_highlight import QtHighlightLegend, apply_tints
from .qt_thumbnail_strip import QtThumbnailStrip, read_image, read_thumbnails


def _plain_label(parent: QWidget, object_name: str = "", wrap: bool = True) -> QLabel:
    # Review and product text is user content: never let QLabel guess it is rich text.
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    return label


def rank_text(bundle: queries.DetailBundle) -> str:
    r, info = bundle.detail.row, bundle.rank
    if info is None:
        return ""
    if info.model_rank is None:
        under_model = f"Rank under the model: {NOT_SCORED}"
    else:
        under_model = f"Rank {info.model_rank} of {info.n_scored} under the model"
    text = f"{under_model} \u00b7 {info.vote_rank} of {info.n_reviews} under the votes"
    if info.label_gap:
        way = "too high" if info.label_gap > 0 else "too low"
        text += f"\nThe model places it among label-{info.implied_label} reviews; its vote label is {r.label} ({way})"
    return text


def active_disputes(flags: tuple[FlagRecord, ...]) -> Disputes:
    """What the review's active flags dispute (the newest flag's word where two disagree)."""
    merged: dict[str, str] = {}
    for f in sorted(flags, key=lambda f: f.id):
        if not f.undone:
            merged.update(f.interactions)
    return disputes_of(merged)


class QtReviewDetail(QScrollArea):
    """Follows ``app_state.current_review_pk``; loads everything in a worker.

    Signals
    -------
    dispute_requested(int, str, object)
        The chart asked to dispute (review pk, interaction, "too_high" / "too_low" / None to clear).
    """

    dispute_requested = Signal(int, str, object)

    def __init__(self, store: Store, app_state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self._generation = 0
        self.bundle: Optional[queries.DetailBundle] = None
        # what the review table already computed (ReviewTableModel.known): the product's ranks, sub-scores
        self.known_ranks: Optional[Callable[[], Optional[tuple]]] = None
        self.highlight: Optional[HighlightView] = None
        self._dark = app_state.theme == "dark"
        self._viewers: list[QtImageViewer] = []
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self)
        self.setWidget(body)

        self.pane_title = QLabel("Review detail", body, objectName="paneTitle")
        self.product = _plain_label(body, "muted")
        self.title = _plain_label(body, "reviewTitle")
        self.meta = _plain_label(body, "muted")
        self.text = QPlainTextEdit(body)
        self.text.setObjectName("reviewText")
        self.text.setReadOnly(True)
        self.text.setMinimumHeight(90)
        self.text.setTabChangesFocus(True)
        self.highlight_legend = QtHighlightLegend(body)
        self.highlight_legend.set_checked(app_state.text_highlight)
        self.highlight_legend.set_dark(self._dark)
        self.ranks = _plain_label(body)
        loader = lambda paths, done: store.run(read_thumbnails, paths, on_result=done, write=False)  # noqa: E731
        self.product_images = QtThumbnailStrip("Product", loader, body)
        self.review_images = QtThumbnailStrip("Review", loader, body)
        self.chart = QtSubScoreChart(body)
        self.chart.dispute_requested.connect(self._on_dispute_requested)
        self.why_title = QLabel("Why this score", body, objectName="paneTitle")
        self.waterfall = QtScoreWaterfall(body)
        self.why_note = _plain_label(body, "muted")
        self.history_title = QLabel("Flag history", body, objectName="paneTitle")
        self.history = QtFlagHistory(body)
        self.placeholder = QLabel("Select a review to see it here.", body, objectName="muted")

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 4, 6, 4)
        for w in (self.pane_title, self.placeholder, self.product, self.title, self.meta):
            layout.addWidget(w)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.highlight_legend)
        for w in (self.ranks, self.product_images, self.review_images, self.chart, self.why_title, self.waterfall,
                  self.why_note, self.history_title):
            layout.addWidget(w)
        layout.addWidget(self.history, 1)
        for strip in (self.product_images, self.review_images):
            strip.enlarge_requested.connect(self._on_enlarge_requested)
        app_state.events.current_review_pk.connect(self._on_review_changed)
        app_state.events.theme.connect(self._on_theme)
        app_state.events.text_highlight.connect(self._on_text_highlight)
        self.highlight_legend.toggled.connect(self._on_legend_toggled)
        self._show_content(False)

    def _on_theme(self, theme: str) -> None:
        self._dark = theme == "dark"
        self.chart.set_dark(self._dark)
        self.waterfall.set_dark(self._dark)
        self.highlight_legend.set_dark(self._dark)
        self._show_highlight()

    def _on_legend_toggled(self, on: bool) -> None:
        self._app.text_highlight = on

    def _on_text_highlight(self, on: bool) -> None:
        self.highlight_legend.set_checked(on)
        self._show_highlight()

    def _show_content(self, shown: bool) -> None:
        for w in (self.product, self.title, self.meta, self.text, self.ranks, self.chart, self.history_title, self.history):
            w.setVisible(shown)
        if not shown:
            for w in (self.why_title, self.waterfall, self.why_note, self.highlight_legend):
                w.setVisible(False)
        self.placeholder.setVisible(not shown)
        if not shown:
            self.product_images.setVisible(False)
            self.review_images.setVisible(False)

    def _on_review_changed(self, pk: Optional[int]) -> None:
        self.reload(pk)

    def reload(self, pk: Optional[int] = None) -> None:
        """Load review ``pk`` (default: the one shown) in a worker."""
        pk = self._app.current_review_pk if pk is None else pk
        self._generation += 1
        gen = self._generation
        if pk is None or self._store.db is None:
            self.bundle = None
            self._show_content(False)
            return
        self._store.call(
            queries.load_detail, pk, self._app.model_version_id, self._store.db.media_dir,
            known=self.known_ranks() if self.known_ranks is not None else None,
            on_result=lambda bundle: self._on_loaded(gen, bundle),
        )

    def _on_loaded(self, gen: int, bundle: queries.DetailBundle) -> None:
        if gen != self._generation:
            return
        self.bundle = bundle
        d, r = bundle.detail, bundle.detail.row
        self.product.setText(f"{display_text(d.product_title) or '(no title)'} \u00b7 {d.product_id}")
        self.title.setText(display_text(r.title) or "(no title)")
        parts = [fmt_stars(r.rating), fmt_date(r.time), f"{r.helpful_votes} helpful votes",
                 f"label {r.label}" if r.label is not None else "unlabelled",
                 f"score {fmt_float(r.score, 3)}" if r.score is not None else NOT_SCORED]
        self.meta.setText(" \u00b7 ".join(p for p in parts if p))
        self.text.setPlainText(display_text(r.text))  # HTML of the catalogue as plain text; stored as imported
        self.ranks.setText(rank_text(bundle))
        self.product_images.set_images(d.product_images)
        self.review_images.set_images(d.review_images)
        self.chart.set_views(subscore_views(r, bundle.subscores))
        self.chart.set_disputes(active_disputes(d.flags))
        self.history.flag_model.set_flags(d.flags)
        self.history_title.setText(f"Flag history ({len(d.flags)})" if d.flags else "Flag history (none)")
        self._show_content(True)
        self._show_explanation(bundle)  # after _show_content: it decides the explanation's visibility
        light = d.explanation.highlight if r.score is not None and d.explanation is not None else None
        self.highlight = highlight_view(light, r.title or "", r.text or "") if light is not None else None
        self._show_highlight()

    def _show_highlight(self) -> None:
        """Tint the text (or clear it) as the stored highlight and the on/off box say; a review
        without a highlight shows it untinted and no legend."""
        view = self.highlight
        on = view is not None and self._app.text_highlight
        apply_tints(self.text, view.text if on else (), self._dark)
        self.title.setToolTip(plain_tooltip(view.title_note) if on and view.title_note else "")
        self.highlight_legend.set_view(view)
        self.highlight_legend.setVisible(view is not None and self.bundle is not None)

    def _show_explanation(self, bundle: queries.DetailBundle) -> None:
        """The stored parts as a waterfall; a scored review without them says how to get them."""
        d, scored = bundle.detail, bundle.detail.row.score is not None
        missing = {name: missing_inputs(i, d.row) for i, name in enumerate(SUBSCORE_NAMES)}
        w = waterfall(d.explanation, missing=missing) if scored and d.explanation is not None else None
        self.waterfall.set_waterfall(w)
        self.why_note.setText(reference_note(w) if w else NO_EXPLANATION)
        self.why_title.setVisible(scored)
        self.waterfall.setVisible(w is not None)
        self.why_note.setVisible(scored)

    def _on_dispute_requested(self, interaction: str, direction) -> None:
        if self.bundle is not None:
            self.dispute_requested.emit(self.bundle.detail.row.id, interaction, direction)

    def focus_text(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _on_enlarge_requested(self, path: str) -> None:
        viewer = QtImageViewer(path.rsplit("/", 1)[-1], self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.destroyed.connect(lambda *_: self._viewers.remove(viewer) if viewer in self._viewers else None)
        self._viewers.append(viewer)
        alive = lambda: viewer in self._viewers  # noqa: E731  (closed before the image arrived?)
        self._store.run(read_image, path, on_result=lambda img: alive() and viewer.set_image(img),
                        on_error=lambda exc: alive() and viewer.set_error(str(exc)), write=False)
        viewer.show()

    @property
    def viewers(self) -> list[QtImageViewer]:
        return list(self._viewers)
