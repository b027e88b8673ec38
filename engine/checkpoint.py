"""MM-SS checkpoints: a directory with ``model.safetensors`` + ``model.json``. Nothing else.

Writing is atomic: both files go to a temporary sibling directory, are flushed to disk,
and the directory is renamed into place (``os.replace``); an existing checkpoint of the
same name is moved aside first and removed only after the rename. A reader never sees a
half-written checkpoint.

Loading never unpickles: weights are read with safetensors, the card with ``json``. A
directory holding a pickle-format file (``.pt``, ``.pth``, ``.bin``, ``.pkl``, ``.ckpt``)
or a "model.safetensors" that is not one is refused with a ValueError naming the file.

Frozen text encoder: when ``config.text_finetune_layers == 0`` the encoder's weights are not
stored (they are the package's / the path's, unchanged). The card records the encoder's
identity (content hash, :func:`engine.model.text.encoder_identity`) and loading rebuilds the
encoder from ``config.text_encoder`` and refuses one whose identity differs. A fine-tuned
encoder is stored in full (``weights_include_text_encoder: true``); its tokenizer still comes
from ``config.text_encoder``.

model.json keeps the model's :class:`~engine.config.MMSSConfig` under ``config`` (all that
loading needs) and the :class:`~engine.config.TrainConfig` it was trained with under
``train_config``. A card written before the two were split has one flat ``config`` of both;
:func:`card_configs` splits it.

``fusion_reference`` in model.json: each block of F_c's mean over the training reviews, the
"absent" reference of a score's explanation (:mod:`engine.model.explain`), as
``{"blocks": [names], "mean": [[d floats] per block]}``. It is kept out of the weights file so
that a checkpoint written before it existed (the bundled starter model) loads unchanged and
gets one without a new weights hash; :func:`load_checkpoint` sets ``model.fusion_reference``
from it, or leaves None (explanations then use their stated fallback).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch

import engine
from engine.model_card import (  # noqa: F401  (re-exported: the card is read without torch there)
    CARD_FILE, FORMAT, FORMAT_VERSION, PICKLE_SUFFIXES, WEIGHTS_FILE, _refuse_pickles, card_configs, file_sha256, read_card,
)
from engine.config import ImageSource, MMSSConfig, TrainConfig
from engine.model.mmss import MMSSModel
from engine.model.text import encoder_identity

__all__ = ["save_checkpoint", "load_checkpoint", "read_card", "card_configs", "reference_from_card", "store_fusion_reference",
           "WEIGHTS_FILE",
           "CARD_FILE"]


def _temp_prefix(name: str, kind: str = "tmp") -> str:
    # The writer's pid in the name lets storage.files.clean_leftovers (which reads this naming;
    # this module may not import storage) tell a killed writer's folder from a live one's.
    return f".{name}.{kind}-{os.getpid()}-"

_ENCODER_PREFIX = "text_encoder."


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _image_identity(config: MMSSConfig) -> str | None:
    if config.text_only:
        return None
    if config.image_source is ImageSource.GRID:
        from engine.model.vision import grid_encoder_identity

        return grid_encoder_identity()
    return "roi-2048 (precomputed Faster R-CNN features)"


def save_checkpoint(
    directory: str | Path,
    model: MMSSModel,
    config: MMSSConfig,
    card: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
) -> str:
    """Write ``directory/model.safetensors`` + ``directory/model.json`` atomically.

    ``train_config``: how the weights were trained (recorded; none for an untrained model).

    ``card`` is free JSON: its ``metrics``, ``data_summary`` and ``code_version`` keys are
    lifted to the top level of model.json, the rest kept under ``card``. Returns the
    sha256 of the weights file (also recorded in model.json).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    if config != model.config:
        raise ValueError("save_checkpoint: config differs from the model's config")
    card = dict(card or {})
    try:
        json.dumps(card)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save_checkpoint: card is not JSON-serialisable ({exc})") from None

    include_encoder = config.text_finetune
    if include_encoder and model.text_encoder is None:
        raise ValueError("save_checkpoint: a fine-tuned encoder config needs the model's text encoder")
    tensors = {
        k: v.detach().cpu().contiguous().clone()
        for k, v in model.state_dict().items()
        if include_encoder or not k.startswith(_ENCODER_PREFIX)
    }

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": card.pop("code_version", None) or engine.__version__,
        "config": config.to_dict(),
        **({"train_config": train_config.to_dict()} if train_config is not None else {}),
        "text_encoder_identity": (
            model.text_encoder.encoder_identity()
            if model.text_encoder is not None
            else encoder_identity(config.text_encoder, config.max_tokens)
        ),
        "image_encoder_identity": _image_identity(config),
        "weights_file": WEIGHTS_FILE,
        "weights_include_text_encoder": include_encoder,
        "parameters": model.count_parameters(),
        **({"fusion_reference": _reference_json(model)} if model.fusion_reference is not None else {}),
        "metrics": card.pop("metrics", {}),
        "data_summary": card.pop("data_summary", {}),
        "card": card,
    }

    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(directory.name), dir=directory.parent))
    old: Path | None = None
    try:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        _fsync_file(tmp / WEIGHTS_FILE)
        meta["weights_sha256"] = file_sha256(tmp / WEIGHTS_FILE)
        (tmp / CARD_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        _fsync_file(tmp / CARD_FILE)
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(directory.name, "old"), dir=directory.parent))
            os.replace(directory, old / "ckpt")
        os.replace(tmp, directory)
    except BaseException:
        if old is not None and not directory.exists():
            os.replace(old / "ckpt", directory)  # put the previous checkpoint back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return meta["weights_sha256"]


