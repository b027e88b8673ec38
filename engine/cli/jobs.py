"""``train``, ``score``, ``evaluate``: the commands of :mod:`engine.jobs` (the work is there;
here, arguments, progress output and exit codes). torch is imported when a command runs."""
from __future__ import annotations

import argparse
import json
import os
import sys

from engine import events

from .db import add_common, open_db


def register(sub) -> None:
    p = sub.add_parser("train", help="train MM-SS with SSP-Label on the train split (dev MAP selects the epoch)")
    p.add_argument("--from-model", metavar="NAME", help="start from this model version (becomes the parent)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--config", metavar="FILE.json",
                   help="MMSSConfig / TrainConfig fields as JSON (with --from-model: no architecture field)")
    p.add_argument("--recipe", choices=["cpu-quick", "gpu-full"], help="default: cpu-quick on CPU, gpu-full on CUDA")
    p.add_argument("--name", help="name of the new model version (default mmss-vN)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--max-minutes", type=float, help="stop after this long and keep the best epoch so far")
    p.add_argument("--activate", default="never", choices=["never", "always", "if-better"],
                   help="activate the new model (if-better: when its dev MAP beats the parent's)")
    p.add_argument("--max-steps", type=int, help=argparse.SUPPRESS)
    add_common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("score", help="store score + five sub-scores of every review under a model")
    p.add_argument("--model", metavar="NAME", help="default: the active model")
    p.add_argument("--all", action="store_true", help="rescore reviews that already have a prediction")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=64)
    add_common(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("evaluate", help="MAP / NDCG@3 / NDCG@5 on a split, overall and per category")
    p.add_argument("--model", metavar="NAME", help="default: the active model")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--baselines", action="store_true", help="also the review-length and random rankings")
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    add_common(p)
    p.set_defaults(func=cmd_evaluate)


def _emitter(args):
    """A job's ``on_event``: JSON lines with ``--json-progress``, else lines and a bar on stderr."""
    from engine.progress import Progress

    prog = Progress(args.command, json_lines=args.json_progress)

    def on_event(name, **fields):
        if args.command in events.COMMANDS:
            events.encode(args.command, name, fields)  # what the app will read: validated here first
        if args.json_progress:
            prog.event(name, **fields)
        elif name == "epoch":
            dev = fields.get("dev") or {}
            print(f"epoch {fields['epoch']}/{fields['epochs']}: loss {fields['losses'].get('total', float('nan')):.4f}"
                  f"  dev MAP {dev.get('MAP', float('nan')):.2f}  N@3 {dev.get('NDCG@3', float('nan')):.2f}"
                  f"  {fields['samples_per_s']:.1f} reviews/s  ETA {fields['eta_s']:.0f}s", file=sys.stderr, flush=True)
        elif name in ("stage", "start", "cancelled"):
            print(f"[{name}] " + ", ".join(f"{k}={v}" for k, v in fields.items() if k != "config"), file=sys.stderr, flush=True)
        elif name in ("progress", "features"):
            prog.update(fields.get("done", 0), fields.get("total"))
    return on_event


def cmd_train(args) -> int:
    from engine.jobs.train import TrainOptions, install_stop_handlers, run_train

    should_stop = install_stop_handlers()
    distributed = _maybe_init_distributed(args.device)
    try:
        db = open_db(args)
        opts = TrainOptions(from_model=args.from_model, epochs=args.epochs, seed=args.seed, config_file=args.config,
                            recipe=args.recipe, name=args.name, device=args.device, max_minutes=args.max_minutes,
                            activate=args.activate, max_steps=args.max_steps)
        res = run_train(db, opts, on_event=_emitter(args), should_stop=should_stop)
    finally:
        if distributed:
            import torch.distributed as dist

            dist.destroy_process_group()
    if res.status == "cancelled":
        return events.EXIT_CANCELLED
    if res.name and not args.json_progress:
        print(json.dumps({"model": res.name, "metrics": res.metrics, "checkpoint": res.checkpoint}, indent=1))
    return 0


def _maybe_init_distributed(device: str) -> bool:
    """Under torchrun (WORLD_SIZE > 1): join the process group (nccl on CUDA, else gloo)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    import torch
    import torch.distributed as dist

    backend = "nccl" if (device in ("auto", "cuda") and torch.cuda.is_available()) else "gloo"
    dist.init_process_group(backend=backend)
    return True


def cmd_score(args) -> int:
    from engine.jobs.score import run_score
    from engine.jobs.train import install_stop_handlers

    should_stop = install_stop_handlers()
    db = open_db(args)
    res = run_score(db, args.model, only_missing=not args.all, device=args.device, batch_size=args.batch_size,
                    on_event=_emitter(args), should_stop=should_stop)
    if not args.json_progress:
        print(f"scored {res.scored} reviews with {res.model} in {res.seconds:.1f}s "
              f"(feature cache: {res.cache_hits} hits, {res.cache_misses} misses)")
    return 0


def cmd_evaluate(args) -> int:
    from engine.jobs.evaluate import run_evaluate

    db = open_db(args)
    out = run_evaluate(db, args.model, args.split, baselines=args.baselines, device=args.device)
    if args.json or args.json_progress:
        print(json.dumps(out, indent=None if args.json_progress else 1))
        return 0
    print(f"{out['model']} on {out['split']} ({out['reviews']} labelled reviews)")
    print(f"{'ranking':<16} {'scope':<48} {'MAP':>6} {'N@3':>6} {'N@5':>6} {'products':>8}")
    for name, r in out["rankings"].items():
        rows = [("overall", r["overall"])] + list(r["per_category"].items())
        for scope, m in rows:
            if m:
                print(f"{name:<16} {scope[:48]:<48} {m['MAP']:6.1f} {m['NDCG@3']:6.1f} {m['NDCG@5']:6.1f} {m['products']:8d}")
    return 0
