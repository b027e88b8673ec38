"""Helpers shared by the jobs: where models and the feature cache live, model loading."""
from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

from resources import STARTER_MODEL_DIR
from storage.files import data_root, models_dir  # noqa: F401  (one definition, torch-free)

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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def ensure_starter_model(db, actor: str = "reviewscope") -> bool:
    """Register and activate the bundled starter model in a database that has no model yet."""
    from engine.checkpoint import WEIGHTS_FILE, card_configs, read_card
    from engine.config import flat_settings
    from storage import repository as repo

    weights = STARTER_MODEL_DIR / WEIGHTS_FILE
    if not weights.exists():
        return False
    card = read_card(STARTER_MODEL_DIR)
    with db.begin() as s:
        if repo.list_model_versions(s):
            return False
        repo.register_model_version(
            s, "starter", str(STARTER_MODEL_DIR), file_sha256(weights), config=flat_settings(*card_configs(card)),
            metrics=card.get("metrics", {}), card={"bundled": True}, activate=True, actor=actor,
        )
    return True
