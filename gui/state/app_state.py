"""What the whole window shows: database, active model, device, user, theme, selection."""
from __future__ import annotations

from typing import Optional

from storage.records import ModelVersionRecord

from .evented import EventedState, evented

UNKNOWN_DEVICE = "CPU/GPU: unknown until a job runs"
THEMES = ("light", "dark")


def _theme(value: str) -> str:
    if value not in THEMES:
        raise ValueError(f"unknown theme {value!r}; choose one of {THEMES}")
    return value


def device_from_card(model: Optional[ModelVersionRecord]) -> str:
    """The device a model card says the model last ran on, else :data:`UNKNOWN_DEVICE`.

    The GUI never imports torch, so it can only repeat what a job wrote down.
    """
    if model is None:
        return UNKNOWN_DEVICE
    for source in (model.card, model.metrics, model.config):
        for key in ("device", "scored_on", "trained_on"):
            value = source.get(key) if isinstance(source, dict) else None
            if isinstance(value, dict):
                value = value.get("device")
            if value:
                return str(value)
    return UNKNOWN_DEVICE


class AppState(EventedState):
    """Window-wide state, shared by the status bar, the tables and the triage controller."""

    database_path = evented("", "Where the open database lives (a file path or a URL without password).")
    active_model = evented(None, "The active ModelVersionRecord, or None when no model is registered.")
    device = evented(UNKNOWN_DEVICE, "Device string reported by the active model's card.")
    user_name = evented("", "Name written into flags and audit events.", coerce=lambda v: str(v).strip())
    theme = evented("light", "Style sheet in use: 'light' or 'dark'.", coerce=_theme)
    current_product_pk = evented(None, "Primary key of the product whose reviews are shown.")
    current_review_pk = evented(None, "Primary key of the review shown in the detail pane.")
    busy = evented("", "A short message while a long job runs, '' when idle.")
    text_highlight = evented(True, "Tint the review text's words by how they pushed the score (detail pane).",
                             coerce=bool)

    @property
    def model_version_id(self) -> Optional[int]:
        return self.active_model.id if self.active_model is not None else None

    def set_active_model(self, model: Optional[ModelVersionRecord]) -> None:
        self.active_model = model
        self.device = device_from_card(model)
