"""Training recipes: the defaults per device, chosen once at the edge of a job."""
from __future__ import annotations

import json
from pathlib import Path

from engine.config import ARCHITECTURE_FIELDS, MMSSConfig, TrainConfig, flat_settings, split_settings

# CPU: frozen encoder (its token states come from the feature cache), heads trained with a
# larger learning rate than the paper's, since nothing else moves. d = 64 and 64 tokens
# (within MMSS.md's caps) make a step ~8x cheaper than d = 128 / 128 tokens on 2 cores
# (benchmarks/model_throughput.py); lr 3e-4, dropout 0.3 and weight decay 1e-3 were chosen on
# dev MAP of ../shared/data (docs/quality.md); length, the strongest signal the truncation hides,
# reaches the model through the metadata channel. A laptop retrains in minutes.
# subtask_rank_weight 3 (fixed margin): each sub-score is also trained to rank a product's reviews
# by its pseudo-label (engine.losses.subtask_rank_loss); with eq. 14 alone the sub-scores hardly
# moved within a product (0.04-0.06 of the score's spread on dev). Chosen on dev, seed 0: within-
# product spread 0.25-0.33 of the score's, dev MAP 59.1 (58.4 without; weight 1: 59.0, adaptive
# margin weight 1: 59.1); docs/quality.md.
CPU_QUICK = dict(text_finetune_layers=0, hidden=64, max_tokens=64, epochs=12, lr_rest=3e-4, batch_size=32,
                 early_stopping_patience=3, dropout=0.3, weight_decay=1e-3,
                 subtask_rank_weight=3.0, subtask_rank_adaptive=False)
# GPU: MMSS.md's training defaults (paper A.2): the whole text encoder fine-tuned, lr 5e-5 / 1e-4.
# The sub-score ranking hinge as on CPU (not yet measured on a GPU: no GPU was lent to that work).
GPU_FULL = dict(text_finetune_layers=-1, epochs=4, lr_text=5e-5, lr_rest=1e-4, batch_size=32, early_stopping_patience=2,
                subtask_rank_weight=3.0, subtask_rank_adaptive=False)

RECIPES = {"cpu-quick": CPU_QUICK, "gpu-full": GPU_FULL}


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False)")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {device!r}")
    return device


def default_recipe(device: str) -> str:
    return "gpu-full" if device == "cuda" else "cpu-quick"


def build_config(recipe: str | None, device: str, config_file: str | None = None, overrides: dict | None = None,
                 base: tuple[MMSSConfig, TrainConfig] | None = None,
                 parent: str = "the parent") -> tuple[MMSSConfig, TrainConfig]:
    """Recipe defaults (or ``base``, a parent model's configs), then a JSON config file (fields
    of either config), then CLI overrides.

    From a ``base``, a value that changes one of :data:`~engine.config.ARCHITECTURE_FIELDS`
    is refused (a ValueError naming the field, ``parent``'s value and the requested one): a
    run that continues from a model keeps its architecture."""
    recipe = recipe or default_recipe(device)
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    fields: dict = {} if base is not None else dict(RECIPES[recipe])
    if config_file:
        path = Path(config_file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: config file not found") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from None
        split_settings(data, where=str(path))  # names the file on an unknown field
        fields.update(data)
    fields.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if base is None:
        return split_settings(fields)
    config, train = split_settings({**flat_settings(*base), **fields})
    old, new = base[0].to_dict(), config.to_dict()
    for name in sorted(ARCHITECTURE_FIELDS & set(fields)):
        if new[name] != old[name]:
            raise ValueError(f"{name}: {parent} has {old[name]!r}, the run asks for {new[name]!r}; a run that continues "
                             f"from a model keeps its architecture (train from scratch to change {name})")
    return config, train
