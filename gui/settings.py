"""Persistent preferences in QSettings: user name, theme, recent files, layouts."""
from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QByteArray, QSettings

from .state.columns import COLUMN_INDEX


MAX_RECENT = 10


def default_user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still let the user work
        return "moderator"


class Settings:
    """Typed accessors over ``QSettings`` (tests pass an INI file in a tmp folder).

    No QSettings is kept: each access makes a short-lived one on the calling (GUI) thread
    (QSettings objects of one location share their state within the process), so a Settings
    held by a window never carries a QObject into a reference cycle (gui/workers.py rules).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)

    @classmethod
    def at(cls, path: str | Path) -> "Settings":
        return cls(path)

    @property
    def _s(self) -> QSettings:
        if self.path is None:
            return QSettings("ReviewScope", "ReviewScope")
        return QSettings(self.path, QSettings.Format.IniFormat)

    def _str(self, key: str, default: str = "") -> str:
        value = self._s.value(key, default)
        return default if value is None else str(value)

    @property
    def user_name(self) -> str:
        return self._str("user/name") or default_user_name()

    @user_name.setter
    def user_name(self, value: str) -> None:
        self._s.setValue("user/name", value.strip())

    @property
    def theme(self) -> str:
        value = self._str("view/theme", "light")
        return value if value in ("light", "dark") else "light"

    @theme.setter
    def theme(self, value: str) -> None:
        self._s.setValue("view/theme", value)

    @property
    def text_highlight(self) -> bool:
        """The detail pane tints the review's words by their push on the score (on unless turned off)."""
        return self._str("view/text_highlight", "true").lower() not in ("false", "0", "no")

    @text_highlight.setter
    def text_highlight(self, value: bool) -> None:
        self._s.setValue("view/text_highlight", "true" if value else "false")

    @property
    def advance_after_decision(self) -> bool:
        """A label key or a saved flag moves on to the next review (on unless turned off)."""
        return self._str("triage/advance", "true").lower() not in ("false", "0", "no")

    @advance_after_decision.setter
    def advance_after_decision(self, value: bool) -> None:
        self._s.setValue("triage/advance", "true" if value else "false")

    def _json_list(self, key: str) -> Optional[list[str]]:
        # Lists are stored as JSON text: QSettings loses empty lists in INI files.
        raw = self._s.value(key)
        if raw is None:
            return None
        try:
            value = json.loads(str(raw))
        except ValueError:
            return None
        return [str(v) for v in value] if isinstance(value, list) else None

    def recent_databases(self) -> list[str]:
        return self._json_list("recent/databases") or []

    def add_recent_database(self, url: str) -> list[str]:
        recent = ([url] + [u for u in self.recent_databases() if u != url])[:MAX_RECENT]
        self._s.setValue("recent/databases", json.dumps(recent))
        return recent

    def clear_recent_databases(self) -> None:
        self._s.setValue("recent/databases", "[]")

    def last_folder(self) -> str:
        return self._str("recent/folder", str(Path.home()))

    def set_last_folder(self, folder: str | Path) -> None:
        self._s.setValue("recent/folder", str(folder))

    def blob(self, key: str) -> Optional[QByteArray]:
        value = self._s.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_blob(self, key: str, value: QByteArray) -> None:
        self._s.setValue(key, value)

    def hidden_columns(self) -> Optional[frozenset[str]]:
        value = self._json_list("reviews/hidden_columns")
        return None if value is None else frozenset(value)

    def set_hidden_columns(self, keys) -> None:
        self._s.setValue("reviews/hidden_columns", json.dumps(sorted(keys)))
        self._s.setValue("reviews/known_columns", json.dumps(sorted(COLUMN_INDEX)))

    def known_columns(self) -> Optional[frozenset[str]]:
        """The columns the table had when its hidden columns were saved (None: saved before this was kept)."""
        value = self._json_list("reviews/known_columns")
        return None if value is None else frozenset(value)

    def shortcut_overrides(self) -> dict[str, list[str]]:
        """Keys the user rebound: ``{binding id: [keys]}`` (gui/state/shortcuts.py)."""
        raw = self._s.value("keys/overrides")
        try:
            value = json.loads(str(raw)) if raw is not None else {}
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): [str(x) for x in v] for k, v in value.items() if isinstance(v, list)}

    def set_shortcut_overrides(self, overrides: dict[str, list[str]]) -> None:
        self._s.setValue("keys/overrides", json.dumps(overrides, sort_keys=True))

    def view_state(self, key: str):
        """The JSON object stored under ``key`` (gui/state/remembered.py), None if none."""
        raw = self._s.value(key)
        try:
            return json.loads(str(raw)) if raw is not None else None
        except ValueError:
            return None

    def set_view_state(self, key: str, value: dict) -> None:
        self._s.setValue(key, json.dumps(value, sort_keys=True))

    def saved_views(self, key: str) -> list:
        """The saved views stored under ``key`` (gui/state/saved_views.py), [] if none."""
        value = self.view_state(key)
        return value if isinstance(value, list) else []

    def set_saved_views(self, key: str, views: list) -> None:
        self._s.setValue(key, json.dumps(views, sort_keys=True))

    def sync(self) -> None:
        self._s.sync()
