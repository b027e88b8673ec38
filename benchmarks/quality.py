"""Quality report on ../shared/data: MM-SS variants against simple rankings, 5 seeds.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.quality [--seeds 5] [--data ../shared/data]
Writes docs/quality.md (and docs/quality.json). The split is the importer's stable hash of the
product id (64/16/20 train/dev/test): models are trained on train, the epoch is chosen on dev
MAP, and the test split is read once per reported figure. Metrics as MMSS.md (threshold 1,
reviews with 0 votes left out).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

FULL = "MM-SS + metadata (default CPU recipe)"
NO_TEXT = "same model, texts blanked (metadata only)"
VARIANTS = {
    FULL: {},
    NO_TEXT: {},  # the same config; every product and review text is read as the empty text
    "MM-SS paper-pure (no metadata)": {"use_metadata": False},
    "MM-SS text-only": {"text_only": True},
    "MM-SS w/o module (d)": {"no_module_d": True},
    "MM-SS w/o module (b)": {"no_module_b": True},
}


@contextlib.contextmanager
def texts_blanked():
    """Every text the model reads (product and review) becomes the empty text's token states
    ([CLS] [SEP]); the metadata channel, computed from the records, is unchanged. So the model,
    its recipe and its metadata stay the same and only what the interactions read is gone: the
    ablation "without the text interactions"."""
    from engine.jobs.data import FeatureBuilder

    original = FeatureBuilder.text_states

    def blank(self, texts):
        empty = original(self, [""])[0]
        return [empty] * len(texts)

    FeatureBuilder.text_states = blank
    try:
        yield
    finally:
        FeatureBuilder.text_states = original


def within_product_ratio(prepared, scores, column) -> float:
    """Median over products (3+ labelled reviews, a score that varies) of a sub-score's standard
    deviation within the product over the score's: how much the sub-score moves next to the score."""
    pids = np.array(prepared.product_ids)
    ratios = []
    for pid in dict.fromkeys(prepared.product_ids):
        k = pids == pid
        if k.sum() >= 3 and scores[k].std() > 0:
            ratios.append(float(column[k].std() / scores[k].std()))
    return float(np.median(ratios)) if ratios else float("nan")


def mean_std(values):
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def fmt(values):
    m, s = mean_std(values)
    return f"{m:.1f} ± {s:.1f}"


def metadata_ranker(train, dev, test, seed: int, epochs: int = 60) -> np.ndarray:
    """A linear pairwise ranker on the metadata features alone (hinge within a product)."""
    from engine.losses import pairwise_hinge_loss
    from engine.metadata import fit_normalizer
    from engine.metrics import evaluate_rankings

    from engine.jobs.data import grouped

    torch.manual_seed(seed)

    def tensors(prep):
        x = torch.tensor(np.stack([e.metadata for e in prep.examples]))
        groups = {pid: i for i, pid in enumerate(dict.fromkeys(prep.product_ids))}
        g = torch.tensor([groups[p] for p in prep.product_ids])
        y = torch.tensor([float(v) if v is not None else -1.0 for v in prep.labels])
        return x, g, y

    xtr, gtr, ytr = tensors(train)
    mean, std = fit_normalizer(xtr.numpy())
    norm = lambda x: (x - torch.tensor(mean)) / torch.tensor(std)  # noqa: E731
    w = torch.nn.Linear(xtr.shape[1], 1)
    opt = torch.optim.Adam(w.parameters(), lr=1e-2)
    best, best_state = -1.0, None
    xdv = norm(tensors(dev)[0])
    for _ in range(epochs):
        opt.zero_grad()
        loss = pairwise_hinge_loss(w(norm(xtr)).squeeze(-1), ytr, gtr)
        loss.backward()
        opt.step()
        with torch.no_grad():
            s, y = grouped(dev, w(xdv).squeeze(-1).numpy())
            m = evaluate_rankings(s, y)["MAP"]
        if m > best:
            best, best_state = m, {k: v.clone() for k, v in w.state_dict().items()}
    w.load_state_dict(best_state)
    with torch.no_grad():
        return w(norm(tensors(test)[0])).squeeze(-1).numpy()


def per_source_map(prepared, scores) -> dict[str, float]:
    """Test MAP per data source (the categories' source prefix), labelled reviews only."""
    from engine.metrics import evaluate_rankings

    by_source: dict[str, tuple[dict, dict]] = {}
    for i, pid in enumerate(prepared.product_ids):
        if prepared.labels[i] is None:
            continue
        sc, yc = by_source.setdefault(source_of(prepared.categories[i]), ({}, {}))
        sc.setdefault(pid, []).append(float(scores[i]))
        yc.setdefault(pid, []).append(int(prepared.labels[i]))
    return {src: evaluate_rankings(sc, yc)["MAP"] for src, (sc, yc) in sorted(by_source.items())}


