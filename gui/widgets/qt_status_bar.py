"""Status bar: active model version, device, database path, and a busy indicator."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from ..models.formatting import plain_tooltip
from ..state.app_state import AppState


class QtStatusBar(QStatusBar):
    def __init__(self, app_state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._app = app_state
        self.model_label = QLabel(self)
        self.device_label = QLabel(self)
        self.db_label = QLabel(self)
        for label in (self.model_label, self.device_label, self.db_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.db_label.setMinimumWidth(80)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.addWidget(self.busy)
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.device_label)
        self.addPermanentWidget(self.db_label, 1)
        app_state.events.active_model.connect(self._on_active_model_changed)
        app_state.events.device.connect(self._on_device_changed)
        app_state.events.database_path.connect(self._on_database_path_changed)
        app_state.events.busy.connect(self._on_busy_changed)
        self._on_active_model_changed(app_state.active_model)
        self._on_device_changed(app_state.device)
        self._on_database_path_changed(app_state.database_path)

    def _on_active_model_changed(self, model) -> None:
        self.model_label.setText(f"model: {model.name} (active)" if model is not None else "model: none (not scored)")
        self.model_label.setToolTip(
            "" if model is None
            else plain_tooltip(f"{model.name}\ncheckpoint {model.checkpoint_path}\nsha256 {model.checkpoint_sha256[:16]}\u2026")
        )

    def _on_device_changed(self, device: str) -> None:
        self.device_label.setText(device)

    def _on_database_path_changed(self, path: str) -> None:
        self.db_label.setText(f"db: {path}" if path else "no database")
        self.db_label.setToolTip(plain_tooltip(path))

    def _on_busy_changed(self, message: str) -> None:
        # Only the indicator: the message area keeps results ("Exported 120 rows to ...").
        self.busy.setVisible(bool(message))
        self.busy.setToolTip(message)