def _reference_json(model: MMSSModel) -> dict[str, Any]:
    ref = model.fusion_reference.detach().float().cpu()
    return {"blocks": list(model.fusion_block_names), "mean": [[float(v) for v in row] for row in ref]}


def reference_from_card(meta: dict[str, Any], model: MMSSModel) -> torch.Tensor | None:
    """The ``fusion_reference`` of a model card as a tensor for ``model``; None when the card has
    none; a ValueError when it does not fit the model's blocks."""
    ref = meta.get("fusion_reference")
    if ref is None:
        return None
    try:
        blocks, mean = list(ref["blocks"]), torch.tensor(ref["mean"], dtype=torch.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{CARD_FILE} fusion_reference: malformed ({exc})") from None
    if tuple(blocks) != tuple(model.fusion_block_names) or mean.shape != (len(blocks), model.config.hidden):
        raise ValueError(f"{CARD_FILE} fusion_reference: blocks {blocks} / shape {tuple(mean.shape)} do not fit the model")
    return mean


def store_fusion_reference(directory: str | Path, model: MMSSModel) -> None:
    """Write ``model.fusion_reference`` into an existing checkpoint's model.json (atomically:
    temporary file + rename); the weights, and so their sha256, are untouched. For a checkpoint
    written before the means were stored (benchmarks/make_starter.py --reference-only)."""
    directory = Path(directory)
    meta = read_card(directory)
    if model.fusion_reference is None:
        raise ValueError("store_fusion_reference: the model has no fusion_reference")
    meta["fusion_reference"] = _reference_json(model)
    mode = (directory / CARD_FILE).stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{CARD_FILE}.", dir=directory)
    try:
        os.chmod(tmp, mode)  # mkstemp's file is private (0600); keep the card's own mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(meta, indent=2, sort_keys=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / CARD_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_safetensors_header(path: Path) -> None:
    """A safetensors file starts with a little-endian u64 header size and a JSON '{'."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    size = path.stat().st_size
    if len(head) < 9 or head[8:9] != b"{" or struct.unpack("<Q", head[:8])[0] + 8 > size:
        raise ValueError(f"{path}: not a safetensors file (pickled or corrupt weights are refused)")


def load_checkpoint(
    directory: str | Path,
    *,
    load_text_encoder: bool = True,
    map_location: str | torch.device = "cpu",
    verify_encoder: bool = True,
) -> tuple[MMSSModel, MMSSConfig, dict[str, Any]]:
    """Load ``(model, config, card)`` from a checkpoint directory; the model is in eval mode.

    ``load_text_encoder=False`` builds the model without its encoder (cached token states
    only). ``verify_encoder`` refuses a frozen-encoder checkpoint whose encoder, rebuilt
    from ``config.text_encoder``, has a different identity than the one it was trained with.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    meta = read_card(directory)
    weights = directory / meta.get("weights_file", WEIGHTS_FILE)
    if weights.name != WEIGHTS_FILE or not weights.is_file():
        raise ValueError(f"{directory / WEIGHTS_FILE}: missing")
    _check_safetensors_header(weights)
    if file_sha256(weights) != meta.get("weights_sha256"):
        raise ValueError(f"{weights}: sha256 does not match {CARD_FILE} (corrupt or replaced)")
    config, _train = card_configs(meta)
    include_encoder = bool(meta.get("weights_include_text_encoder"))

    if verify_encoder and not include_encoder:
        current = encoder_identity(config.text_encoder, config.max_tokens)
        if current != meta.get("text_encoder_identity"):
            raise ValueError(
                f"{directory}: trained with text encoder {meta.get('text_encoder_identity')!r}, "
                f"but {config.text_encoder!r} is now {current!r}"
            )
    try:
        state = load_file(str(weights), device=str(map_location))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{weights}: cannot read safetensors ({exc})") from None

    model = MMSSModel(config, load_text_encoder=load_text_encoder)
    if model.text_encoder is None:
        state = {k: v for k, v in state.items() if not k.startswith(_ENCODER_PREFIX)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed_missing = [] if include_encoder else [k for k in missing if k.startswith(_ENCODER_PREFIX)]
    bad_missing = [k for k in missing if k not in allowed_missing]
    if bad_missing or unexpected:
        raise ValueError(
            f"{weights}: weights do not fit the config (missing {bad_missing[:5]}, unexpected {unexpected[:5]})"
        )
    model.fusion_reference = reference_from_card(meta, model)
    model.to(map_location)
    model.eval()
    return model, config, meta
