"""The main window: product list | review table | review detail, docks below.

It composes the controls and wires their signals; each control keeps its own logic.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QInputDialog, QMainWindow, QMessageBox, QSizePolicy, QSplitter, QToolBar, QWidget,
)

from storage.db import Database

from .. import queries
from ..actions import QtActions, shortcut_sheet
from ..dialogs import message_box, show_error, show_info
from ..files import QtFileActions, is_database_file
from ..flag_kinds import QtFlagKinds
from ..import_mapping import QtMappingImports
from ..importing import QtImporter, report_text, sample_catalogue
from ..models.product_model import ProductTableModel
from ..models.review_table_model import ReviewTableModel
from ..models_view.operations import QtModelOperations
from ..models_view.qt_models_view import QtModelsView
from ..settings import Settings
from ..state import AppState, DisagreementQueueState, ProductListState, ReviewTableState
from ..state import shortcuts
from ..state.columns import hidden_with_new_columns
from ..state.product_list import ALL_CATEGORIES
from ..state.remembered import RememberedView, settings_key
from ..state.saved_views import SavedViewsState, saved_views_key
from ..store import Store
from ..theme import apply_theme, icon
from ..training.engine_info import QtEngineInfo
from ..training.qt_training_panel import QtTrainingPanel
from ..training.scoring import QtScoringController
from ..scoring_feedback import QtScoringFeedback
from ..triage import QtTriageController
from .qt_audit_log import QtAuditLog
from .qt_bulk_flag_dialog import QtBulkFlagDialog
from .qt_disagreement_queue import QtDisagreementQueue
from .qt_flag_dialog import QtFlagDialog
from .qt_flag_kinds_dialog import QtFlagKindsDialog
from .qt_product_list import QtProductList
from .qt_recent_menu import QtRecentMenu
from .qt_review_detail import QtReviewDetail
from .qt_review_table import QtReviewTable
from .qt_saved_views import QtSavedViews
from .qt_scoring_bar import QtScoringBar
from .qt_search import QtSearchField
from .qt_shortcuts_dialog import QtShortcutsDialog
from .qt_status_bar import QtStatusBar
from .main_window_triage import TriageMixin
from .main_window_views import ViewsMixin

_HEADER_KEY = "reviews/header2"
"""Settings key of the review table header layout (2: Flag moved before the sub-scores;
a layout saved with the old column order is not applied to the new one)."""


class QtMainWindow(TriageMixin, ViewsMixin, QMainWindow):
    """ReviewScope's window.

    Parameters
    ----------
    settings : Settings
        Preferences (user name, theme, recent files, layouts).
    import_sample_when_empty : bool
        On opening an empty database, import the bundled sample catalogue (and score it).
    engine_command : sequence of str, optional
        How to run the engine (default ``python -m engine``); tests pass a fake.
    """

    def __init__(self, settings: Settings, import_sample_when_empty: bool = True, parent: QWidget | None = None,
                 engine_command: Optional[Sequence[str]] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ReviewScope")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.settings = settings
        self.import_sample_when_empty = import_sample_when_empty
        self._pending_imports: list[str] = []
        self._background_due = False  # metrics, queue and audit wait for the first page
        self._panels_due = False  # the models list and the training panel, after the first page too
        self._engine_info_due: Optional[str] = None  # the database whose engine info waits for the first page
        self._flag_dialog: Optional[QtFlagDialog] = None
        self._flag_dialog_pending = False  # F pressed, the flag being read
        self._kinds_dialog: Optional[QtFlagKindsDialog] = None
        self._bulk_dialog: Optional[QtBulkFlagDialog] = None
        self._score_after_import = False  # first launch: score the sample once it is imported
        self._device_text = ""  # from `engine doctor`: wins over what a model card says
        self._check_scored = False  # once per opened database: is the active model's scoring complete?
        self._restore: Optional[RememberedView] = None  # product and review to select once loaded
        self._views_key: Optional[str] = None  # settings key of the open database's saved views

        self.store = Store(self)
        self.app_state = AppState(user_name=settings.user_name, theme=settings.theme,
                                  text_highlight=settings.text_highlight)
        self.app_state.events.text_highlight.connect(lambda on: setattr(self.settings, "text_highlight", on))
        self.table_state = ReviewTableState()
        hidden = settings.hidden_columns()
        if hidden is not None:  # columns added since the layout was saved start as they are by default
            self.table_state.hidden_columns = hidden_with_new_columns(hidden, settings.known_columns())
        self.product_state = ProductListState()
        self.queue_state = DisagreementQueueState()
        self.saved_views_state = SavedViewsState()
        self.triage = QtTriageController(self.store, self.app_state, self)
        self.flag_kinds = QtFlagKinds(self.store, self.app_state, self.triage.chains, self)
        self.importer = QtImporter(self.store, self, actor=lambda: self.app_state.user_name)
        self.mapping_imports = QtMappingImports(self.store, self.importer, settings, self)
        self.files = QtFileActions(self)

        self.product_model = ProductTableModel(self)
        self.review_model = ReviewTableModel(self.store, self.app_state, self.table_state, self)
        self.product_list = QtProductList(self.product_model, self.product_state, self.app_state, self)
        self.review_table = QtReviewTable(self.review_model, self.app_state, self.table_state, self)
        self.detail = QtReviewDetail(self.store, self.app_state, self)
        self.detail.known_ranks = self.review_model.known
        self.queue = QtDisagreementQueue(self.store, self.app_state, self.queue_state, self)
        self.audit_log = QtAuditLog(self.store, self)
        self.status = QtStatusBar(self.app_state, self)
        self.setStatusBar(self.status)
        self.scoring = QtScoringController(engine_command, self)
        self.model_ops = QtModelOperations(self.store, self.app_state, self.scoring, engine_command, self)
        self.engine_info = QtEngineInfo(engine_command, self)
        self.training = QtTrainingPanel(self.store, self.app_state, self.scoring, engine_command, self)
        self.models_view = QtModelsView(self.store, self.app_state, self.model_ops, self)
        self.scoring_bar = QtScoringBar(self.scoring.state, self.review_table)
        self.review_table.add_bar(self.scoring_bar)
        self.scoring_feedback = QtScoringFeedback(self.store, self.app_state, self.scoring, self.model_ops,
                                                  self.review_model, self.scoring_bar, self)

        self.actions_ = QtActions(self)
        self.search = QtSearchField(self.store, self)
        self.saved_views = QtSavedViews(self.saved_views_state, self.actions_.save_view, self)
        self.sidebar = QSplitter(Qt.Orientation.Vertical, self)
        self.sidebar.setObjectName("sidebar")
        self.sidebar.addWidget(self.product_list)
        self.sidebar.addWidget(self.saved_views)
        self.sidebar.setStretchFactor(0, 4)
        self.sidebar.setStretchFactor(1, 1)
        self.sidebar.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for w in (self.sidebar, self.review_table, self.detail):
            self.splitter.addWidget(w)
        # the review table takes most of a change of width, but a laptop's 1280 px still
        # leaves it room for every default column (products ~250 px, detail ~270 px)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([300, 900, 320])
        self.setCentralWidget(self.splitter)
        self.queue_dock = self._dock("Disagreement queue", "queue", self.queue)
        self.training_dock = self._dock("Training", "training", self.training)
        self.models_dock = self._dock("Models", "models", self.models_view)
        self.audit_dock = self._dock("Audit log", "audit", self.audit_log)
        self.tabifyDockWidget(self.queue_dock, self.training_dock)
        self.tabifyDockWidget(self.training_dock, self.models_dock)
        self.tabifyDockWidget(self.models_dock, self.audit_dock)
        self.queue_dock.raise_()
        self.resizeDocks([self.queue_dock], [190], Qt.Orientation.Vertical)

        self._build_menus()
        self._connect()
        self._restore_layout()
        apply_theme(QApplication.instance(), self.app_state.theme)
        self.detail.chart.set_dark(self.app_state.theme == "dark")

    # ---------------------------------------------------------------- construction

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}Dock")
        dock.setWidget(widget)
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        return dock

    def _build_menus(self) -> None:
        a = self.actions_
        undo = self.triage.undo_stack.createUndoAction(self, "&Undo")
        undo.setIcon(icon("undo"))
        redo = self.triage.undo_stack.createRedoAction(self, "&Redo")
        redo.setIcon(icon("redo"))
        self.undo_action, self.redo_action = undo, redo
        a.keyed.update(undo=undo, redo=redo)
        self.keys = shortcuts.effective(self.settings.shortcut_overrides())
        a.apply_keys(self.keys)
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(a.open_db)
        self.recent_menu = QtRecentMenu(self.settings, self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        for action in (a.import_folder, a.import_file, a.import_mapped):
            file_menu.addAction(action)
        file_menu.addSeparator()
        for action in (a.export_view, a.export_flags):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        edit = bar.addMenu("&Edit")
        for action in (undo, redo, a.undo_key):
            edit.addAction(action)
        edit.addSeparator()
        edit.addAction(a.search)
        edit.addSeparator()
        edit.addAction(a.flag)
        edit.addAction(a.dispute)
        bulk_menu = edit.addMenu("&Bulk flag")
        bulk_menu.addAction(a.bulk_selected)
        bulk_menu.addAction(a.bulk_filter)
        edit.addAction(a.flag_kinds)
        labels = edit.addMenu("Set corrected &label")
        for action in a.labels:
            labels.addAction(action)
        edit.addSeparator()
        edit.addAction(a.user_name)
        edit.addAction(a.edit_shortcuts)
        go = bar.addMenu("&Go")
        for action in (a.next, a.previous):
            go.addAction(action)
        go.addSeparator()
        go.addAction(a.advance)
        view = bar.addMenu("&View")
        view.addAction(a.dark_theme)
        view.addAction(a.refresh)
        view.addSeparator()
        view.addMenu(self.review_table.column_menu(self))
        view.addAction(a.save_view)
        view.addSeparator()
        for dock in (self.queue_dock, self.training_dock, self.models_dock, self.audit_dock):
            view.addAction(dock.toggleViewAction())
        model_menu = bar.addMenu("&Model")
        self.model_info = model_menu.addAction("No active model")
        self.model_info.setEnabled(False)
        model_menu.addSeparator()
        self.train_action = model_menu.addAction(icon("training"), "&Train on corrections\u2026",
                                                 lambda: self._show_dock(self.training_dock))
        self.models_action = model_menu.addAction("&Models\u2026", lambda: self._show_dock(self.models_dock))
        self.rescore_action = model_menu.addAction("&Score unscored reviews", self.model_ops.rescore_active)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a.shortcuts)
        help_menu.addAction(a.about)
        tools = QToolBar("Main", self)
        tools.setObjectName("mainToolBar")
        tools.setMovable(False)
        for action in (a.open_db, a.import_folder, a.export_view, None, undo, redo, a.flag, None, a.refresh, a.dark_theme):
            tools.addSeparator() if action is None else tools.addAction(action)
        spacer = QWidget(tools)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tools.addWidget(spacer)
        tools.addWidget(self.search)
        self.addToolBar(tools)
        for view_widget in (self.review_table.view, self.queue.view):
            view_widget.addActions(a.triage)

    def _connect(self) -> None:
        a = self.actions_
        a.open_db.triggered.connect(self.files.open_database)
        a.import_folder.triggered.connect(self.files.import_folder)
        a.import_file.triggered.connect(self.files.import_file)
        a.import_mapped.triggered.connect(self.files.import_with_mapping)
        a.export_view.triggered.connect(lambda: self.files.export(view=True))
        a.export_flags.triggered.connect(lambda: self.files.export(view=False))
        self.recent_menu.open_requested.connect(self.open_database)
        a.quit.triggered.connect(self.close)
        a.flag.triggered.connect(self.open_flag_dialog)
        a.dispute.triggered.connect(self.open_dispute_chooser)
        self.detail.dispute_requested.connect(lambda pk, name, direction: self.triage.dispute(name, direction, pk))
        a.flag_kinds.triggered.connect(lambda: self.open_flag_kinds_dialog())
        a.bulk_selected.triggered.connect(lambda: self.open_bulk_dialog(selection=True))
        a.bulk_filter.triggered.connect(lambda: self.open_bulk_dialog(selection=False))
        self.review_table.view.selectionModel().selectionChanged.connect(lambda *_: self._update_bulk_actions())
        self.review_model.modelReset.connect(self._update_bulk_actions)
        self.app_state.events.current_product_pk.connect(lambda _pk: self._update_bulk_actions())
        self._update_bulk_actions()
        self.flag_kinds.state.events.kinds.connect(self._on_flag_kinds)
        self.flag_kinds.renamed.connect(self._on_flag_kind_renamed)
        self.flag_kinds.changed.connect(self.audit_log.reload)
        a.undo_key.triggered.connect(self.triage.undo)
        a.next.triggered.connect(lambda: self._step_review(1))
        a.previous.triggered.connect(lambda: self._step_review(-1))
        a.edit_shortcuts.triggered.connect(self.edit_shortcuts)
        for n, action in enumerate(a.labels):
            action.triggered.connect(lambda _c=False, label=n: self.decide_label(label))
        a.advance.setChecked(self.settings.advance_after_decision)
        a.advance.toggled.connect(lambda on: setattr(self.settings, "advance_after_decision", on))
        a.user_name.triggered.connect(self._on_user_name)
        a.dark_theme.setChecked(self.app_state.theme == "dark")
        a.dark_theme.toggled.connect(lambda dark: setattr(self.app_state, "theme", "dark" if dark else "light"))
        a.refresh.triggered.connect(lambda: self.reload_all())
        a.shortcuts.triggered.connect(self.show_shortcut_sheet)
        a.search.triggered.connect(self.focus_search)
        a.save_view.triggered.connect(self.save_view_as)
        self.search.hit_chosen.connect(self.open_search_hit)
        self.review_table.reveal_failed.connect(self._on_reveal_failed)
        self.saved_views.apply_requested.connect(self.apply_saved_view)
        self.saved_views_state.events.views.connect(self._store_saved_views)
        a.about.triggered.connect(lambda: show_info(
            self, "About ReviewScope", "ReviewScope: review moderation with the MM-SS helpfulness model."))
        self.store.opened.connect(self._on_database_opened)
        self.store.failed.connect(self.show_failure)
        self.store.activity.connect(lambda _n: self._update_busy())
        self.app_state.events.theme.connect(self._on_theme_changed)
        self.app_state.events.current_product_pk.connect(self._on_product_changed)
        self.app_state.events.active_model.connect(self._on_active_model_changed)
        self.table_state.events.hidden_columns.connect(self.settings.set_hidden_columns)
        self.triage.flag_changed.connect(self._on_flag_changed)
        self.triage.bulk_changed.connect(self._on_bulk_changed)
        self.importer.imported.connect(self._on_imported)
        self.importer.imported.connect(self.scoring_feedback.note_import)
        self.importer.idle.connect(self._on_import_idle)
        self.importer.idle.connect(self.scoring_feedback.imports_done)  # after: a first launch scores at once
        self.review_model.loaded.connect(self._on_first_page)
        self.review_table.open_requested.connect(self.open_detail)
        self.queue.open_requested.connect(self.open_detail)
        self.queue.item_selected.connect(self._on_queue_item_selected)
        self.detail.text.addAction(self._escape_action())
        self.training.trained.connect(self.model_ops.model_trained)
        self.model_ops.catalogue_changed.connect(self.reload_all)
        self.model_ops.models_changed.connect(self.training.reload)
        self.model_ops.message.connect(lambda text: self.status.showMessage(text, 15_000))
        self.model_ops.failed.connect(self.show_failure)
        self.models_view.review_requested.connect(self._on_review_requested)
        self.models_view.state.events.snapshot.connect(self._on_models_loaded)
        self.engine_info.device_found.connect(self._on_device_found)
        self.engine_info.recipes_loaded.connect(self.training.set_catalog)
        self.engine_info.failed.connect(self.training.log.append_line)
        self.scoring.state.events.status.connect(lambda _s: self._update_busy())

    def _escape_action(self) -> QAction:
        back = QAction("Back to the review table", self.detail.text)
        back.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        back.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        back.triggered.connect(lambda: self.review_table.view.setFocus(Qt.FocusReason.ShortcutFocusReason))
        return back

    # ---------------------------------------------------------------- database

    def open_database(self, url: Optional[str], import_paths: Sequence[str] = ()) -> None:
        """Open ``url`` (None: the default database) in a worker, then import ``import_paths``."""
        self._pending_imports = [str(p) for p in import_paths]
        self.remember_view()  # of the database being left
        self.app_state.busy = "opening database\u2026"
        self.store.open(url, on_error=lambda exc: show_error(self, "Cannot open database", str(exc)))

    def _on_database_opened(self, db: Database) -> None:
        self.app_state.database_path = db.display_path
        self.setWindowTitle(f"ReviewScope \u2014 {Path(db.display_path).name}")
        self.app_state.current_review_pk = None
        self.app_state.current_product_pk = None
        self._restore_view(RememberedView.from_json(self.settings.view_state(settings_key(db.url))))
        # the review table's most likely first page comes with the status and the product list
        # (which decide what it is): of the remembered product, else of the list's first
        remembered = self._restore.product_id if self._restore is not None else None
        guess = remembered is not None or (not self.product_state.search and self.product_state.category == ALL_CATEGORIES)
        self.store.call(queries.load_status, with_products=True,
                        first_page=(remembered, self.review_model.probable_first_query()) if guess else None,
                        on_result=self._on_first_status)
        # the rest while the store reads (writing the settings file is not on the first paint's path)
        self.recent_menu.remember(db.url)
        self._views_key = None  # not written back while loading
        self.saved_views_state.load_json(self.settings.saved_views(saved_views_key(db.url)))
        self._views_key = saved_views_key(db.url)
        self._engine_info_due = db.url  # asked after the first page: a Python process on a 2-core machine
        self._check_scored = True
        # the models list and the training panel's counts wait for the first page (they share the GIL)
        self._panels_due = True
        self.training.hold()

    def _on_first_status(self, status: queries.StatusSnapshot) -> None:
        self.review_model.offer_first_page(status.first_page)
        paths, self._pending_imports = self._pending_imports, []
        if not paths and self.import_sample_when_empty and not status.summary.get("products"):
            sample = sample_catalogue()
            paths = [str(sample)] if sample else []
            self._score_after_import = bool(paths) and status.active_model is None
        if paths:
            self.importer.import_paths(paths)  # reloads everything when the queue is done
        else:
            self._on_status(status)

    def reload_all(self) -> None:
        """Reload status, products, reviews, queue, audit log, models and training data from the store."""
        if self.store.db is not None:
            self.store.call(queries.load_status, on_result=self._on_status)
            self.flag_kinds.reload()
            self.models_view.reload()
            self.training.reload()

    def _on_status(self, status: queries.StatusSnapshot) -> None:
        model = status.active_model
        self.model_info.setText(f"Active model: {model.name}" if model else "No active model (reviews are not scored)")
        before = self.app_state.active_model
        self.app_state.set_active_model(model)  # a new model reloads the table and the detail itself
        if self._device_text:
            self.app_state.device = self._device_text
        if before == model:
            self.review_model.reload(fresh=True)
            self.detail.reload()
        if status.products is not None:  # read with the status (opening a database)
            self._background_due = True
            self._on_products(status.products)
        else:
            self._load_products()

    def _load_products(self) -> None:
        self._background_due = True
        self.store.call(queries.load_products, self.app_state.model_version_id, on_result=self._on_products)

    def _on_first_page(self, _loaded: int = 0, _total: int = 0) -> None:
        """Start the slow analytics once the user sees reviews: they share the GIL."""
        if self._restore is not None and self.review_model.rowCount():
            self._restore_review()
        if not self._background_due:
            return
        self._background_due = False
        self.review_table.after_paint(self._start_background)

    def _start_background(self) -> None:
        """What waits for the first page to be painted: the models list, the training panel's
        counts, the product metrics, the disagreement queue and the audit log."""
        if self.store.db is None:
            return
        due, self._engine_info_due = self._engine_info_due, None
        if due is not None:
            self.engine_info.query(due)
        if self._panels_due:
            self._panels_due = False
            self.models_view.reload()
            self.training.release()
        self.store.call(queries.product_metrics, self.app_state.model_version_id, background=True,
                        on_result=self.product_model.set_metrics,
                        on_error=lambda exc: self.status.showMessage(f"metrics unavailable: {exc}", 8000))
        self.queue.reload()
        self.audit_log.reload()

    # ---------------------------------------------------------------- import / export

    def import_paths(self, paths: Sequence[str]) -> None:
        self.importer.import_paths(paths)

    def _on_imported(self, path: str, report) -> None:
        self.status.showMessage(f"Imported {Path(path).name}: {report_text(report)}", 15_000)

    def export_to(self, path: str, view: bool) -> None:
        self.files.export_to(path, view)

    SEARCH_CATCH_UP_STEP = 20_000
    """Imported reviews added to the search index per transaction after an import (~0.4 s each)."""

    def _catch_up_search(self) -> None:
        """After an import: add its reviews to the full-text index a step at a time, each step a
        short transaction in the write queue (a flag waits for one step at most). A search meanwhile
        adds the rest itself before it answers (storage/repository/search.py)."""
        self.store.call(queries.catch_up_search, self.SEARCH_CATCH_UP_STEP, write=True,
                        on_result=lambda n: self._catch_up_search() if n else None,
                        on_error=lambda exc: None)  # e.g. read-only: a search says what to do

    def _on_import_idle(self) -> None:
        self._catch_up_search()
        self.reload_all()
        if self._score_after_import:
            self._score_after_import = False
            self.model_ops.score_first_launch()

    # ---------------------------------------------------------------- models and training

    def _update_busy(self) -> None:
        scoring = self.scoring.state.status.active
        self.app_state.busy = "scoring\u2026" if scoring else ("working\u2026" if self.store.busy else "")

    def _on_device_found(self, text: str, cuda) -> None:
        self._device_text = text
        self.app_state.device = text
        self.training.set_device(text, cuda)

    def _on_models_loaded(self, snapshot) -> None:
        if not self._check_scored:
            return
        self._check_scored = False
        active = next((m for m in snapshot.models if m.active), None)
        if active is not None and snapshot.needs_scoring(active.id) and not self.scoring.busy:
            self.scoring_feedback.offer_unscored()  # the bar above the table: Score now / Later

    def _show_dock(self, dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def _on_review_requested(self, product_pk: int, review_pk: int) -> None:
        self.app_state.current_product_pk = product_pk
        self.app_state.current_review_pk = review_pk

    # ---------------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [QUrl(u).toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        dbs = [p for p in paths if is_database_file(p)]
        catalogues = [p for p in paths if p not in dbs]
        event.acceptProposedAction()
        if dbs:
            self.open_database(dbs[0], catalogues)
        elif catalogues:
            self.import_paths(catalogues)

    # ---------------------------------------------------------------- preferences

    def show_shortcut_sheet(self) -> None:
        box = message_box(self, QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcut_sheet(self.keys))
        box.setTextFormat(Qt.TextFormat.RichText)  # our own table; no user content in it
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._sheet = box
        box.open()

    def edit_shortcuts(self) -> None:
        dialog = QtShortcutsDialog(self.keys, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._shortcuts_dialog = dialog
        dialog.accepted.connect(lambda: self.set_keys(dialog.keys))
        dialog.open()

    def set_keys(self, keys) -> None:
        """Rebind: the actions, the menus, the sheet and the stored overrides follow ``keys``."""
        if shortcuts.conflicts(keys):
            raise ValueError(f"conflicting shortcuts: {shortcuts.conflicts(keys)}")
        self.keys = {k: tuple(v) for k, v in keys.items()}
        self.actions_.apply_keys(self.keys)
        self.settings.set_shortcut_overrides(shortcuts.overrides_of(self.keys))

    def _on_user_name(self) -> None:
        name, ok = QInputDialog.getText(self, "User name", "Name written into flags and the audit log:",
                                        text=self.app_state.user_name)
        if ok and name.strip():
            self.app_state.user_name = name
            self.settings.user_name = name

    def _on_theme_changed(self, theme: str) -> None:
        self.settings.theme = theme
        apply_theme(QApplication.instance(), theme)
        if self.actions_.dark_theme.isChecked() != (theme == "dark"):
            self.actions_.dark_theme.setChecked(theme == "dark")

    def _restore_layout(self) -> None:
        geometry = self.settings.blob("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1560, 940)
        state = self.settings.blob("window/state")
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.blob("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        sidebar = self.settings.blob("window/sidebar")
        if sidebar is not None:
            self.sidebar.restoreState(sidebar)
        else:
            self.sidebar.setSizes([520, 150])
        header = self.settings.blob(_HEADER_KEY)
        if header is not None:
            self.review_table.view.horizontalHeader().restoreState(header)
        self.review_table.sync_from_state()

    def save_layout(self) -> None:
        self.remember_view()
        self.settings.set_blob("window/geometry", self.saveGeometry())
        self.settings.set_blob("window/state", self.saveState())
        self.settings.set_blob("window/splitter", self.splitter.saveState())
        self.settings.set_blob("window/sidebar", self.sidebar.saveState())
        self.settings.set_blob(_HEADER_KEY, self.review_table.view.horizontalHeader().saveState())
        self.settings.set_hidden_columns(self.table_state.hidden_columns)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        for part in (self.training, self.scoring, self.model_ops, self.engine_info):
            part.shutdown()  # child processes stop with the window; a killed trainer registers nothing
        self.store.close()
        super().closeEvent(event)