def source_of(category: str) -> str:
    """The data source named in parentheses at the end of a category, else the category."""
    m = re.search(r"\(([^()]*)\)\s*$", category or "")
    return m.group(1) if m else (category or "unknown")


def spearman(a, b) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def leave_one_source_out(cat, cache, base_cfg, base_train, seeds: int) -> dict[str, dict[str, list[float]]]:
    """MAP on each source when the models never saw it: train on the train split of the other
    sources, choose the epoch on their dev split, test on every labelled review of the held-out one."""
    from engine.jobs.data import FeatureBuilder, grouped, predict
    from engine.jobs.train import train_model
    from engine.metrics import evaluate_rankings
    from engine.model.mmss import MMSSModel

    everything = [p for sp in ("train", "dev", "test") for p in cat[sp]]
    sources = sorted({source_of(p.category) for p in everything})
    out: dict[str, dict[str, list[float]]] = {}
    fb = FeatureBuilder(MMSSModel(base_cfg), cache)
    for held in sources:
        train = [p for p in cat["train"] if source_of(p.category) != held]
        dev = [p for p in cat["dev"] if source_of(p.category) != held]
        test = [p for p in everything if source_of(p.category) == held]
        train_p, dev_p, test_p = (fb.build(x, labelled_only=True) for x in (train, dev, test))

        def record(name, scores, prepared=test_p):
            s, y = grouped(prepared, scores)
            out.setdefault(name, {}).setdefault(held, []).append(evaluate_rankings(s, y)["MAP"])

        record("review length", np.array([len(t) for t in test_p.texts], dtype=float))
        for seed in range(seeds):
            record("metadata-only linear ranker", metadata_ranker(train_p, dev_p, test_p, seed))
            for name in (FULL, NO_TEXT):
                with texts_blanked() if name == NO_TEXT else contextlib.nullcontext():
                    model, _ = train_model(base_cfg, dataclasses.replace(base_train, seed=seed), train, dev, cache=cache)
                    prepared = FeatureBuilder(model, cache).build(test, labelled_only=True)
                    record(name, predict(model, prepared)[0], prepared)
            print(f"held out {held}, seed {seed}: " + ", ".join(f"{k} {v[held][-1]:.1f}" for k, v in out.items()),
                  flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--ablation-seeds", type=int, default=None, help="seeds for the ablations (default: --seeds)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--loso-seeds", type=int, default=2, help="seeds per leave-one-source-out fold (0: skip)")
    ap.add_argument("--workdir", default=None, help="keep the database and feature cache here between runs")
    ap.add_argument("--out", default=str(ROOT / "docs" / "quality.md"))
    args = ap.parse_args()

    from engine.jobs.cache import FeatureCache
    from engine.jobs.data import FeatureBuilder, grouped, predict
    from engine.jobs.recipes import build_config
    from engine.jobs.train import train_model
    from engine.metrics import evaluate_rankings
    from engine.model.mmss import MMSSModel
    from storage import open_database
    from storage import repository as repo
    from storage.importers import import_path

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rs-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    db = open_database(f"sqlite:///{work / 'quality.db'}")
    with db.begin() as s:
        empty = repo.catalogue_summary(s)["reviews"] == 0
    if empty:
        import_path(db, args.data)
    with db.begin() as s:
        cat = {sp: repo.load_catalogue(s, db.media_dir, splits=[sp], use_corrections=False) for sp in ("train", "dev", "test")}
    cache = FeatureCache(work / "cache")
    results: dict[str, list[dict]] = {}
    timings: dict[str, list[float]] = {}
    per_category: dict[str, dict[str, list[float]]] = {}
    subscore_corr: dict[str, list[float]] = {}

    base_cfg, base_train = build_config("cpu-quick", "cpu")
    probe = MMSSModel(base_cfg)
    fb = FeatureBuilder(probe, cache)
    train_p, dev_p, test_p = (fb.build(cat[sp], labelled_only=True) for sp in ("train", "dev", "test"))

    def score_of(name, scores, prepared=test_p):
        s, y = grouped(prepared, scores)
        results.setdefault(name, []).append(evaluate_rankings(s, y))
        for src, value in per_source_map(prepared, scores).items():
            per_category.setdefault(name, {}).setdefault(src, []).append(value)

    lengths = np.array([len(t) for t in test_p.texts], dtype=float)
    ratings = np.array([e.metadata[3] for e in test_p.examples], dtype=float)
    score_of("review length", lengths)
    score_of("star rating", ratings)
    for seed in range(args.seeds):
        rng = random.Random(seed)
        score_of("random", np.array([rng.random() for _ in test_p.texts]))
        score_of("metadata-only linear ranker", metadata_ranker(train_p, dev_p, test_p, seed))

    ratio: dict[str, list[float]] = {}
    for name in args.variants:
        n_seeds = args.seeds if name in (FULL, NO_TEXT) or args.ablation_seeds is None else args.ablation_seeds
        for seed in range(n_seeds):
            cfg = dataclasses.replace(base_cfg, **VARIANTS[name])
            with texts_blanked() if name == NO_TEXT else contextlib.nullcontext():
                t0 = time.monotonic()
                model, info = train_model(cfg, dataclasses.replace(base_train, seed=seed), cat["train"], cat["dev"],
                                          cache=cache)
                timings.setdefault(name, []).append(time.monotonic() - t0)
                prepared = FeatureBuilder(model, cache).build(cat["test"], labelled_only=True)
                scores, subs = predict(model, prepared)
            score_of(name, scores, prepared)
            if name == FULL:
                labels = np.array([float(v) for v in prepared.labels])
                from engine.config import SUBTASKS

                for i, sname in enumerate(SUBTASKS):
                    subscore_corr.setdefault(sname, []).append(spearman(subs[:, i], labels))
                    ratio.setdefault(sname, []).append(within_product_ratio(prepared, scores, subs[:, i]))
                subscore_corr.setdefault("score", []).append(spearman(scores, labels))
            print(f"{name} seed {seed}: {results[name][-1]} ({timings[name][-1]:.0f}s, best epoch {info['best_epoch']})",
                  flush=True)

    loso = leave_one_source_out(cat, cache, base_cfg, base_train, args.loso_seeds) if args.loso_seeds else {}

    n_test_products = len(set(test_p.product_ids))
    lines = [
        "# Quality on ../shared/data",
        "",
        f"Test split: {n_test_products} products, {len(test_p)} labelled reviews (importer's hash split 64/16/20; "
        "training on train, epoch chosen on dev MAP; metrics as MMSS.md, threshold 1, 0-vote reviews left out).",
        f"Mean ± std over {args.seeds} seeds where a ranking has a seed (length and rating have none).",
        "",
        f"Reproduce: `HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.quality --seeds {args.seeds}"
        + (f" --ablation-seeds {args.ablation_seeds}" if args.ablation_seeds is not None else "")
        + f" --loso-seeds {args.loso_seeds}" + (" --variants " + " ".join(repr(v) for v in args.variants)
                                               if args.variants != list(VARIANTS) else "") + "`",
        "",
        "| ranking | MAP | NDCG@3 | NDCG@5 | runs | train time / run |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        t = f"{statistics.mean(timings[name]):.0f} s" if name in timings else "-"
        lines.append(
            f"| {name} | {fmt([r['MAP'] for r in rows])} | {fmt([r['NDCG@3'] for r in rows])} | "
            f"{fmt([r['NDCG@5'] for r in rows])} | {len(rows)} | {t} |"
        )
    lines += ["", "## MAP per data source (mean over runs)", ""]
    cats = sorted({c for d in per_category.values() for c in d})
    lines.append("| ranking | " + " | ".join(cats) + " |")
    lines.append("|---|" + "---|" * len(cats))
    for name, d in per_category.items():
        lines.append(f"| {name} | " + " | ".join(f"{statistics.mean(d[c]):.1f}" if c in d else "-" for c in cats) + " |")
    if subscore_corr:
        lines += ["", f"## Which sub-scores follow the vote labels ({FULL}, test split)", "",
                  "Spearman correlation over all labelled test reviews (pooled across products), and the median over "
                  "products of the sub-score's standard deviation within the product over the score's; means over seeds.",
                  "", "| output | Spearman vs label | within-product spread / score's |", "|---|---|---|"]
        for k, v in subscore_corr.items():
            vals = [x for x in v if not math.isnan(x)]
            rs = [x for x in ratio.get(k, []) if not math.isnan(x)]
            spread = f"{statistics.mean(rs):.3f}" if rs else ("1" if k == "score" else "n/a")
            lines.append(f"| {k} | {statistics.mean(vals):.3f} | {spread} |" if vals
                         else f"| {k} | n/a (constant) | {spread} |")
    if loso:
        lines += ["", "## Leave one source out (transfer to an unseen source)", "",
                  "Trained on the train split of two sources (epoch chosen on their dev split), tested on every "
                  f"labelled review of the third (all its splits); MAP, mean ± std over {args.loso_seeds} seeds.", ""]
        held = sorted({h for d in loso.values() for h in d})
        lines.append("| ranking | " + " | ".join(f"held out: {h}" for h in held) + " | mean |")
        lines.append("|---|" + "---|" * (len(held) + 1))
        for name, d in loso.items():
            means = [statistics.mean(d[h]) for h in held if h in d]
            lines.append(f"| {name} | " + " | ".join(fmt(d[h]) if h in d else "-" for h in held)
                         + f" | {statistics.mean(means):.1f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"results": results, "per_category": per_category,
                                                    "subscore_spearman": subscore_corr, "subscore_spread": ratio,
                                                    "leave_one_source_out": loso, "timings": timings}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
