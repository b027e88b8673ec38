"""Every MMSSConfig field the next run may change, with its recipe value and its meaning."""
from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QScrollArea,
    QToolButton, QVBoxLayout, QWidget,
)

from ..models.formatting import plain_tooltip
from .setup import FieldSpec, TrainingSetup


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class QtAdvancedOptions(QDialog):
    """Binds to :class:`TrainingSetup` ``overrides``: an edit sets one override (checked by the
    field's type), the reset button removes it, and the editors follow the state.

    Parameters
    ----------
    continuing : bool
        The run continues from a model: fields that shape the network are fixed.
    parent_config : dict, optional
        The parent model's config (its values replace the recipe's when continuing).
    """

    def __init__(self, setup: TrainingSetup, continuing: bool, parent_config: Optional[dict] = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Advanced training options")
        self.resize(640, 560)
        self._setup = setup
        self._continuing = continuing
        self._parent_config = parent_config if continuing else None
        self._setters: dict[str, Callable[[Any], None]] = {}
        self._resets: dict[str, QToolButton] = {}
        self.editors: dict[str, QWidget] = {}
        intro = QLabel(
            ("Continuing from the active model: its architecture is kept, so only optimisation, loss and "
             "SSP-Label settings can change." if continuing else
             "Values start from the chosen recipe; change any MMSSConfig field for this run.")
            + " Hover a name for its meaning.", self, objectName="muted")
        intro.setWordWrap(True)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        grid_host = QWidget(self)
        grid = QGridLayout(grid_host)
        grid.setVerticalSpacing(2)
        for col, title in enumerate(("field", "value", "without a change" if continuing else "recipe / default", "")):
            header = QLabel(title, grid_host, objectName="muted")
            grid.addWidget(header, 0, col)
        row = 1
        for spec in setup.catalog.fields:
            if spec.name in ("epochs", "seed"):
                continue  # in the panel itself
            self._add_row(grid, row, spec, grid_host)
            row += 1
        grid.setColumnStretch(1, 1)
        scroll = QScrollArea(self)
        scroll.setWidget(grid_host)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close | QDialogButtonBox.StandardButton.Reset, self)
        buttons.rejected.connect(self.accept)
        buttons.button(QDialogButtonBox.StandardButton.Close).clicked.connect(self.accept)
        buttons.button(QDialogButtonBox.StandardButton.Reset).setText("Reset all")
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(self._on_reset_all)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        setup.events.overrides.connect(self._on_overrides_changed)
        self._on_overrides_changed(setup.overrides)

    def done(self, result: int) -> None:
        self._setup.events.overrides.disconnect(self._on_overrides_changed)
        super().done(result)

    # ------------------------------------------------------------ rows

    def _add_row(self, grid: QGridLayout, row: int, spec: FieldSpec, host: QWidget) -> None:
        editable = self._setup.editable(spec.name, self._continuing)
        tip = plain_tooltip(spec.doc + ("" if editable else "\n\nFixed: the run continues from a model with this architecture."))
        name = QLabel(spec.name, host)
        name.setToolTip(tip)
        editor, setter = self._editor(spec, host)
        editor.setToolTip(tip)
        editor.setEnabled(editable)
        base = QLabel(_text(self._setup.base_value(spec.name, self._parent_config)), host, objectName="muted")
        base.setTextFormat(Qt.TextFormat.PlainText)
        reset = QToolButton(host)
        reset.setText("\u21ba")
        reset.setToolTip("Back to the value without a change")
        reset.setAutoRaise(True)
        reset.clicked.connect(lambda _c=False, n=spec.name: self._setup.clear_override(n))
        reset.setEnabled(editable)
        grid.addWidget(name, row, 0)
        grid.addWidget(editor, row, 1)
        grid.addWidget(base, row, 2)
        grid.addWidget(reset, row, 3)
        self.editors[spec.name] = editor
        self._setters[spec.name] = setter
        self._resets[spec.name] = reset

    def _editor(self, spec: FieldSpec, host: QWidget) -> tuple[QWidget, Callable[[Any], None]]:
        if spec.kind == "bool":
            box = QCheckBox(host)
            box.toggled.connect(lambda v, n=spec.name: self._set(n, v))
            return box, lambda v: box.setChecked(bool(v))
        if spec.kind == "choice":
            combo = QComboBox(host)
            for choice in spec.choices:
                combo.addItem(str(choice), choice)
            combo.activated.connect(lambda i, n=spec.name, c=combo: self._set(n, c.itemData(i)))
            return combo, lambda v: combo.setCurrentIndex(max(0, combo.findData(v)))
        if spec.kind == "subset":
            box = QWidget(host)
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            checks = {}
            for choice in spec.choices:
                check = QCheckBox(str(choice), box)
                checks[choice] = check
                row.addWidget(check)
                check.toggled.connect(lambda _v, n=spec.name: self._set(n, [c for c, w in checks.items() if w.isChecked()]))

            def set_checks(values) -> None:
                for c, w in checks.items():
                    w.setChecked(c in (values or ()))

            return box, set_checks
        line = QLineEdit(host)
        line.editingFinished.connect(lambda n=spec.name, w=line: self._set(n, w.text()))
        return line, lambda v: line.setText(_text(v))

    # ------------------------------------------------------------ state <-> widgets

    def _set(self, name: str, value: Any) -> None:
        if getattr(self, "_syncing", False):
            return
        try:
            self._setup.set_override(name, value, self._parent_config)
        except ValueError as exc:
            self.error.setText(str(exc))
            self._on_overrides_changed(self._setup.overrides)  # show the value in force again
            return
        self.error.setText("")

    def _on_overrides_changed(self, overrides: dict) -> None:
        self._syncing = True
        try:
            for name, setter in self._setters.items():
                setter(self._setup.value(name, self._parent_config))
                self._resets[name].setVisible(name in overrides)
                font = self.editors[name].font()
                font.setBold(name in overrides)
                self.editors[name].setFont(font)
        finally:
            self._syncing = False

    def _on_reset_all(self) -> None:
        self._setup.overrides = {}
