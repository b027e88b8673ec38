"""The "Views" section of the sidebar: saved views of the review table, and the dialog that
saves one. A click (or Enter) applies a view; its context menu, F2 and Delete rename and
delete it."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu,
    QHBoxLayout, QMessageBox, QToolButton, QVBoxLayout, QWidget,
)

from ..dialogs import show_error
from ..state.saved_views import SavedView, SavedViewsState, clean_name

NameRole = Qt.ItemDataRole.UserRole


class QtSavedViews(QWidget):
    """Lists ``state.views``; renames and deletes through the state.

    Signals
    -------
    apply_requested(object)
        The user picked a :class:`SavedView`.
    """

    apply_requested = Signal(object)

    def __init__(self, state: SavedViewsState, save_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.title = QLabel("Views", self, objectName="paneTitle")
        self.save_button = QToolButton(self)
        self.save_button.setDefaultAction(save_action)
        self.save_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.list = QListWidget(self)
        self.list.setObjectName("savedViews")
        self.list.setSpacing(2)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_menu)
        self.list.itemClicked.connect(self._on_item_applied)
        self.list.itemActivated.connect(self._on_item_applied)
        self.empty = QLabel("No saved views yet: set the table's filter, sort and columns, then "
                            "View \u203a Save view as\u2026", self, objectName="muted")
        self.empty.setWordWrap(True)
        for text, key, slot in (("Rename\u2026", QKeySequence(Qt.Key.Key_F2), self._rename_current),
                                ("Delete", QKeySequence(QKeySequence.StandardKey.Delete), self._delete_current)):
            action = QAction(text, self.list)
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self.list.addAction(action)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        state.events.views.connect(self._on_views_changed)
        self._on_views_changed(state.views)

    def _on_views_changed(self, views) -> None:
        current = self.current_name()
        self.list.clear()
        for view in views:
            item = QListWidgetItem(view.name)
            item.setData(NameRole, view.name)
            item.setToolTip(view.summary())
            self.list.addItem(item)
            if view.name == current:
                self.list.setCurrentItem(item)
        self.list.setVisible(bool(views))
        self.empty.setVisible(not views)

    def current_name(self) -> Optional[str]:
        item = self.list.currentItem()
        return item.data(NameRole) if item is not None else None

    def _on_item_applied(self, item: QListWidgetItem) -> None:
        view = self._state.get(item.data(NameRole))
        if view is not None:
            self.apply_requested.emit(view)

    def _on_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Apply", lambda: self._on_item_applied(item))
        menu.addAction("Rename\u2026", self._rename_current)
        menu.addAction("Delete", self._delete_current)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def _rename_current(self) -> None:
        name = self.current_name()
        if name is None:
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename view")
        dialog.setLabelText("New name:")
        dialog.setTextValue(name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda new: self.rename(name, new))
        self._dialog = dialog
        dialog.open()

    def rename(self, name: str, new_name: str) -> None:
        try:
            self._state.rename(name, new_name)
        except (ValueError, KeyError) as exc:
            show_error(self, "Cannot rename the view", str(exc).strip("'"))

    def _delete_current(self) -> None:
        name = self.current_name()
        if name is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete view", f"Delete the saved view \u201c{name}\u201d?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda button: box.standardButton(button) == QMessageBox.StandardButton.Yes and self.delete(name))
        self._dialog = box
        box.open()

    def delete(self, name: str) -> None:
        if self._state.get(name) is not None:
            self._state.delete(name)


class QtSaveViewDialog(QDialog):
    """Name for the view, and whether it opens the current product."""

    def __init__(self, state: SavedViewsState, product_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save view")
        self._state = state
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. Flagged, newest first")
        self.name.setMaxLength(80)
        self.with_product = QCheckBox(f"Open \u201c{product_title}\u201d with this view" if product_title
                                      else "Open the current product with this view", self)
        self.with_product.setEnabled(bool(product_title))
        self.with_product.setToolTip("Unchecked: the view keeps whichever product is selected and lists all products")
        self.hint = QLabel("", self, objectName="muted")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Name of the view (the table's filter, sort and visible columns):", self))
        layout.addWidget(self.name)
        layout.addWidget(self.with_product)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._on_name_changed)
        self._on_name_changed("")

    def _on_name_changed(self, text: str) -> None:
        try:
            name = clean_name(text)
        except ValueError:
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            self.hint.setText("")
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        old: Optional[SavedView] = self._state.get(name)
        self.hint.setText(f"Replaces the saved view \u201c{old.name}\u201d." if old is not None else "")
