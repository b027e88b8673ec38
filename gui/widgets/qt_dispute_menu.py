"""Menus that dispute a sub-score: one interaction's (right-click on its bar) or all five (D)."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from storage.records import DISPUTE_DIRECTIONS, SUBSCORE_NAMES, Disputes, dispute_words

DisputeFn = Callable[[str, Optional[str]], None]
"""Called with (interaction, direction); direction None clears the dispute."""

MARK = {"too_high": "\u25b2", "too_low": "\u25bc"}
"""How a disputed bar's name is marked: \u25b2 the model says too high, \u25bc too low."""


def add_dispute_actions(menu: QMenu, name: str, current: Optional[str], on_dispute: DisputeFn) -> list[QAction]:
    """``name is too high`` / ``too low`` (checked: the current dispute) and ``Clear dispute``."""
    actions = []
    for direction in DISPUTE_DIRECTIONS:
        action = menu.addAction(dispute_words(name, direction))
        action.setCheckable(True)
        action.setChecked(current == direction)
        action.setEnabled(current != direction)
        action.setData((name, direction))
        action.triggered.connect(lambda _checked=False, d=direction: on_dispute(name, d))
        actions.append(action)
    clear = menu.addAction(f"Clear dispute of {name}")
    clear.setEnabled(current is not None)
    clear.setData((name, None))
    clear.triggered.connect(lambda _checked=False: on_dispute(name, None))
    actions.append(clear)
    return actions


def interaction_menu(parent: QWidget, name: str, disputes: Disputes, on_dispute: DisputeFn) -> QMenu:
    """The context menu of one sub-score bar."""
    menu = QMenu(parent)
    menu.setObjectName("disputeMenu")
    menu.setTitle(name)
    add_dispute_actions(menu, name, dict(disputes).get(name), on_dispute)
    return menu


def chooser_menu(parent: QWidget, disputes: Disputes, on_dispute: DisputeFn) -> QMenu:
    """All five interactions, each a submenu (keyboard: D, then the arrow keys or the mnemonic 1-5)."""
    menu = QMenu(parent)
    menu.setObjectName("disputeMenu")
    current = dict(disputes)
    for i, name in enumerate(SUBSCORE_NAMES, 1):
        mark = f"  {MARK[current[name]]} {current[name].replace('_', ' ')}" if name in current else ""
        sub = menu.addMenu(f"&{i}  {name}{mark}")
        sub.setObjectName(f"dispute {name}")
        add_dispute_actions(sub, name, current.get(name), on_dispute)
    return menu
