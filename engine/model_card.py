"""A checkpoint's model card (``model.json``): read and checked without torch.

The app reads cards (which model, what it reads, its metrics) and registers the bundled
starter model from its store worker, where torch is not imported; :mod:`engine.checkpoint`
(weights, torch) re-exports these names.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.config import MMSSConfig, TrainConfig, split_settings

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model.json"
FORMAT = "reviewscope-mmss"
FORMAT_VERSION = 1
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")


def _refuse_pickles(directory: Path) -> None:
    for p in sorted(directory.iterdir()):
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise ValueError(
                f"{p}: refusing a pickle-format file; a ReviewScope checkpoint holds only "
                f"{WEIGHTS_FILE} and {CARD_FILE}"
            )


def read_card(directory: str | Path) -> dict[str, Any]:
    """The parsed ``model.json`` of a checkpoint (no weights read)."""
    directory = Path(directory)
    if directory.is_file():
        raise ValueError(f"{directory}: a checkpoint is a directory with {WEIGHTS_FILE} and {CARD_FILE}")
    if not directory.is_dir():
        raise ValueError(f"{directory}: no such checkpoint directory")
    _refuse_pickles(directory)
    card_path = directory / CARD_FILE
    if not card_path.is_file():
        raise ValueError(f"{card_path}: missing")
    try:
        meta = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{card_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{card_path}: not a {FORMAT} model card")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{card_path}: format_version {meta.get('format_version')!r} is not supported")
    return meta


def card_configs(meta: dict[str, Any]) -> tuple[MMSSConfig, TrainConfig]:
    """The model's and the training's configs recorded in a model card (:func:`read_card`).

    A card without ``train_config`` (one written before the configs were split, whose flat
    ``config`` holds both, or an untrained model's) is split; absent training fields take
    TrainConfig's defaults."""
    where = f"{CARD_FILE} config"
    if not isinstance(meta.get("config"), dict):
        raise ValueError(f"{where}: missing or not a JSON object")
    if "train_config" not in meta:
        return split_settings(meta["config"], where=where)
    try:
        return MMSSConfig.from_dict(meta["config"]), TrainConfig.from_dict(meta["train_config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
