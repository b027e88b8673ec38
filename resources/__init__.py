"""Bundled resources: themes, icons, the starter model and the sample catalogue.

``SAMPLE_DIR`` is the bundled sample catalogue (a ReviewScope JSONL folder: products.jsonl,
reviews.jsonl, images/, NOTICE.md with sources, terms and citations); regenerate it with
``benchmarks/make_sample.py``. ``STARTER_MODEL_DIR`` is the bundled starter model (a checkpoint
folder: model.safetensors + model.json; ``benchmarks/make_starter.py`` writes it).

Paths only: no torch, no Qt, nothing of gui/engine/storage (an import-linter contract), so
the app and the engine both read the one definition.
"""
from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = RESOURCES_DIR / "sample"
STARTER_MODEL_DIR = RESOURCES_DIR / "models" / "starter"

__all__ = ["RESOURCES_DIR", "SAMPLE_DIR", "STARTER_MODEL_DIR", "sample_path"]


def sample_path() -> Path:
    """The sample catalogue folder (what ``storage.importers.import_path`` takes)."""
    return SAMPLE_DIR
