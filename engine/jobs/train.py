"""``train``: MM-SS with SSP-Label on the store's train split, model selection on dev MAP.

The loop is flat and reads top to bottom (nanoGPT style). Only rank 0 touches the
database and the checkpoint folder. A stop request (SIGTERM, Ctrl-C, the GUI's Cancel)
ends the run after the current step; nothing is registered then.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from engine.metrics import evaluate_rankings
from engine.config import MMSSConfig, TrainConfig, flat_settings
from engine.model.mmss import MMSSModel
from engine.pseudolabels import SSPLabeler

from .cache import FeatureCache
from .data import FeatureBuilder, Prepared, block_means, grouped, make_batch, predict, product_batches
from .recipes import build_config, resolve_device

EventFn = Callable[..., None]


class StopRequested(Exception):
    """The run was asked to stop; nothing is registered."""


@dataclass
class TrainOptions:
    from_model: str | None = None
    epochs: int | None = None
    seed: int | None = None
    config_file: str | None = None
    recipe: str | None = None
    name: str | None = None
    device: str = "auto"
    max_minutes: float | None = None
    activate: str = "never"  # never | always | if-better
    max_steps: int | None = None  # for tests: stop each epoch after this many steps
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    model_version_id: int | None
    name: str | None
    metrics: dict[str, Any]
    checkpoint: str | None
    status: str


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist
    return None


def evaluate_prepared(model: MMSSModel, prepared: Prepared, device, amp: bool = False) -> dict[str, float]:
    if not any(lab is not None for lab in prepared.labels):
        return {}
    scores, _ = predict(model, prepared, device=device, amp=amp)
    s, y = grouped(prepared, scores)
    return {k: round(v, 3) for k, v in evaluate_rankings(s, y).items()}


def train_model(
    config: MMSSConfig,
    train_config: TrainConfig,
    train_products,
    dev_products,
    *,
    device: str = "cpu",
    cache: FeatureCache,
    model: MMSSModel | None = None,
    on_event: EventFn = lambda *a, **k: None,
    should_stop: Callable[[], bool] = lambda: False,
    deadline: float | None = None,
    max_steps: int | None = None,
    refit_metadata: bool = True,
) -> tuple[MMSSModel, dict[str, Any]]:
    """Train ``config``'s model (or ``model``) under ``train_config`` and return the best model
    (by dev MAP) with its training history."""
    dist = _dist()
    rank = dist.get_rank() if dist else 0
    world = dist.get_world_size() if dist else 1
    set_seed(train_config.seed)
    if model is None:
        model = MMSSModel(config)
    model.to(device)
    on_event("stage", stage="features", message="encoding texts and images (cached)")
    builder = FeatureBuilder(model, cache, on_progress=lambda d, t: on_event("features", done=d, total=t))
    train = builder.build(train_products, labelled_only=True, with_index=True)
    dev = builder.build(dev_products, labelled_only=True)
    if len(train) == 0:
        raise ValueError("no labelled training reviews: import a catalogue with helpful votes or add corrected labels")
    if config.use_metadata and refit_metadata:
        from engine.metadata import fit_normalizer

        model.set_metadata_normalization(*fit_normalizer(np.stack([e.metadata for e in train.examples])))
    # A moderator's disputed sub-score: its target left out of L_s and A_s (engine.pseudolabels)
    labeler = SSPLabeler.from_config([e.label for e in train.examples], config, train_config, disputed=train.disputed)

    ddp_model = model
    if dist:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ddp_model = DDP(model, device_ids=[torch.device(device).index or 0] if device.startswith("cuda") else None,
                        find_unused_parameters=True)
    optimizer = torch.optim.AdamW(model.optimizer_groups(train_config.lr_text, train_config.lr_rest),
                                  weight_decay=train_config.weight_decay)
    amp = device.startswith("cuda")
    gen = torch.Generator().manual_seed(train_config.seed)

    best_map, best_state, best_epoch, bad_epochs = -1.0, None, 0, 0
    history: list[dict[str, Any]] = []
    t_start = time.monotonic()
    steps_per_epoch = None
    for epoch in range(1, train_config.epochs + 1):
        model.train()
        batches = product_batches(train, train_config.batch_size, shuffle=True, seed=train_config.seed * 1000 + epoch,
                                  labelled_only=True)
        if dist:  # equal step counts on every rank, or DDP waits forever
            per = len(batches) // world
            batches = batches[rank * per : (rank + 1) * per]
        if max_steps is not None:
            batches = batches[:max_steps]
        steps_per_epoch = len(batches)
        sums: dict[str, float] = {}
        n_seen = 0
        t_epoch = time.monotonic()
        for step, idx in enumerate(batches, 1):
            if should_stop():
                raise StopRequested()
            batch = make_batch(train, idx, model, with_labels=True).to(device)
            pseudo = labeler.pseudo_labels(batch.review_index.cpu())
            keep = labeler.keep(batch.review_index.cpu()).to(device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
                out = ddp_model(batch, pseudo_labels=pseudo, generator=gen, subtask_keep=keep)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            if train_config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
            optimizer.step()
            # SSP-Label: bank this batch's features, move its pseudo-labels (epoch >= 2)
            ridx, f_g, f_s = batch.review_index.cpu(), out.f_g.detach().float().cpu(), out.f_s_star.detach().float().cpu()
            if dist:
                gathered = [None] * world
                dist.all_gather_object(gathered, (ridx, f_g, f_s))
                for r_i, g_i, s_i in gathered:
                    labeler.step(r_i, g_i, s_i, epoch)
            else:
                labeler.step(ridx, f_g, f_s, epoch)
            n_seen += len(idx)
            for k, v in out.loss_parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
            elapsed = time.monotonic() - t_epoch
            if rank == 0:
                done_steps = (epoch - 1) * steps_per_epoch + step
                total_steps = train_config.epochs * steps_per_epoch
                rate = done_steps / max(1e-9, time.monotonic() - t_start)
                on_event("step", epoch=epoch, step=step, steps=steps_per_epoch, loss=round(float(out.loss.detach()), 5),
                         samples_per_s=round(n_seen / max(elapsed, 1e-9), 2),
                         eta_s=round((total_steps - done_steps) / max(rate, 1e-9), 1))
            if deadline is not None and time.monotonic() > deadline:
                break
        labeler.refresh()  # anchors and covariances from the whole bank, once per epoch at least
        losses = {k: round(v / max(n_seen, 1), 5) for k, v in sums.items()}
        dev_metrics = evaluate_prepared(model, dev, device, amp) if rank == 0 or not dist else {}
        if dist:
            box = [dev_metrics]
            dist.broadcast_object_list(box, src=0)
            dev_metrics = box[0]
        record = {
            "epoch": epoch, "losses": losses, "dev": dev_metrics, "pseudo_labels": labeler.summary(),
            "samples_per_s": round(n_seen * world / max(time.monotonic() - t_epoch, 1e-9), 2),
        }
        history.append(record)
        elapsed_total = time.monotonic() - t_start
        eta = elapsed_total / epoch * (train_config.epochs - epoch)
        if rank == 0:
            on_event("epoch", **record, epochs=train_config.epochs, eta_s=round(eta, 1))
        dev_map = dev_metrics.get("MAP", -epoch * 1e-6)  # no dev labels: keep the last epoch
        if dev_map > best_map:
            best_map, best_epoch, bad_epochs = dev_map, epoch, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            bad_epochs += 1
        if train_config.early_stopping_patience and bad_epochs >= train_config.early_stopping_patience:
            if rank == 0:
                on_event("stage", stage="early-stop", message=f"no dev MAP gain for {bad_epochs} epochs")
            break
        if deadline is not None and time.monotonic() > deadline:
            if rank == 0:
                on_event("stage", stage="time-limit", message="--max-minutes reached")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if rank == 0:  # "absent" for a score's explanation: each F_c block's mean over the training reviews
        model.fusion_reference = block_means(model, train, train_config.batch_size, device, amp)
    info = {"history": history, "best_epoch": best_epoch, "train_reviews": len(train), "dev_reviews": len(dev),
            "seconds": round(time.monotonic() - t_start, 2), "pseudo_label_state": labeler.summary(),
            "disputed_targets": labeler.disputed_counts()}
    return model, info


# --------------------------------------------------------------------------- job


def run_train(db, opts: TrainOptions, on_event: EventFn = lambda *a, **k: None,
              should_stop: Callable[[], bool] = lambda: False) -> TrainResult:
    """The ``train`` command: read the store, train, checkpoint, register a ModelVersion."""
    from engine.checkpoint import card_configs, load_checkpoint, read_card, save_checkpoint
    from storage import repository as repo

    from .common import cache_for, code_version, models_dir, unique_model_name

    dist = _dist()
    rank = dist.get_rank() if dist else 0
    device = resolve_device(opts.device)
    if dist and device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    parent = None
    with db.begin() as s:
        if opts.from_model:
            parent = repo.get_model_version(s, opts.from_model)
        train_p = repo.load_catalogue(s, db.media_dir, splits=["train"])
        dev_p = repo.load_catalogue(s, db.media_dir, splits=["dev"])
        test_p = repo.load_catalogue(s, db.media_dir, splits=["test"])
        summary = repo.catalogue_summary(s)
    overrides = {"epochs": opts.epochs, "seed": opts.seed, **opts.overrides}
    model = None
    if parent is not None:  # its architecture is kept: build_config refuses a change before any weight is read
        base = card_configs(read_card(parent.checkpoint_path))
        config, train_config = build_config(None, device, opts.config_file, overrides, base=base,
                                            parent=f"parent model {parent.name!r}")
        model, base_cfg, _card = load_checkpoint(parent.checkpoint_path)
        if config.text_finetune_layers != base_cfg.text_finetune_layers and model.text_encoder is not None:
            model.text_encoder._set_trainable(config.text_finetune_layers)
            model.text_encoder.finetune_layers = config.text_finetune_layers
        model.config = config
    else:
        config, train_config = build_config(opts.recipe, device, opts.config_file, overrides)
    settings = flat_settings(config, train_config)  # what the run and the model version record
    run = None
    if rank == 0:
        with db.begin() as s:
            repo.mark_stale_runs(s, spare_live=True)  # runs left 'running' by a killed trainer
            run = repo.start_training_run(s, settings, parent_model_id=parent.id if parent else None)
    on_event("start", run_id=run.id if run else None, device=_device_name(device), config=settings,
             train_products=len(train_p), dev_products=len(dev_p), parent=parent.name if parent else None)
    deadline = time.monotonic() + opts.max_minutes * 60 if opts.max_minutes else None

    def emit(kind: str, **fields) -> None:
        if kind == "epoch" and run is not None:  # stored as it ends: a killed run keeps its finished epochs
            with db.begin() as s:
                repo.record_training_epoch(s, run.id, fields)
        on_event(kind, **fields)

    try:
        model, info = train_model(
            config, train_config, train_p, dev_p, device=device, cache=cache_for(db), model=model, on_event=emit,
            should_stop=should_stop, deadline=deadline, max_steps=opts.max_steps, refit_metadata=parent is None,
        )
    except StopRequested:
        if rank == 0 and run is not None:
            with db.begin() as s:
                repo.finish_training_run(s, run.id, "cancelled", log="stopped on request\n")
        on_event("cancelled", run_id=run.id if run else None)
        return TrainResult(None, None, {}, None, "cancelled")
    except BaseException as exc:
        if rank == 0 and run is not None:
            with db.begin() as s:
                repo.finish_training_run(s, run.id, "failed", log=f"{type(exc).__name__}: {exc}\n")
        raise
    if rank != 0:
        return TrainResult(None, None, {}, None, "done")

    on_event("stage", stage="evaluate", message="dev and test metrics of the best epoch")
    builder = FeatureBuilder(model, cache_for(db))
    amp = device.startswith("cuda")
    metrics = {
        "dev": evaluate_prepared(model, builder.build(dev_p, labelled_only=True), device, amp),
        "test": evaluate_prepared(model, builder.build(test_p, labelled_only=True), device, amp),
        "best_epoch": info["best_epoch"],
    }
    with db.begin() as s:
        name = opts.name or unique_model_name(s, "mmss")
        if any(m.name == name for m in repo.list_model_versions(s)):
            raise ValueError(f"a model version named {name!r} already exists; choose another --name")
    card = {
        "data": {**summary, "train_reviews": info["train_reviews"], "dev_reviews": info["dev_reviews"],
                 "disputed_targets": info["disputed_targets"]},
        "recipe": opts.recipe or ("from " + parent.name if parent else None), "metrics": metrics,
        "history": info["history"], "device": _device_name(device), "seconds": info["seconds"],
        "code_version": code_version(), "parent": parent.name if parent else None,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    target = models_dir(db) / name
    sha = save_checkpoint(target, model, config, card, train_config)
    with db.begin() as s:
        activate = opts.activate == "always" or (
            opts.activate == "if-better"
            and (parent is None or metrics["dev"].get("MAP", 0) > (parent.metrics.get("dev") or {}).get("MAP", -1))
        )
        mv = repo.register_model_version(
            s, name, str(target), sha, parent_id=parent.id if parent else None, config=settings,
            metrics=metrics, card={k: v for k, v in card.items() if k != "history"}, activate=activate,
        )
        repo.finish_training_run(s, run.id, "succeeded", metrics=metrics,
                                 model_version_id=mv.id)
    on_event("done", model=name, model_version_id=mv.id, metrics=metrics, checkpoint=str(target), activated=activate)
    return TrainResult(mv.id, name, metrics, str(target), "succeeded")


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"cuda ({torch.cuda.get_device_name(torch.device(device))})"
    return "cpu"


def install_stop_handlers() -> Callable[[], bool]:
    """SIGTERM / SIGINT set a flag that the loop checks between steps."""
    flag = {"stop": False}

    def handler(signum, frame):
        flag["stop"] = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread
            pass
    return lambda: flag["stop"]
