"""GPU part of the suite (run it on a machine with CUDA): one training step of the full
fine-tune (recipe gpu-full: the whole MiniLM trained, bf16 autocast, batch 32) next to a bare
MiniLM forward + backward + AdamW step on the same batch's texts, in the same run, in
rotation; peak GPU memory of each.

    .venv/bin/python -m benchmarks.gpu [--steps 10] [--rounds 3] [--json OUT] [--device cuda]

The MM-SS step is the loop body of engine/jobs/train.py: collate (tokenize review and
product texts), SSP-Label pseudo-labels, forward with the loss, backward, gradient clipping,
optimizer step, SSP-Label bank update. The bare step tokenizes the same review texts,
runs MiniLM, takes the mean of the token states as a stand-in loss, backward, AdamW step.
Both synchronise the device at the end of each step. ``--device cpu`` runs the same code on
the CPU (a smoke test of this script; its figures mean nothing). Asserts nothing.

Two more parts (benchmarks/gpu_device.sh runs all three on the GPU machine):

    .venv/bin/python -m benchmarks.gpu --ddp [--ddp-steps 15] [--json OUT]
    .venv/bin/python -m benchmarks.gpu --quality [--seeds 3] [--budget-s 300] [--json OUT]

``--ddp``: engine/jobs/train.py's ``train_model`` (its DDP code) in 2 processes on ONE device
(WORLD_SIZE=2, LOCAL_RANK=0 for both, as run_train would place them on a 1-GPU machine), after
the same loop in 1 process: NCCL first (the backend of engine/jobs ``_maybe_init_distributed``;
it may refuse two ranks on one GPU, and its error is recorded), then gloo with CUDA tensors.
Reports time per step, per epoch, and whether both ranks end with identical parameters.

``--quality``: recipe gpu-full (the whole MiniLM fine-tuned) on the importer's hash split of
../shared/data as benchmarks/quality.py measures it (train on train, epoch chosen on dev MAP,
test MAP once), with and without the metadata channel, one worker process per (seed, variant),
all running in parallel on the device, next to the same run's length / star-rating / random / metadata-only
baselines. Runs stop being started when ``--budget-s`` would be passed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def measure(device: str = "cuda", steps: int = 10, rounds: int = 3, batch_size: int = 32, n_reviews: int = 1500,
            max_tokens: int | None = None, data: Path | None = None) -> dict:
    import torch

    from benchmarks.common import find_data, import_folder, subset_catalogue
    from engine.jobs.cache import FeatureCache
    from engine.jobs.data import FeatureBuilder, make_batch, product_batches
    from engine.jobs.recipes import build_config
    from engine.model.mmss import MMSSModel
    from engine.pseudolabels import SSPLabeler
    from storage import open_database
    from storage import repository as repo

    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this part on a GPU machine (or --device cpu for a smoke test)")
    tmp = Path(tempfile.mkdtemp(prefix="rs-bench-gpu-"))
    subset_catalogue(tmp / "cat", n_reviews, data or find_data())
    import_folder(tmp / "gpu.db", tmp / "cat")
    db = open_database(str(tmp / "gpu.db"))
    with db.begin() as s:
        products = repo.load_catalogue(s, db.media_dir, use_corrections=False)
    db.dispose()

    overrides = {"batch_size": batch_size}
    if max_tokens:
        overrides["max_tokens"] = max_tokens
    cfg, train_cfg = build_config("gpu-full", "cuda", overrides=overrides)
    torch.manual_seed(0)
    model = MMSSModel(cfg).to(device)
    builder = FeatureBuilder(model, FeatureCache(None))
    train = builder.build(products, labelled_only=True, with_index=True)
    from engine.metadata import fit_normalizer
    import numpy as np

    model.set_metadata_normalization(*fit_normalizer(np.stack([e.metadata for e in train.examples])))
    batches = [b for b in product_batches(train, batch_size, shuffle=True, seed=0, labelled_only=True) if len(b) == batch_size]
    if not batches:
        batches = product_batches(train, batch_size, shuffle=True, seed=0, labelled_only=True)
    labeler = SSPLabeler.from_config([e.label for e in train.examples], cfg, train_cfg)
    opt = torch.optim.AdamW(model.optimizer_groups(train_cfg.lr_text, train_cfg.lr_rest), weight_decay=train_cfg.weight_decay)
    gen = torch.Generator().manual_seed(0)
    model.train()

    from transformers import AutoModel

    from engine.model.text import resolve_encoder_path

    bare = AutoModel.from_pretrained(str(resolve_encoder_path(cfg.text_encoder)), local_files_only=True).to(device)
    bare.train()
    bare_opt = torch.optim.AdamW(bare.parameters(), lr=train_cfg.lr_text)
    tok = model.text_encoder.tokenizer
    it = {"mmss": 0, "bare": 0}

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def mmss_step():
        idx = batches[it["mmss"] % len(batches)]
        it["mmss"] += 1
        batch = make_batch(train, idx, model, with_labels=True).to(device)
        pseudo = labeler.pseudo_labels(batch.review_index.cpu())
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
            out = model(batch, pseudo_labels=pseudo, generator=gen)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        if train_cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        opt.step()
        labeler.step(batch.review_index.cpu(), out.f_g.detach().float().cpu(), out.f_s_star.detach().float().cpu(), 1)
        sync()

    def bare_step():
        idx = batches[it["bare"] % len(batches)]
        it["bare"] += 1
        enc = tok([train.texts[i] for i in idx], padding="longest", truncation=True, max_length=cfg.max_tokens,
                  return_tensors="pt")
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
            h = bare(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device)).last_hidden_state
            loss = h.float().mean()
        bare_opt.zero_grad(set_to_none=True)
        loss.backward()
        bare_opt.step()
        sync()

    fns = {"mmss": mmss_step, "bare": bare_step}
    for fn in fns.values():  # warm-up (kernels, allocator, cuDNN/cuBLAS heuristics)
        for _ in range(3):
            fn()
    per_step: dict[str, list[float]] = {k: [] for k in fns}
    peak: dict[str, float] = {}
    for r in range(rounds):
        for name in (["mmss", "bare"] if r % 2 == 0 else ["bare", "mmss"]):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            for _ in range(steps):
                fns[name]()
            per_step[name].append((time.perf_counter() - t0) / steps)
            if cuda:
                peak[name] = max(peak.get(name, 0.0), torch.cuda.max_memory_allocated() / 2**20)
    med = {k: statistics.median(v) for k, v in per_step.items()}
    out = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu (smoke test)",
        "torch": torch.__version__, "batch_size": batch_size, "max_tokens": cfg.max_tokens, "steps": steps,
        "rounds": rounds, "mmss_step_s": med["mmss"], "bare_step_s": med["bare"],
        "mmss_samples_per_s": batch_size / med["mmss"], "bare_samples_per_s": batch_size / med["bare"],
        "ratio": med["bare"] / med["mmss"], "per_step": per_step,
        "peak_mb": peak or None,
        "params": model.count_parameters(),
    }
    return out



# --------------------------------------------------------------------------- helpers


def _data_dir(arg: str | None) -> Path:
    """--data, else $REVIEWSCOPE_BENCH_DATA, else ../shared/data (benchmarks.common.find_data)."""
    from benchmarks.common import find_data

    value = arg or os.environ.get("REVIEWSCOPE_BENCH_DATA")
    if value:
        path = Path(value)
        if not (path / "reviews.jsonl").is_file():
            raise SystemExit(f"{path}/reviews.jsonl not found")
        return path.resolve()
    return find_data()


def _env_info() -> dict:
    import platform

    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except Exception:  # pragma: no cover - reported, not needed
        pass
    try:
        info["nccl"] = ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else None
    except Exception as exc:
        info["nccl"] = f"unknown ({exc})"
    return info


def _write_json(path: str | Path | None, obj: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(obj, indent=1, default=str))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def _launch(args: list[str], envs: list[dict], logs: list[Path], timeout: float) -> tuple[list[int | None], float]:
    """Start one ``python -m benchmarks.gpu ARGS`` per env (stdout+stderr to its log), wait for
    all with one timeout; processes still running then are killed (return code None)."""
    import subprocess

    from benchmarks.common import ROOT

    t0 = time.perf_counter()
    procs = []
    for e, log in zip(envs, logs):
        env = dict(os.environ)
        env.update(e)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        fh = open(log, "w")
        procs.append((subprocess.Popen([sys.executable, "-m", "benchmarks.gpu", *args], cwd=ROOT, env=env,
                                       stdout=fh, stderr=subprocess.STDOUT), fh))
    # wait for all; once one has failed, the others get a short grace (a rank left alone in a
    # collective would wait for its peer until the process-group timeout)
    failed_at = None
    while True:
        codes: list[int | None] = [proc.poll() for proc, _ in procs]
        now = time.perf_counter()
        if all(c is not None for c in codes) or now - t0 > timeout:
            break
        if failed_at is None and any(c not in (None, 0) for c in codes):
            failed_at = now
        if failed_at is not None and now - failed_at > 15:
            break
        time.sleep(0.2)
    for (proc, fh), code in zip(procs, codes):
        if code is None:
            proc.kill()
            proc.wait()
        fh.close()
    return codes, time.perf_counter() - t0


def _load_split_catalogue(db_path: Path, splits=("train", "dev", "test")) -> dict:
    from storage import open_database
    from storage import repository as repo

    db = open_database(str(db_path))
    try:
        with db.begin() as s:
            return {sp: repo.load_catalogue(s, db.media_dir, splits=[sp], use_corrections=False) for sp in splits}
    finally:
        db.dispose()


# --------------------------------------------------------------------------- DDP


def _ddp_worker(args) -> int:
    """One rank (or the 1-process reference) of the DDP part: train_model on the catalogue of
    --db, gpu-full recipe, --epochs epochs of at most --ddp-steps steps; writes its final
    parameters (rank<R>.safetensors) and a JSON of timings into --workdir."""
    import datetime as dt

    import torch

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    work = Path(args.workdir)
    res: dict = {"rank": rank, "world": world, "requested_backend": args.backend, "stage": "init"}
    out_json = work / f"rank{rank}.json"
    _write_json(out_json, res)
    device = args.device
    if world > 1:
        import torch.distributed as dist

        t0 = time.perf_counter()
        if args.backend == "engine":  # exactly the engine's choice: nccl on CUDA, gloo on the CPU
            from engine.jobs import _maybe_init_distributed

            _maybe_init_distributed(device)
        else:
            dist.init_process_group(backend=args.backend, timeout=dt.timedelta(seconds=args.pg_timeout))
        res["backend"] = dist.get_backend()
        res["init_s"] = time.perf_counter() - t0
    if device.startswith("cuda"):  # as run_train places a rank; LOCAL_RANK is 0 for both ranks on one GPU
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    res["stage"] = "data"
    _write_json(out_json, res)
    cat = _load_split_catalogue(Path(args.db), ("train", "dev"))

    from engine.jobs.cache import FeatureCache
    from engine.jobs.recipes import build_config
    from engine.jobs.train import train_model

    cfg, train_cfg = build_config("gpu-full", "cuda", overrides={"epochs": args.epochs, "seed": 0, "batch_size": args.batch,
                                                      "max_tokens": args.max_tokens or None})
    stamps: list[float] = []
    epochs: list[dict] = []

    def on_event(name, **fields):
        if name == "step":
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())
        elif name == "epoch":
            epochs.append({"epoch": fields["epoch"], "dev": fields.get("dev"), "samples_per_s": fields.get("samples_per_s"),
                           "losses": fields.get("losses")})

    res["stage"] = "train"
    _write_json(out_json, res)
    t0 = time.perf_counter()
    model, info = train_model(cfg, train_cfg, cat["train"], cat["dev"], device=device, cache=FeatureCache(None), on_event=on_event,
                              max_steps=args.ddp_steps)
    res["train_model_s"] = time.perf_counter() - t0
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    skip = min(3, max(0, len(steps) - 3))  # first steps: kernels, allocator, communicator set-up
    res.update({
        "stage": "done", "device": device, "steps_timed": len(steps) - skip,
        "step_s_median": statistics.median(steps[skip:]) if steps[skip:] else None,
        "step_s_all": steps, "steps_wall_s": (stamps[-1] - stamps[0]) if len(stamps) > 1 else None,
        "epochs": epochs, "epoch_s": info["seconds"], "train_reviews": info["train_reviews"],
        "best_epoch": info["best_epoch"], "batch_size": train_cfg.batch_size,
        "peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None,
    })
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(work / f"rank{rank}.safetensors"))
    _write_json(out_json, res)
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0


def _compare_ranks(work: Path, world: int) -> dict:
    from safetensors.torch import load_file

    sds = [load_file(str(work / f"rank{r}.safetensors")) for r in range(world)]
    worst, worst_name, n_diff = 0.0, None, 0
    for k, v in sds[0].items():
        for other in sds[1:]:
            d = (v.double() - other[k].double()).abs().max().item() if v.numel() else 0.0
            if d > 0:
                n_diff += 1
            if d > worst:
                worst, worst_name = d, k
    return {"identical": n_diff == 0, "tensors": len(sds[0]), "tensors_differing": n_diff, "max_abs_diff": worst,
            "max_abs_diff_tensor": worst_name}


def ddp_measure(device: str = "cuda", n_reviews: int = 3000, steps: int = 15, epochs: int = 1, data: Path | None = None,
                backends: tuple[str, ...] = ("engine", "gloo"), always_all: bool = False, attempt_timeout: float = 90,
                pg_timeout: float = 120, batch_size: int = 32, max_tokens: int | None = None,
                json_path: str | None = None) -> dict:
    """The DDP part (see the module docstring). ``backends`` are tried in order, the next one
    only when the previous failed (all of them with ``always_all``); "engine" = the engine's
    own _maybe_init_distributed (NCCL on CUDA). ``json_path`` is rewritten after each attempt."""
    from benchmarks.common import import_folder, subset_catalogue

    tmp = Path(tempfile.mkdtemp(prefix="rs-bench-ddp-"))
    subset_catalogue(tmp / "cat", n_reviews, data or _data_dir(None))
    import_folder(tmp / "ddp.db", tmp / "cat")
    common = ["--ddp-worker", "--db", str(tmp / "ddp.db"), "--device", device, "--ddp-steps", str(steps),
              "--epochs", str(epochs), "--pg-timeout", str(pg_timeout),
              "--batch", str(batch_size), "--max-tokens", str(max_tokens or 0)]
    out: dict = {"env": _env_info(), "reviews_subset": n_reviews, "max_steps_per_epoch": steps, "epochs": epochs,
                 "note": "train_model of engine/jobs/train.py, recipe gpu-full; in DDP each rank runs its half of the "
                         "epoch's batches (capped at max_steps), so a DDP step covers 2 batches"}

    def attempt(name: str, world: int, backend: str) -> dict:
        work = tmp / name
        work.mkdir()
        port = str(_free_port())
        envs = [{"RANK": str(r), "WORLD_SIZE": str(world), "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": str(world),
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "NCCL_DEBUG": "WARN", "OMP_NUM_THREADS": "4"}
                for r in range(world)]
        logs = [work / f"rank{r}.log" for r in range(world)]
        print(f"[ddp] {name}: {world} process(es), backend {backend} ...", flush=True)
        codes, wall = _launch([*common, "--workdir", str(work), "--backend", backend], envs, logs, attempt_timeout)
        r: dict = {"world": world, "requested_backend": backend, "return_codes": codes, "wall_s": wall,
                   "timed_out": any(c is None for c in codes)}
        ranks = []
        for i in range(world):
            try:
                ranks.append(json.loads((work / f"rank{i}.json").read_text()))
            except (OSError, ValueError):
                ranks.append(None)
        r["ranks"] = ranks
        r["ok"] = all(c == 0 for c in codes) and all(x and x.get("stage") == "done" for x in ranks)
        if not r["ok"]:
            r["log_tails"] = [_tail(log, 3000) for log in logs]
            errs = [ln for log in logs for ln in _tail(log, 20000).splitlines()
                    if any(w in ln for w in ("Error", "error", "NCCL WARN", "Duplicate", "Exception"))]
            r["error_lines"] = errs[-12:]
            print(f"[ddp] {name} FAILED (codes {codes}): " + " | ".join(errs[-4:]), flush=True)
        else:
            if world > 1:
                r["parameters"] = _compare_ranks(work, world)
            r0 = ranks[0]
            print(f"[ddp] {name}: backend {r0.get('backend', '-')}, step {1000 * (r0['step_s_median'] or float('nan')):.1f} ms "
                  f"(median of {r0['steps_timed']}), train_model {r0['train_model_s']:.1f}s, epoch {r0['epoch_s']:.1f}s, "
                  f"wall {wall:.1f}s" + (f", ranks identical: {r['parameters']['identical']} "
                                         f"(max |diff| {r['parameters']['max_abs_diff']:.3g})" if world > 1 else ""), flush=True)
        return r

    out["ddp"] = {}
    out["single"] = attempt("single", 1, "none")
    _write_json(json_path, out)
    for be in backends:
        res = attempt(f"ddp-{be}", 2, be)
        out["ddp"][be] = res
        _write_json(json_path, out)
        if res["ok"] and not always_all:
            break
    ran = [be for be, r in out["ddp"].items() if r["ok"]]
    out["backend_that_ran"] = ran[0] if ran else None
    if ran and out["single"]["ok"]:
        s1 = out["single"]["ranks"][0]
        s2 = out["ddp"][ran[0]]["ranks"][0]
        if s1["step_s_median"] and s2["step_s_median"]:
            out["ddp_step_over_single_step"] = s2["step_s_median"] / s1["step_s_median"]
            out["ddp_throughput_over_single"] = 2 * s1["step_s_median"] / s2["step_s_median"]
    return out


# --------------------------------------------------------------------------- quality

QUALITY_VARIANTS = {
    "MM-SS gpu-full + metadata": {},
    "MM-SS gpu-full paper-pure (no metadata)": {"use_metadata": False},
}


def _score(prepared, scores) -> dict:
    from benchmarks.quality import per_source_map
    from engine.jobs.data import grouped
    from engine.metrics import evaluate_rankings

    s, y = grouped(prepared, scores)
    return {"overall": evaluate_rankings(s, y), "per_source_MAP": per_source_map(prepared, scores)}


def _quality_worker(args) -> int:
    """One seed of the quality part: each --variants entry (QUALITY_VARIANTS keys, in order) is
    trained with recipe gpu-full and scored on test; results appended to --json as they end."""
    import numpy as np  # noqa: F401
    import torch

    from engine.jobs.cache import FeatureCache
    from engine.jobs.data import FeatureBuilder, predict
    from engine.jobs.recipes import build_config
    from engine.jobs.train import train_model

    deadline = time.monotonic() + args.budget_s
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "4"))))
    cat = _load_split_catalogue(Path(args.db))
    device = args.device
    amp = device.startswith("cuda")
    res: dict = {"seed": args.seed, "runs": []}
    last = None
    for name in args.variants:
        left = deadline - time.monotonic()
        if last is not None and left < 1.15 * last:
            res["runs"].append({"variant": name, "skipped": f"budget: {left:.0f}s left, last run took {last:.0f}s"})
            _write_json(args.json, res)
            continue
        overrides = {"seed": args.seed, "batch_size": args.batch, "max_tokens": args.max_tokens or None,
                     **QUALITY_VARIANTS[name]}
        if args.epochs:
            overrides["epochs"] = args.epochs
        cfg, train_cfg = build_config("gpu-full", "cuda", overrides=overrides)
        cache = FeatureCache(None)
        t0 = time.monotonic()
        print(f"[quality seed {args.seed}] {name}: training ({train_cfg.epochs} epochs max) ...", flush=True)
        model, info = train_model(cfg, train_cfg, cat["train"], cat["dev"], device=device, cache=cache, deadline=deadline,
                                  max_steps=args.max_steps or None,
                                  on_event=lambda n, **f: print(f"[quality seed {args.seed}] {name}: epoch {f['epoch']} "
                                                                f"dev {f['dev']} {f['samples_per_s']} reviews/s", flush=True)
                                  if n == "epoch" else None)
        train_s = time.monotonic() - t0
        truncated = time.monotonic() > deadline
        prepared = FeatureBuilder(model, cache).build(cat["test"], labelled_only=True)
        scores, _subs = predict(model, prepared, device=device, amp=amp)
        run = {"variant": name, "seed": args.seed, **_score(prepared, scores), "train_s": train_s,
               "total_s": time.monotonic() - t0, "best_epoch": info["best_epoch"], "epochs_run": len(info["history"]),
               "truncated_by_budget": truncated,
               "dev_history": [h["dev"] for h in info["history"]],
               "train_loss_history": [h["losses"].get("total") for h in info["history"]],
               "train_reviews": info["train_reviews"], "config": {**cfg.to_dict(), **train_cfg.to_dict()}}
        res["runs"].append(run)
        _write_json(args.json, res)
        last = run["total_s"]
        print(f"[quality seed {args.seed}] {name}: test MAP {run['overall']['MAP']:.2f} "
              f"NDCG@3 {run['overall']['NDCG@3']:.2f} (best epoch {run['best_epoch']}, {run['total_s']:.0f}s)", flush=True)
        del model
        if amp:
            torch.cuda.empty_cache()
    return 0


def quality_measure(device: str = "cuda", seeds: int = 3, budget_s: float = 300, data: Path | None = None,
                    variants: list[str] | None = None, parallel: int | None = None, epochs: int | None = None,
                    max_steps: int | None = None, json_path: str | None = None, batch_size: int = 32,
                    max_tokens: int | None = None) -> dict:
    """The quality part (see the module docstring); ``json_path`` is rewritten as results come."""
    import random

    import numpy as np

    from benchmarks.quality import mean_std, metadata_ranker
    from engine.jobs.cache import FeatureCache
    from engine.jobs.data import FeatureBuilder
    from engine.jobs.recipes import build_config
    from engine.model.mmss import MMSSModel
    from storage import open_database
    from storage.importers import import_path

    t_start = time.monotonic()
    variants = variants or list(QUALITY_VARIANTS)
    data = data or _data_dir(None)
    tmp = Path(tempfile.mkdtemp(prefix="rs-bench-quality-"))
    db = open_database(str(tmp / "quality.db"))
    try:
        import_path(db, data)
    finally:
        db.dispose()
    cat = _load_split_catalogue(tmp / "quality.db")
    out: dict = {"env": _env_info(), "data": str(data), "recipe": "gpu-full", "device": device, "seeds_requested": seeds,
                 "budget_s": budget_s, "note": "importer's hash split 64/16/20 of the whole data; train on train, epoch "
                 "chosen on dev MAP, test read once a run; metrics as benchmarks/quality.py (threshold 1, 0-vote "
                 "reviews left out); the seeds' runs train in parallel processes on the one device, so train_s is "
                 "not a solo timing", "baselines": {}, "runs": [], "summary": {}}

    # baselines (same run, same split, same metadata features as quality.py)
    torch_probe = MMSSModel(build_config("gpu-full", "cpu")[0])
    fb = FeatureBuilder(torch_probe, FeatureCache(None))
    train_p, dev_p, test_p = (fb.build(cat[sp], labelled_only=True) for sp in ("train", "dev", "test"))
    del torch_probe, fb
    out["test"] = {"products": len(set(test_p.product_ids)), "labelled_reviews": len(test_p),
                   "train_labelled_reviews": len(train_p), "dev_labelled_reviews": len(dev_p)}
    out["baselines"]["review length"] = [_score(test_p, np.array([len(t) for t in test_p.texts], dtype=float))]
    out["baselines"]["star rating"] = [_score(test_p, np.array([e.metadata[3] for e in test_p.examples], dtype=float))]
    for seed in range(max(seeds, 1)):
        rng = random.Random(seed)
        out["baselines"].setdefault("random", []).append(_score(test_p, np.array([rng.random() for _ in test_p.texts])))
        out["baselines"].setdefault("metadata-only linear ranker", []).append(
            _score(test_p, metadata_ranker(train_p, dev_p, test_p, seed)))
    for name, rows in out["baselines"].items():
        m, s = mean_std([r["overall"]["MAP"] for r in rows])
        print(f"[quality] baseline {name}: test MAP {m:.2f} ± {s:.2f} ({len(rows)} run(s))", flush=True)
    _write_json(json_path, out)

    # one worker process per (seed, variant), all in parallel by default (the steps are launch-bound:
    # processes sharing the device overlap their CPU work); when fewer run at a time, the jobs go
    # seed by seed, the variants alternating, so a budget cut leaves the variants' counts balanced
    import subprocess

    from benchmarks.common import ROOT

    jobs = [(seed, name) for seed in range(seeds) for name in variants]
    left = budget_s - (time.monotonic() - t_start)
    n_par = max(1, parallel or len(jobs))
    ncpu = os.cpu_count() or 2
    threads = max(1, min(4, ncpu // min(n_par, max(1, len(jobs)))))
    jsons = [tmp / f"job{j}.json" for j in range(len(jobs))]
    logs = [tmp / f"job{j}.log" for j in range(len(jobs))]
    print(f"[quality] {len(jobs)} run(s) ({seeds} seed(s) x {len(variants)} variant(s)), {n_par} at a time, "
          f"{threads} CPU threads each, budget {left:.0f}s ...", flush=True)
    codes: list = []
    for i in range(0, len(jobs), n_par):
        chunk = range(i, min(i + n_par, len(jobs)))
        left = budget_s - (time.monotonic() - t_start)
        if left < 30:
            codes += ["not started (budget)"] * len(chunk)
            continue
        procs = []
        for j in chunk:
            seed, name = jobs[j]
            env = dict(os.environ)
            env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"})
            env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            argv = ["--quality-worker", "--db", str(tmp / "quality.db"), "--device", device, "--seed", str(seed),
                    "--json", str(jsons[j]), "--budget-s", str(max(10.0, left - 25)), "--epochs", str(epochs or 0),
                    "--max-steps", str(max_steps or 0), "--batch", str(batch_size), "--max-tokens", str(max_tokens or 0),
                    "--variants", name]
            fh = open(logs[j], "w")
            procs.append((subprocess.Popen([sys.executable, "-u", "-m", "benchmarks.gpu", *argv], cwd=ROOT, env=env,
                                           stdout=fh, stderr=subprocess.STDOUT), fh))
        for proc, fh in procs:
            wait = max(0.1, budget_s - (time.monotonic() - t_start))
            try:
                codes.append(proc.wait(timeout=wait))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes.append("killed (budget)")
            fh.close()
    out["worker_return_codes"] = codes
    for j, (seed, name) in enumerate(jobs):
        try:
            out["runs"] += [r for r in json.loads(jsons[j].read_text())["runs"]]
        except (OSError, ValueError):
            pass
        log = _tail(logs[j], 200000)
        print(f"----- seed {seed}, {name} (return code {codes[j] if j < len(codes) else '?'}) -----\n"
              + "\n".join(log.splitlines()[-25:]), flush=True)
    for name in variants:
        rows = [r for r in out["runs"] if r.get("variant") == name and "overall" in r]
        if rows:
            summ = {}
            for k in ("MAP", "NDCG@3", "NDCG@5"):
                m, s = mean_std([r["overall"][k] for r in rows])
                summ[k] = {"mean": m, "std": s}
            summ["runs"] = len(rows)
            summ["seeds"] = [r["seed"] for r in rows]
            summ["best_epochs"] = [r["best_epoch"] for r in rows]
            summ["train_s"] = [round(r["train_s"], 1) for r in rows]
            out["summary"][name] = summ
    for name, rows in out["baselines"].items():
        summ = {}
        for k in ("MAP", "NDCG@3", "NDCG@5"):
            m, s = mean_std([r["overall"][k] for r in rows])
            summ[k] = {"mean": m, "std": s}
        summ["runs"] = len(rows)
        out["summary"][name] = summ
    out["wall_s"] = time.monotonic() - t_start
    print("[quality] test split: {products} products, {labelled_reviews} labelled reviews".format(**out["test"]), flush=True)
    print(f"[quality] {'ranking':<42} {'MAP':>13} {'NDCG@3':>13} {'NDCG@5':>13} runs", flush=True)
    for name, summ in out["summary"].items():
        cells = " ".join(f"{summ[k]['mean']:6.2f} ± {summ[k]['std']:4.2f}" for k in ("MAP", "NDCG@3", "NDCG@5"))
        print(f"[quality] {name:<42} {cells} {summ['runs']}", flush=True)
    _write_json(json_path, out)
    return out


# --------------------------------------------------------------------------- CLI


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reviews", type=int, default=1500, help="reviews of the subset (step part; --ddp: 3000 if left at 1500)")
    ap.add_argument("--max-tokens", type=int, default=0)
    ap.add_argument("--data", help="catalogue folder with products.jsonl + reviews.jsonl "
                                   "(default: $REVIEWSCOPE_BENCH_DATA, else ../shared/data)")
    ap.add_argument("--json")
    ap.add_argument("--ddp", action="store_true", help="the 2-process DDP part instead of the step part")
    ap.add_argument("--ddp-steps", type=int, default=15, help="--ddp: steps per epoch at most (each rank)")
    ap.add_argument("--ddp-backends", default="engine,gloo",
                    help="--ddp: backends tried in order until one runs ('engine' = the engine's own choice, NCCL on CUDA)")
    ap.add_argument("--ddp-all", action="store_true", help="--ddp: try every backend even after one ran")
    ap.add_argument("--attempt-timeout", type=float, default=90, help="--ddp: seconds for each attempt's processes")
    ap.add_argument("--quality", action="store_true", help="the gpu-full quality part instead of the step part")
    ap.add_argument("--seeds", type=int, default=3, help="--quality: seeds")
    ap.add_argument("--parallel", type=int, default=0, help="--quality: worker processes at a time (default: all runs)")
    ap.add_argument("--budget-s", type=float, default=300, help="--quality: no run starts or goes on past this")
    ap.add_argument("--variants", nargs="*", default=None, help=f"--quality: of {list(QUALITY_VARIANTS)}")
    ap.add_argument("--epochs", type=int, default=0, help="--quality/--ddp: epochs (default: recipe's 4 / 1 for --ddp)")
    ap.add_argument("--max-steps", type=int, default=0, help="--quality: steps per epoch at most (smoke tests)")
    # internal: worker processes
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--quality-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--backend", default="engine", help=argparse.SUPPRESS)
    ap.add_argument("--pg-timeout", type=float, default=120, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.ddp_worker:
        args.epochs = args.epochs or 1
        return _ddp_worker(args)
    if args.quality_worker:
        return _quality_worker(args)
    data = _data_dir(args.data)
    if args.ddp:
        out = ddp_measure(args.device, 3000 if args.reviews == 1500 else args.reviews, args.ddp_steps, args.epochs or 1,
                          data, tuple(b for b in args.ddp_backends.split(",") if b), args.ddp_all, args.attempt_timeout,
                          batch_size=args.batch, max_tokens=args.max_tokens or None, json_path=args.json)
        _write_json(args.json, out)
        print(f"[ddp] backend that ran: {out['backend_that_ran']}; DDP step / 1-process step: "
              f"{out.get('ddp_step_over_single_step')}; throughput ratio: {out.get('ddp_throughput_over_single')}")
        return 0
    if args.quality:
        quality_measure(args.device, args.seeds, args.budget_s, data, args.variants, args.parallel or None,
                        args.epochs or None, args.max_steps or None, args.json, args.batch, args.max_tokens or None)
        return 0
    out = measure(args.device, args.steps, args.rounds, args.batch, args.reviews, args.max_tokens or None, data)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"{out['device']}: MM-SS full fine-tune step {out['mmss_step_s'] * 1000:.1f} ms "
          f"({out['mmss_samples_per_s']:.0f} samples/s), bare MiniLM fwd+bwd {out['bare_step_s'] * 1000:.1f} ms "
          f"({out['bare_samples_per_s']:.0f} samples/s): ratio {out['ratio']:.2f}x; peak GPU memory {out['peak_mb']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
