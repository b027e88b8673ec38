"""Helpers shared by the jobs: where models and the feature cache live, model loading."""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from storage.files import data_root, models_dir  # noqa: F401  (one definition, torch-free)

from engine.model_card import file_sha256  # noqa: F401  (jobs import it from here)
from engine.starter import ensure_starter_model  # noqa: F401  (torch-free: the app calls it too)

from .cache import FeatureCache


def cache_for(db) -> FeatureCache:
    stem = Path(db.media_dir).name.removesuffix("-media")
    return FeatureCache(data_root(db) / (f"{stem}-cache" if stem != "media" else "cache"))


def unique_model_name(session, prefix: str) -> str:
    from storage import repository as repo

    names = {m.name for m in repo.list_model_versions(session)}
    i = len(names) + 1
    while f"{prefix}-v{i}" in names:
        i += 1
    return f"{prefix}-v{i}"


@lru_cache(maxsize=1)
def code_version() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reviewscope")
    except PackageNotFoundError:
        return "unknown"


def load_model_version(mv, device: str = "cpu"):
    """Load a registered model, checking its weights against the registered sha256."""
    from engine.checkpoint import load_checkpoint

    path = Path(mv.checkpoint_path)
    weights = path / "model.safetensors"
    if not weights.exists():
        raise ValueError(f"model {mv.name!r}: checkpoint {weights} is missing")
    if mv.checkpoint_sha256 and file_sha256(weights) != mv.checkpoint_sha256:
        raise ValueError(f"model {mv.name!r}: {weights} does not match its registered sha256 (changed or partial)")
    model, config, card = load_checkpoint(path)
    return model.to(device), config, card
