"""Themes (qss + palette on the Fusion style) and icons from ``resources/``."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from resources import RESOURCES_DIR

THEMES_DIR = RESOURCES_DIR / "themes"
ICONS_DIR = RESOURCES_DIR / "icons"


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#1e2228"), (roles.WindowText, "#dde3ea"), (roles.Base, "#252a31"),
        (roles.AlternateBase, "#2b3038"), (roles.Text, "#dde3ea"), (roles.Button, "#2d333b"),
        (roles.ButtonText, "#dde3ea"), (roles.Highlight, "#2f5680"), (roles.HighlightedText, "#ffffff"),
        (roles.ToolTipBase, "#2d333b"), (roles.ToolTipText, "#dde3ea"), (roles.PlaceholderText, "#7d8896"),
        (roles.Link, "#6fb1f2"), (roles.Mid, "#3a414b"), (roles.Dark, "#15181c"),
    ):
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#6b7580"))
    p.setColor(QPalette.ColorGroup.Disabled, roles.WindowText, QColor("#6b7580"))
    return p


def _light_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#f5f6f8"), (roles.WindowText, "#1f2933"), (roles.Base, "#ffffff"),
        (roles.AlternateBase, "#f3f6fa"), (roles.Text, "#1f2933"), (roles.Button, "#eceff3"),
        (roles.ButtonText, "#1f2933"), (roles.Highlight, "#2f6fb3"), (roles.HighlightedText, "#ffffff"),
        (roles.ToolTipBase, "#ffffdc"), (roles.ToolTipText, "#1f2933"), (roles.PlaceholderText, "#8a96a3"),
    ):
        p.setColor(role, QColor(color))
    return p


def stylesheet(name: str) -> str:
    path = THEMES_DIR / f"{name}.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole application to the ``light`` or ``dark`` theme."""
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if name == "dark" else _light_palette())
    app.setStyleSheet(stylesheet(name))


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """An SVG icon from resources/icons (crisp at any device pixel ratio); empty if missing."""
    path = ICONS_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
