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
            max_tokens: int | None = None) -> dict:
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
    subset_catalogue(tmp / "cat", n_reviews, find_data())
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reviews", type=int, default=1500)
    ap.add_argument("--max-tokens", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    out = measure(args.device, args.steps, args.rounds, args.batch, args.reviews, args.max_tokens or None)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"{out['device']}: MM-SS full fine-tune step {out['mmss_step_s'] * 1000:.1f} ms "
          f"({out['mmss_samples_per_s']:.0f} samples/s), bare MiniLM fwd+bwd {out['bare_step_s'] * 1000:.1f} ms "
          f"({out['bare_samples_per_s']:.0f} samples/s): ratio {out['ratio']:.2f}x; peak GPU memory {out['peak_mb']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
