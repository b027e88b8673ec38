"""The column-mapping import dialog: a preview of the file's first rows, one combo box per
target field, and a summary of what importing with that mapping would do."""
from __future__ import annotations

from html import escape
from typing import Any, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QScrollArea, QSplitter, QTableWidget, QTableWidgetItem, QTextEdit, QVBoxLayout, QWidget,
)

from storage.importers.mapped import REQUIRED_TARGETS, TARGETS

from ..importing import check_job
from ..state.import_mapping import NONE_TEXT, TARGET_LABELS, ImportMappingState, cell_text

MAX_COLUMN_WIDTH = 280
DEBOUNCE_MS = 300
"""Edits closer together than this start one check of the whole file, not one each."""


def summary_html(lines: list[str]) -> str:
    """The summary as HTML: the verdict and the section titles bold, every text escaped (column
    names and cell values are the file's)."""
    out = []
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        text = "&nbsp;" * (len(line) - len(stripped)) * 2 + escape(stripped)
        out.append(f"<b>{text}</b>" if i == 0 or (line.endswith(":") and not line.startswith(" ")) else text)
    return "<br>".join(out)


class QtImportMappingDialog(QDialog):
    """Renders an :class:`ImportMappingState` and edits it; the state's check of each mapping
    runs in a worker of ``store`` (the newest one only: an edit cancels the check under way).

    Attributes
    ----------
    combos : dict
        Target field -> its combo box (item data: the source column, None for "(none)").
    preview : QTableWidget
        The file's first rows, one column per source column.
    summary : QTextEdit
        What importing with the current mapping would do.
    import_button : QPushButton
        Enabled while the mapping is complete and its check found nothing that aborts.
    """

    def __init__(self, state: ImportMappingState, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._store = store
        self._job = None
        self._summary_html = ""
        self.setWindowTitle("Import with column mapping")
        self.file_label = QLabel(self)
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)  # a path is the user's text
        self.file_label.setWordWrap(True)
        self.file_label.setText(f"{state.path}  \u2014  {state.kind.upper()}, {len(state.columns)} columns")
        self.origin = QLabel(state.origin_text, self, objectName="muted")

        self.combos: dict[str, QComboBox] = {}
        fields = QWidget(self)
        form = QFormLayout(fields)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        for target in TARGETS:
            combo = QComboBox(fields)
            combo.addItem(NONE_TEXT, None)
            for column in state.columns:
                combo.addItem(state.column_title(column), column)
            combo.setToolTip(f"Target field {target!r}")
            combo.currentIndexChanged.connect(self._on_combo)
            combo.setProperty("target", target)
            self.combos[target] = combo
            label = QLabel(TARGET_LABELS[target] + (" *" if target in REQUIRED_TARGETS else ""), fields)
            label.setToolTip(target)
            if target in REQUIRED_TARGETS:
                bold = QFont(label.font())
                bold.setBold(True)
                label.setFont(bold)
            form.addRow(label, combo)
        legend = QLabel("* required", fields, objectName="muted")
        form.addRow(legend)
        scroll = QScrollArea(self)
        scroll.setWidget(fields)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(fields.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        self.keep = QCheckBox("Keep the other columns in each review's extras", self)
        self.keep.setChecked(state.keep_unmapped)
        self.keep.toggled.connect(self._on_keep)
        mapping_box = QGroupBox("Fields", self)
        box_layout = QVBoxLayout(mapping_box)
        box_layout.addWidget(scroll, 1)
        box_layout.addWidget(self.keep)

        self.preview = QTableWidget(len(state.rows), len(state.columns), self)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.preview.setWordWrap(False)
        self.preview.verticalHeader().setDefaultSectionSize(self.preview.fontMetrics().height() + 8)
        for r, row in enumerate(state.rows):
            for c, column in enumerate(state.columns):
                item = QTableWidgetItem(cell_text(row.get(column)))
                item.setToolTip(cell_text(row.get(column)))
                self.preview.setItem(r, c, item)
        self.preview.resizeColumnsToContents()
        for c in range(len(state.columns)):
            self.preview.setColumnWidth(c, max(90, min(self.preview.columnWidth(c) + 12, MAX_COLUMN_WIDTH)))
        preview_box = QGroupBox(f"First {len(state.rows)} rows", self)
        QVBoxLayout(preview_box).addWidget(self.preview)

        self.summary = QTextEdit(self, objectName="mappingSummary")
        self.summary.setReadOnly(True)
        self.summary.setAcceptRichText(False)
        self.summary.setTabChangesFocus(True)
        summary_box = QGroupBox("What the import would do", self)
        QVBoxLayout(summary_box).addWidget(self.summary)

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(preview_box)
        right.addWidget(summary_box)
        right.setChildrenCollapsible(False)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        body = QHBoxLayout()
        body.addWidget(mapping_box, 0)
        body.addWidget(right, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(self.origin)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start_check)
        state.events.mapping.connect(self._on_mapping)
        state.events.keep_unmapped.connect(self._on_keep_changed)
        state.events.changed.connect(self._on_changed)
        self.finished.connect(self._on_finished)
        self._on_mapping(state.mapping)
        self._on_changed()
        self.resize(1100, 720)
        self._start_check()

    # ------------------------------------------------------------------ widget -> state

    def _on_combo(self, _index: int) -> None:
        combo = self.sender()
        if isinstance(combo, QComboBox):
            self.state.set_target(combo.property("target"), combo.currentData())

    def _on_keep(self, on: bool) -> None:
        self.state.keep_unmapped = on

    # ------------------------------------------------------------------ state -> widget

    def _on_mapping(self, mapping: dict) -> None:
        for target, combo in self.combos.items():
            index = combo.findData(mapping.get(target)) if target in mapping else 0
            if combo.currentIndex() != index:
                combo.blockSignals(True)
                combo.setCurrentIndex(max(index, 0))
                combo.blockSignals(False)
        self._timer.start()

    def _on_keep_changed(self, on: bool) -> None:
        if self.keep.isChecked() != on:
            self.keep.blockSignals(True)
            self.keep.setChecked(on)
            self.keep.blockSignals(False)
        self._timer.start()

    def _on_changed(self, _value: Any = None) -> None:
        state = self.state
        for c, column in enumerate(state.columns):
            role = state.column_role(column)
            item = QTableWidgetItem(f"{state.column_title(column)}\n{role}")
            font = QFont(self.preview.font())
            font.setBold(role.startswith("\u2192"))
            font.setItalic(role == "dropped")
            item.setFont(font)
            if role == "dropped":
                item.setForeground(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            self.preview.setHorizontalHeaderItem(c, item)
            wanted = min(self.preview.horizontalHeader().sectionSizeHint(c), MAX_COLUMN_WIDTH)
            if self.preview.columnWidth(c) < wanted:
                self.preview.setColumnWidth(c, wanted)
        html = summary_html(state.summary_lines())
        if html != self._summary_html:
            self._summary_html = html
            self.summary.setHtml(html)
        self.import_button.setEnabled(state.can_import)

    # ------------------------------------------------------------------ checking

    def _start_check(self) -> None:
        self._timer.stop()
        self._cancel_check()
        started = self.state.begin_check()
        if started is None:
            self._on_changed()
            return
        token, mapping = started
        state = self.state  # the callbacks hold the state, not the dialog
        self._job = self._store.run(
            check_job, state.path, mapping, pass_context=True, write=False, background=True,
            on_result=lambda result: state.finish_check(token, result),
            on_error=lambda exc: state.fail_check(token, str(exc) or type(exc).__name__),
            on_progress=lambda p: state.report_progress(token, *p),
        )

    def _cancel_check(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None

    @property
    def check_running(self) -> bool:
        return self._job is not None and self._job.outcome is None and not self._job.is_cancelled

    def accept(self) -> None:
        if self.state.can_import:  # Enter must not import what the disabled button would not
            super().accept()

    def _on_finished(self, _result: int) -> None:
        self._timer.stop()
        self._cancel_check()
        self.state.close()
        for emitter in (self.state.events.mapping, self.state.events.keep_unmapped, self.state.events.changed):
            emitter.disconnect(self._on_mapping)
            emitter.disconnect(self._on_keep_changed)
            emitter.disconnect(self._on_changed)

    def mapping(self) -> Optional[Any]:
        """The :class:`storage.importers.Mapping` to import with."""
        return self.state.to_mapping()
