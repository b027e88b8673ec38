"""docs/performance.md and docs/perf_*.png from the suite's results (benchmarks/results/*.json)."""
from __future__ import annotations

import math
import statistics
from pathlib import Path

GOALS = {
    "throughput": ">= 0.8x", "rescore": ">= 20x faster", "import": ">= 0.3x", "import_process": ">= 0.3x",
    "first_paint": "<= 3x", "sort": "<= 1x Qt proxy", "queue": "<= 3x", "stall": "<= 100 ms", "memory": "<= 2x",
    "gpu": ">= 0.7x", "first_launch": "<= 5 s",
}


def _med(xs):
    xs = [x for x in (xs or []) if x is not None]
    return statistics.median(xs) if xs else float("nan")


def _ok(v: bool | None) -> str:
    return "n/a" if v is None else ("**yes**" if v else "**no**")


def _fmt_s(s: float) -> str:
    if s != s:
        return "-"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


# ------------------------------------------------------------------------------- plots


def _plots(out: Path, cpu: dict) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    made: dict[str, str] = {}

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made[name.split(".")[0]] = name

    def linear_ref(ax, xs, y0, x0, label="linear (slope 1)"):
        ax.plot(xs, [y0 * x / x0 for x in xs], ":", color="grey", label=label)

    imp = cpu.get("import", {}).get("scaling")
    if imp:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [r["reviews"] for r in imp]
        for key, label, style in (("ours_s", "ReviewScope import_path", "o-"),
                                  ("raw_parse_s", "raw sqlite3: json.loads + executemany", "s--"),
                                  ("raw_only_s", "raw sqlite3: executemany only (baseline)", "^--")):
            ax.plot(xs, [r[key] for r in imp], style, label=label)
        linear_ref(ax, xs, imp[0]["ours_s"], xs[0])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("reviews in the catalogue")
        ax.set_ylabel("seconds")
        ax.set_title("Import time vs catalogue size (goal: >= 0.3x raw speed)")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        save(fig, "perf_import_scaling.png")

    sc = cpu.get("scoring", {})
    if sc.get("scaling"):
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [r["reviews"] for r in sc["scaling"]]
        ax.plot(xs, [r["job_s"] for r in sc["scaling"]], "o-", label="engine score, features cached (job)")
        ax.plot(xs, [r["loop_s"] for r in sc["scaling"]], "o:", label="  of which the scoring loop")
        cold = sc.get("cold_points") or []
        if cold:
            ax.plot([c["reviews"] for c in cold], [c["job_s"] for c in cold], "s--", color="C3",
                    label="engine score, cold cache (job)")
        thr = sc.get("throughput")
        if thr:
            ax.plot(xs, [x / thr["bare_rps"] for x in xs], "--", color="C2", label="bare MiniLM forward (same rate)")
        linear_ref(ax, xs, sc["scaling"][-1]["loop_s"], xs[-1])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("reviews scored")
        ax.set_ylabel("seconds (one CPU thread)")
        ax.set_title("Scoring time vs catalogue size")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        save(fig, "perf_scoring_scaling.png")

    mem = sc.get("memory")
    if mem:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [a for a, _ in mem["by_size"]]
        ax.plot(xs, [b for _, b in mem["by_size"]], "o-", label="peak RSS of engine score (features cached)")
        ax.axhline(mem["base_mb"], color="C2", ls="--", label="model + one batch (baseline)")
        ax.axhline(2 * mem["base_mb"], color="C3", ls=":", label="goal: 2x baseline")
        ax.set_xscale("log")
        ax.set_ylim(0, max(2.2 * mem["base_mb"], max(b for _, b in mem["by_size"]) * 1.1))
        ax.set_xlabel("reviews scored")
        ax.set_ylabel("MiB (VmHWM)")
        ax.set_title("Peak memory of scoring vs catalogue size")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(True, alpha=0.3)
        save(fig, "perf_memory.png")

    if sc.get("throughput") and sc.get("rescore"):
        t, r = sc["throughput"], sc["rescore"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.6))
        names = ["bare MiniLM", "bare MiniLM\n(length-sorted)", "engine score\n(cold)"]
        vals = [t["bare_rps"], t["bare_sorted_rps"], t["ours_rps"]]
        a1.bar(names, vals, color=["C2", "C2", "C0"])
        a1.axhline(0.8 * t["bare_rps"], color="C3", ls=":", label="goal: 0.8x bare")
        a1.set_ylabel("reviews / s (one thread, batch 32)")
        a1.set_title("Scoring throughput")
        a1.legend(fontsize=8)
        a2.bar(["cold", "from the cache"], [r["cold_job_s"], r["warm_job_s"]], color=["C3", "C0"])
        a2.axhline(r["cold_job_s"] / 20, color="C3", ls=":", label="goal: 20x faster")
        a2.set_ylabel("seconds")
        a2.set_title(f"Rescoring {r['reviews']:,} reviews")
        a2.legend(fontsize=8)
        save(fig, "perf_scoring.png")

    go, stall = cpu.get("gui_open"), cpu.get("gui_stall")
    if go or stall:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
        if go:
            ax = axes[0]
            labels = [f"first paint\n{go['reviews'] // 1000}k reviews", f"sort\n{go['big'] // 1000}k rows"]
            ours = [1000 * _med(go["open_paint"]), 1000 * _med(go["sort"])]
            base = [1000 * _med(go["open_bare"]), 1000 * _med(go.get("sort_qt_proxy") or go["sorted_keys"])]
            if go.get("queue"):
                labels.append("queue\nfirst page")
                ours.append(1000 * _med(go["queue"]))
                base.append(1000 * _med(go["queue_bare"]))
            xs = range(len(labels))
            ax.bar([x - 0.2 for x in xs], ours, 0.4, label="app", color="C0")
            ax.bar([x + 0.2 for x in xs], base, 0.4, label="baseline (bare SELECT / Qt proxy sort)", color="C2")
            goal = [3, 1 if go.get("sort_qt_proxy") else 3, 3][:len(base)]
            ax.scatter([x + 0.2 for x in xs], [g * b for g, b in zip(goal, base)], marker="_", s=600, color="C3",
                       label="goal (3x; sort: 1x Qt)")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(labels)
            ax.set_yscale("log")
            ax.set_ylabel("ms")
            ax.set_title("Review table")
            ax.legend(fontsize=7)
        if stall:
            ax = axes[1]
            phases = [p for p in ("pages", "score", "train") if p in stall]
            ax.bar(phases, [stall[p]["max_stall_ms"] for p in phases], color="C0", label="longest stall")
            ax.bar(phases, [stall[p]["p99_stall_ms"] for p in phases], color="C9", label="99th percentile")
            ax.axhline(100, color="C3", ls=":", label="goal: 100 ms")
            ax.set_ylabel("ms")
            ax.set_title("GUI event-loop stalls")
            ax.legend(fontsize=7)
        save(fig, "perf_gui.png")
    return made


# ------------------------------------------------------------------------------- text


def _profile_block(p: dict | None, n: int = 14) -> str:
    if not p:
        return "_(no profile in this run: `python -m benchmarks --only profile`)_\n"
    if "error" in p:
        return f"_(profile failed: {p['error'][:300]})_\n"
    lines = [f"py-spy, {p['samples']} samples, {p.get('what', '')}; inclusive share of samples:", "", "```"]
    skip = ("_run_module_as_main", "_run_code", "<module>", "main (", "measure (", "cmd_score", "decorate_context",
            "_call_impl", "_wrapped_call_impl", "_bootstrap")
    top = [t for t in p["top"] if not any(k in t[2] for k in skip)]
    for c, share, name in top[:n]:
        lines.append(f"{100 * share:5.1f}%  {name}")
    lines += ["```", ""]
    return "\n".join(lines)


def figures(cpu: dict, gpu: dict | None) -> list[dict]:
    rows = []
    sc = cpu.get("scoring", {})
    t = sc.get("throughput")
    if t:
        rows.append({"key": "throughput", "figure": "scoring throughput, default model, CPU, batch 32 (cold cache)",
                     "measured": f"{t['ours_rps']:.1f} reviews/s", "baseline": f"bare MiniLM forward {t['bare_rps']:.1f} reviews/s",
                     "ratio": f"{t['ratio']:.2f}x", "met": t["ratio"] >= 0.8})
    r = sc.get("rescore")
    if r:
        rows.append({"key": "rescore", "figure": f"rescoring {r['reviews']:,} unchanged reviews from the feature cache",
                     "measured": _fmt_s(r["warm_job_s"]), "baseline": f"cold scoring {_fmt_s(r['cold_job_s'])}",
                     "ratio": f"{r['speedup']:.1f}x faster", "met": r["speedup"] >= 20})
    imp = cpu.get("import", {}).get("corpus")
    if imp:
        n = imp["reviews"]
        ours, raw = _med(imp["ours"]), _med(imp["raw_only"])
        rows.append({"key": "import", "figure": f"import of ../shared/data ({n:,} reviews)",
                     "measured": f"{n / ours:,.0f} reviews/s ({_fmt_s(ours)})",
                     "baseline": f"raw sqlite3 executemany {n / raw:,.0f} reviews/s ({_fmt_s(raw)})",
                     "ratio": f"{raw / ours:.2f}x", "met": raw / ours >= 0.3})
    ip = cpu.get("import", {}).get("process")
    if ip:
        n = ip["reviews"]
        ours, bare = _med(ip["ours"]), _med(ip["bare"])
        rows.append({"key": "import_process", "figure": f"`reviewscope-engine import`, whole process ({n:,} reviews)",
                     "measured": f"{n / ours:,.0f} reviews/s ({_fmt_s(ours)})",
                     "baseline": f"bare python json.loads + executemany {n / bare:,.0f} reviews/s ({_fmt_s(bare)})",
                     "ratio": f"{bare / ours:.2f}x", "met": bare / ours >= 0.3})
    fl = cpu.get("first_launch")
    if fl:
        shipped, base = fl["median"]["shipped"], fl["median"]["baseline"]
        rows.append({"key": "first_launch", "figure": "first launch, fresh profile: the sample's scores on screen",
                     "measured": f"{shipped['scores']:.1f} s (shipped starter scores)",
                     "baseline": f"engine score of the sample {base['scores']:.1f} s",
                     "ratio": f"{base['scores'] / shipped['scores']:.1f}x sooner", "met": shipped["scores"] <= 5})
    go = cpu.get("gui_open")
    if go:
        p, b = _med(go["open_paint"]), _med(go["open_bare"])
        rows.append({"key": "first_paint", "figure": f"open a {go['reviews']:,}-review catalogue, first paint",
                     "measured": _fmt_s(p), "baseline": f"bare SELECT of the visible rows {_fmt_s(b)}",
                     "ratio": f"{p / b:.1f}x", "met": p / b <= 3})
        s = _med(go["sort"])
        if go.get("sort_qt_proxy"):
            k = _med(go["sort_qt_proxy"])
            rows.append({"key": "sort", "figure": f"sort {go['big']:,} rows in the review table (click to paint)",
                         "measured": _fmt_s(s), "baseline": f"Qt QSortFilterProxyModel over a QStandardItemModel, "
                         f"same rows, click to paint {1000 * k:.1f} ms", "ratio": f"{s / k:.2f}x", "met": s / k <= 1})
        else:  # results saved before the Qt baseline was measured
            k = _med(go["sorted_keys"])
            rows.append({"key": "sort", "figure": f"sort {go['big']:,} rows in the review table (click to paint)",
                         "measured": _fmt_s(s), "baseline": f"Python sorted() of the same keys {1000 * k:.2f} ms",
                         "ratio": f"{s / k:.0f}x", "met": None})
        if go.get("queue"):
            qd, qb = _med(go["queue"]), _med(go["queue_bare"])
            rows.append({"key": "queue", "figure": f"disagreement queue of {go['reviews']:,} reviews, first page",
                         "measured": _fmt_s(qd), "baseline": f"bare SELECT of 500 reviews by abs(score - label) "
                         f"{_fmt_s(qb)}", "ratio": f"{qd / qb:.1f}x", "met": qd / qb <= 3})
    st = cpu.get("gui_stall")
    if st:
        worst = max(st[p]["max_stall_ms"] for p in ("pages", "score", "train") if p in st)
        parts = ", ".join(f"{p} {st[p]['max_stall_ms']:.0f} ms" for p in ("score", "train", "pages") if p in st)
        rows.append({"key": "stall", "figure": "longest GUI event-loop stall while scoring / training",
                     "measured": f"{worst:.0f} ms ({parts})", "baseline": "-", "ratio": "-", "met": worst <= 100})
    m = sc.get("memory")
    if m:
        rows.append({"key": "memory", "figure": f"peak memory scoring {m['reviews']:,} reviews (features cached)",
                     "measured": f"{m['scoring_peak_mb']:.0f} MiB", "baseline": f"model + one batch {m['base_mb']:.0f} MiB",
                     "ratio": f"{m['ratio']:.2f}x", "met": m["ratio"] <= 2})
    g = (gpu or {}).get("gpu")
    if g:
        rows.append({"key": "gpu", "figure": f"GPU training step, full fine-tune, batch {g['batch_size']} ({g['device']})",
                     "measured": f"{g['mmss_samples_per_s']:.0f} samples/s",
                     "baseline": f"bare MiniLM fwd+bwd {g['bare_samples_per_s']:.0f} samples/s",
                     "ratio": f"{g['ratio']:.2f}x", "met": g["ratio"] >= 0.7})
    else:
        rows.append({"key": "gpu", "figure": "GPU training step, full fine-tune", "measured": "not measured",
                     "baseline": "bare MiniLM fwd+bwd", "ratio": "-", "met": None})
    return rows


def write(out: Path, cpu: dict, gpu: dict | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(out, cpu)
    rows = figures(cpu, gpu)
    mach = cpu.get("machine", {})
    L: list[str] = []
    add = L.append
    add("# Performance")
    add("")
    add("Generated by `python -m benchmarks` (benchmarks/__main__.py) — do not edit by hand; the analysis "
        "paragraphs are part of benchmarks/report.py. Every figure is measured next to its baseline in the "
        "same run, variants in rotation, medians of repeats; torch on one thread in every measured process. "
        f"Machine: {mach.get('cores')} cores ({mach.get('cpu')}), torch {mach.get('torch')}, Python {mach.get('python')}, "
        f"commit {mach.get('git')} + working tree, {mach.get('when')}; load average at the start "
        f"{', '.join(f'{x:.1f}' for x in (mach.get('load_avg') or []))} (the machine is shared: expect noise in "
        "absolute times; ratios are what to compare)." + (" **Quick (smoke) run: small sizes.**" if cpu.get("quick") else ""))
    if cpu.get("seconds"):
        add("")
        add(f"Suite time: {sum(cpu['seconds'].values()) / 60:.1f} min (" + ", ".join(
            f"{k} {v:.0f} s" for k, v in cpu.get("seconds", {}).items()) + ").")
    if cpu.get("errors"):
        add("")
        add("Sections that failed in this run: " + "; ".join(f"`{k}`: {v.splitlines()[0]}" for k, v in cpu["errors"].items()))
    add("")
    add("## Figures (issue 9)")
    add("")
    add("| figure | measured | baseline (same run) | ratio | goal | met? |")
    add("|---|---|---|---|---|---|")
    for r in rows:
        add(f"| {r['figure']} | {r['measured']} | {r['baseline']} | {r['ratio']} | {GOALS[r['key']]} | {_ok(r['met'])} |")
    add("")
    met = {r["key"]: r["met"] for r in rows}

    # ---------------------------------------------------------------- first launch
    fl = cpu.get("first_launch")
    if fl:
        add("## First launch (issue 17)")
        add("")
        add("`benchmarks/first_launch.py`: a whole new process on a fresh profile (settings and database) opens the real "
            "window at 1280 x 800 on the bundled sample; seconds from process start until the table has rows, the first "
            "row has its score, the disagreement queue has items, and no job is left running. With the starter model's "
            "scores of the sample shipped beside it (resources/models/starter/sample_scores.json.gz, written by "
            "`python -m benchmarks.make_starter --sample-scores-only`; used only for the same weights and unchanged "
            "products, engine/starter.py) and, as the baseline, without them (an `engine score` process loads the "
            f"encoder and scores 737 reviews). Medians of {fl['repeat']} launches each, interleaved:")
        add("")
        add("| | table | scores | queue | all work done |")
        add("|---|---|---|---|---|")
        for mode, label in (("shipped", "shipped starter scores"), ("baseline", "baseline: engine score")):
            m = fl["median"][mode]
            add(f"| {label} | {m['table']:.2f} s | {m['scores']:.2f} s | {m['queue']:.2f} s | {m['idle']:.2f} s |")
        add("")

    # ---------------------------------------------------------------- scoring
    sc = cpu.get("scoring", {})
    if sc:
        t, r, m = sc.get("throughput", {}), sc.get("rescore", {}), sc.get("memory", {})
        add("## Scoring")
        add("")
        add(f"Model: {sc.get('model', '?')} (frozen MiniLM, 64 tokens, d = 64: the CPU default). "
            "Each run is a fresh process (`benchmarks/_worker.py`).")
        add("")
        if t:
            add(f"**Throughput** (goal {GOALS['throughput']} of a bare MiniLM forward on the same texts). "
                f"{t['reviews']:,} reviews of ../shared/data (whole products), cold feature cache, batch 32, "
                f"{t['rounds']} rounds in rotation. `engine score` does everything a cold scoring does — reads the "
                "catalogue, encodes review and product texts, writes the feature cache, computes metadata, runs MM-SS, "
                "writes predictions — and its rate leaves out one-time loading (the MiniLM weights, loaded on the first "
                "cache miss), as the baseline's does. Baseline: MiniLM tokenize + forward of the same review texts, same "
                "truncation, batches of 32 in catalogue order. "
                f"Measured **{t['ours_rps']:.1f}** vs **{t['bare_rps']:.1f}** reviews/s = **{t['ratio']:.2f}x**; "
                f"against a length-sorted MiniLM loop ({t['bare_sorted_rps']:.1f} reviews/s, what the job's encoder "
                f"does) {t['ratio_vs_sorted']:.2f}x.")
            add("")
        if r:
            add(f"**Rescoring from the feature cache** (goal {GOALS['rescore']} than cold). "
                f"{r.get('catalogue', '../shared/data')} ({r['reviews']:,} reviews), `score --all`, batch {r.get('batch', 32)}: cold (new database file, so an "
                f"empty cache) {_fmt_s(r['cold_job_s'])} vs cached {_fmt_s(r['warm_job_s'])} (median of the cached "
                f"runs, {r['warm_misses']} misses) = **{r['speedup']:.1f}x**. Job time = the `run_score` call, model "
                "loading included, interpreter start and `import torch` not; with them (whole process) "
                f"{_fmt_s(r['cold_process_s'])} vs {_fmt_s(r['warm_process_s'])} = {r['speedup_process']:.1f}x."
                + (f" Job time ends when every score is written; the job then adds the review text highlights in a "
                   f"second pass ({_fmt_s(r['cold_highlight_s'])} cold, {_fmt_s(r['warm_highlight_s'])} cached), "
                   "which the whole-process times include." if r.get("warm_highlight_s") else ""))
            add("")
        if "perf_scoring" in plots:
            add(f"![scoring throughput and rescoring]({plots['perf_scoring']})")
            add("")
        if sc.get("scaling"):
            corpus = sc.get("scaling_corpus", "../shared/data")
            sizes = " / ".join(f"{x['reviews']:,}" for x in sc["scaling"])
            add(f"**Scaling.** Synthetic catalogues of {sizes} reviews (`benchmarks/common.py`: products "
                f"of 20 reviews, texts copied from {corpus} under new ids). Their features come from the "
                f"cache the cold run of {corpus} filled (every text is cached; the largest catalogue repeats each "
                f"text about {sc['scaling'][-1]['reviews'] // max(r.get('reviews', 1), 1)} times) — cold scoring of "
                "100k reviews through MiniLM would take about "
                f"{100_000 / max(t.get('ours_rps', 1), 1) / 60:.0f} minutes on one thread, and its cost is the "
                "cold rate above times the size. Cold points: the throughput subset and the corpus.")
            add("")
            add("| reviews | job | scoring loop | reviews/s (loop) | peak RSS | cache misses |")
            add("|---|---|---|---|---|---|")
            for s in sc["scaling"]:
                add(f"| {s['reviews']:,} | {_fmt_s(s['job_s'])} | {_fmt_s(s['loop_s'])} | {s['reviews'] / s['loop_s']:,.0f} | "
                    f"{s['peak_rss_mb']:.0f} MiB | {s['cache_misses']} |")
            add("")
            xs = sc["scaling"]
            if len(xs) >= 2:
                a, b = xs[-2], xs[-1]
                slope = math.log(b["loop_s"] / a["loop_s"]) / math.log(b["reviews"] / a["reviews"])
                add(f"Growth from {a['reviews']:,} to {b['reviews']:,} reviews: log-log slope {slope:.2f} "
                    "(1.00 = linear).")
                add("")
        if "perf_scoring_scaling" in plots:
            add(f"![scoring scaling]({plots['perf_scoring_scaling']})")
            add("")
        if m:
            add(f"**Peak memory** (goal {GOALS['memory']} of the model + one batch). VmHWM of the scoring "
                f"process: {m['scoring_peak_mb']:.0f} MiB for {m['reviews']:,} reviews (features cached) vs "
                f"{m['base_mb']:.0f} MiB for a process that loads the model the way the job does and scores one "
                f"batch of 32 = **{m['ratio']:.2f}x**. Memory is flat in the catalogue size: "
                + ", ".join(f"{n:,}: {v:.0f} MiB" for n, v in m["by_size"]) + ". "
                f"Cold scoring (the MiniLM encoder loaded): {m['cold_peak_mb']:.0f} MiB for {m['cold_reviews']:,} "
                f"reviews vs {m['base_with_encoder_mb']:.0f} MiB for model + encoder + one batch = {m['cold_ratio']:.2f}x. "
                "Most of the floor is `import torch` itself (about 580 MiB RSS on this machine).")
            add("")
        if "perf_memory" in plots:
            add(f"![peak memory]({plots['perf_memory']})")
            add("")
        for key, title in (("throughput", "throughput"), ("rescore", "rescoring"), ("memory", "memory")):
            if met.get(key) is False:
                add(f"*Goal not met ({title}).* Profile of cached scoring:")
                add("")
                add(_profile_block(cpu.get("profile", {}).get("cached_scoring")))
        prof = cpu.get("profile", {}).get("cached_scoring")
        if prof and all(met.get(k) for k in ("throughput", "rescore", "memory")):
            add("Where cached scoring spends its time (all goals met; for the record):")
            add("")
            add(_profile_block(prof, 12))
        add(SCORING_NOTES)
        add("")

    # ---------------------------------------------------------------- import
    imp = cpu.get("import", {})
    if imp.get("corpus"):
        c = imp["corpus"]
        n = c["reviews"]
        add("## Import")
        add("")
        add(f"`storage.importers.import_path` of ../shared/data ({n:,} reviews; every row read and validated, one "
            "transaction, bulk statements; since 0009_search_backlog the full-text search index of the new reviews is built "
            "by the first search, see below) vs raw sqlite3 into the same tables and pragmas without the search index (a "
            "bare process has none), fresh database files, "
            f"{len(c['ours'])} repeats, medians: ours {_fmt_s(_med(c['ours']))}, raw `json.loads` + `executemany` "
            f"{_fmt_s(_med(c['raw_parse']))} ({_med(c['raw_parse']) / _med(c['ours']):.2f}x), raw `executemany` of "
            f"rows already built {_fmt_s(_med(c['raw_only']))} (**{_med(c['raw_only']) / _med(c['ours']):.2f}x**, the "
            f"issue's baseline; best-of-runs ratio {min(c['raw_only']) / min(c['ours']):.2f}x).")
        add("")
        if imp.get("scaling"):
            add("| reviews | ours | raw json.loads + executemany | raw executemany | ratio to raw executemany |")
            add("|---|---|---|---|---|")
            for r in imp["scaling"]:
                add(f"| {r['reviews']:,} | {_fmt_s(r['ours_s'])} | {_fmt_s(r['raw_parse_s'])} | {_fmt_s(r['raw_only_s'])} | "
                    f"{r['raw_only_s'] / r['ours_s']:.2f}x |")
            add("")
            a, b = imp["scaling"][-2], imp["scaling"][-1]
            slope = math.log(b["ours_s"] / a["ours_s"]) / math.log(b["reviews"] / a["reviews"])
            add(f"Growth from {a['reviews']:,} to {b['reviews']:,} reviews: log-log slope {slope:.2f} (1.00 = linear).")
            add("")
            add(SEARCH_INDEX_NOTES)
            add("")
        ip = imp.get("process")
        if ip:
            n = ip["reviews"]
            ours, bare = _med(ip["ours"]), _med(ip["bare"])
            add(f"Whole processes (issue 17; `python -m benchmarks.import_speed --process`): `reviewscope-engine import` "
                f"of ../shared/data five times under new ids ({n:,} reviews; interpreter and library start-up, opening "
                "the database, reading, validating, writing, committing) vs a bare `python` that parses the same JSONL "
                "files (label and split included) and `sqlite3.executemany`s the rows, fresh database files with the "
                f"schema, {len(ip['ours'])} repeats, medians: ours {_fmt_s(ours)}, bare {_fmt_s(bare)} "
                f"(**{bare / ours:.2f}x**; best of runs {min(ip['bare']) / min(ip['ours']):.2f}x).")
            add("")
            add(IMPORT_PROCESS_NOTES)
            add("")
        if "perf_import_scaling" in plots:
            add(f"![import scaling]({plots['perf_import_scaling']})")
            add("")
        add(IMPORT_NOTES)
        add("")

    # ---------------------------------------------------------------- GUI
    go, st = cpu.get("gui_open"), cpu.get("gui_stall")
    if go or st:
        add("## GUI")
        add("")
    if go:
        add(f"`benchmarks/gui_open.py`: the real main window, offscreen, a fresh window per run ({go['repeat']} runs, "
            f"medians). Catalogue: {go['reviews']:,} generated reviews, one product with {go['big']:,}, all scored.")
        add("")
        add("| figure | app | baseline | ratio | goal |")
        add("|---|---|---|---|---|")
        add(f"| open the bundled sample, first paint | {_fmt_s(_med(go['sample_paint']))} | bare SELECT "
            f"{1000 * _med(go['sample_bare']):.2f} ms | {_med(go['sample_paint']) / _med(go['sample_bare']):.0f}x | - |")
        add(f"| open {go['reviews']:,} reviews, first paint | {_fmt_s(_med(go['open_paint']))} | bare SELECT of the "
            f"product list + first page {_fmt_s(_med(go['open_bare']))} | {_med(go['open_paint']) / _med(go['open_bare']):.1f}x | <= 3x |")
        if go.get("sort_qt_proxy"):
            add(f"| sort {go['big']:,} rows by votes, click to first page painted | {_fmt_s(_med(go['sort']))} | Qt's own "
                f"in-memory sort: `QSortFilterProxyModel` over a `QStandardItemModel` of the same {go['big']:,} rows and "
                f"columns, a `QTableView` of the same size, click to paint {1000 * _med(go['sort_qt_proxy']):.1f} ms | "
                f"{_med(go['sort']) / _med(go['sort_qt_proxy']):.2f}x | <= 1x |")
        qt = go.get("sort_qt_proxy")
        sort_name = "(same)" if qt else f"sort {go['big']:,} rows by votes, click to first page painted"
        add(f"| {sort_name} | {'' if qt else _fmt_s(_med(go['sort']))} | `sorted()` of the keys "
            f"{1000 * _med(go['sorted_keys']):.2f} ms | {_med(go['sort']) / _med(go['sorted_keys']):.0f}x | "
            f"{'' if qt else '<= 3x'} |")
        add(f"| (same) | | `sorted()` of the rows by key {1000 * _med(go['sorted_rows']):.2f} ms | "
            f"{_med(go['sort']) / _med(go['sorted_rows']):.0f}x | |")
        add(f"| (same) | | bare `SELECT ... ORDER BY votes LIMIT 500` {1000 * _med(go['sort_page_bare']):.1f} ms; all rows "
            f"{1000 * _med(go['sort_all_bare']):.1f} ms | {_med(go['sort']) / _med(go['sort_page_bare']):.1f}x | |")
        if go.get("repaint"):
            add(f"| (floor) a repaint of the same table, no sort | {1000 * _med(go['repaint']):.1f} ms | | "
                f"{_med(go['repaint']) / _med(go['sorted_keys']):.0f}x of `sorted()` | |")
        if go.get("queue"):
            add(f"| disagreement queue, first page (500 rows; the store job) | {_fmt_s(_med(go['queue']))} | bare "
                f"SELECT of 500 scored, labelled reviews `ORDER BY abs(score - label) DESC LIMIT 500` "
                f"{_fmt_s(_med(go['queue_bare']))} | {_med(go['queue']) / _med(go['queue_bare']):.1f}x | <= 3x |")
        add("")
        tr = go.get("trace")
        if tr:
            add(f"Store jobs of one more open of the {go['reviews']:,}-review catalogue (first paint "
                f"{tr['first_paint_ms']:.0f} ms), milliseconds after `open_database`:")
            add("")
            add("| job | queued | ran | took |")
            add("|---|---|---|---|")
            for j in tr["jobs"]:
                add(f"| {j['job']} | {j['queued_ms']:.0f} | {j['start_ms']:.0f} - {j['end_ms']:.0f} | {j['end_ms'] - j['start_ms']:.0f} |")
            add("")
        if met.get("first_paint") is False or met.get("sort") is False or met.get("queue") is False:
            add("Where the whole window run spends its time (py-spy, every thread, first paints, sorts and the "
                "background jobs that follow a first paint; the job table above is the critical path):")
            add("")
            add(_profile_block(cpu.get("profile", {}).get("first_paint"), 24))
            add(GUI_NOTES)
            add("")
    if st:
        add(f"**Event-loop stalls** (`benchmarks/gui_stall.py`, goal {GOALS['stall']}): a {st['interval_ms']} ms "
            "QTimer heartbeat in the GUI process; a stall is a gap between beats minus the period. Meanwhile a "
            "driver selects another product or re-sorts the table every 250 ms (store workers load pages).")
        add("")
        add("| phase | engine process | longest stall | p99 | stalls > 100 ms | clicks |")
        add("|---|---|---|---|---|---|")
        what = {"pages": "none (page loads only)", "score": "`engine score --all` (the window's scoring controller)",
                "train": "`engine train` cpu-quick, 1 epoch, a few steps (QProcess)"}
        for p in ("pages", "score", "train"):
            if p in st:
                x = st[p]
                add(f"| {p} | {what[p]}{', ' + _fmt_s(x['engine_s']) if 'engine_s' in x else ''} | {x['max_stall_ms']:.0f} ms | "
                    f"{x['p99_stall_ms']:.1f} ms | {x['stalls_over_100ms']} | {x['clicks']} |")
        add("")
    if "perf_gui" in plots:
        add(f"![GUI figures]({plots['perf_gui']})")
        add("")

    # ---------------------------------------------------------------- scale
    sc = cpu.get("scale")
    if sc and sc.get("table"):
        add("## Scale (issue 17)")
        add("")
        add("`python -m benchmarks.scale` (`python -m benchmarks --only scale`): generated catalogues of "
            + ", ".join(f"{n:,}" for n in sc["sizes"]) + " reviews, each imported by a whole `engine import` process, "
            "scored, then opened in a fresh app process per size; each figure next to a bare baseline of the same run, "
            "the log-log slope over the sizes (0: flat, 1: linear), and peak memory (VmHWM).")
        add("")
        add("```")
        L.extend(sc["table"].splitlines())
        add("```")
        add("")
        add(SCALE_NOTES)
        add("")

    # ---------------------------------------------------------------- GPU
    add("## GPU: training step (full fine-tune)")
    add("")
    g = (gpu or {}).get("gpu")
    if g:
        add(f"{g['device']}, torch {g['torch']}: MM-SS step (gpu-full recipe: whole MiniLM trained, bf16 autocast, "
            f"batch {g['batch_size']}, {g['max_tokens']} tokens) {g['mmss_step_s'] * 1000:.1f} ms = "
            f"{g['mmss_samples_per_s']:.0f} samples/s vs bare MiniLM forward + backward + AdamW on the same batch's texts "
            f"{g['bare_step_s'] * 1000:.1f} ms = {g['bare_samples_per_s']:.0f} samples/s: **{g['ratio']:.2f}x** "
            f"(goal {GOALS['gpu']}). Peak GPU memory (max allocated): {g['peak_mb']}.")
    else:
        add("Not measured: no GPU was lent to this session. On a CUDA machine run `python -m benchmarks --gpu` "
            "(benchmarks/gpu.py, about a minute): it measures the full fine-tune training step (the loop body of "
            "engine/jobs/train.py) next to a bare MiniLM forward + backward + AdamW step on the same batch, in "
            "rotation, with peak GPU memory, saves benchmarks/results/gpu.json and rewrites this report. "
            "`python -m benchmarks.gpu --device cpu` smoke-tests the script here.")
    add("")

    # ---------------------------------------------------------------- diagnostics
    fw = cpu.get("forward")
    if fw:
        add("## Diagnostic: MM-SS forward vs bare MiniLM (benchmarks/model_throughput.py)")
        add("")
        add(f"`python -m benchmarks.model_throughput {fw['args']}` (the default MMSSConfig, 128 tokens, d = 128):")
        add("")
        add("```")
        add(fw["output"])
        add("```")
        add("")
    add(CHANGES)
    add("")
    add(HOWTO)
    md = out / "performance.md"
    md.write_text("\n".join(L) + "\n", encoding="utf-8")
    return md


SCORING_NOTES = """\
What changed in scoring this round (engine/jobs/score.py, data.py, cache.py, storage/repository.py):

- **Feature cache in shards.** The cache was one small safetensors file per text: rescoring 11,412
  reviews opened ~11,700 files. Now each batch of computed entries (128 texts) is one shard
  (`<cache>/<encoder>/shards/<uuid>.safetensors`, tensor name = content key), written to a temporary
  name and renamed; the index (key -> shard, dtype, shape, byte range) is the union of the shard
  headers, read once per process and topped up when a key is missing (another process may have added
  shards). Entries are read with plain reads of their byte ranges, one open per shard touched (mmap'ing
  the shards counted their pages in the process's resident memory). Old per-file entries are still
  read, and moved into a shard on first use; a corrupt shard is ignored and its entries recomputed.
- **No encoder when nothing needs encoding.** A frozen-encoder model is loaded without MiniLM; the
  encoder (and `transformers`' BERT code) is loaded on the first cache miss only. Rescoring an
  unchanged catalogue never loads it (about 2-3 s and 230 MiB less per job).
- **Length-sorted inference batches** under `torch.inference_mode`. Without a loss, a review's score
  does not depend on the other reviews of its batch, so scoring batches are sorted by (product text,
  review text) length instead of grouping whole products: less padding in the attention branches.
- **Streaming from the store.** `run_score` holds only review ids for the whole catalogue; each chunk
  (about 1,024 reviews, whole products) is read with plain column queries
  (`repository.load_products`), scored, written in one transaction and dropped. Peak memory no longer
  grows with the catalogue (it held every review as an ORM object before). Metadata is computed over all
  reviews of a product even when only some are missing a prediction (before, over the missing ones only:
  a review's score depended on which siblings were scored with it; tests/engine/test_feature_cache.py).
- fp16 states stay fp16 until the padded batch (no float32 copy per text).

Stop 27 (the rescoring had fallen to 16.9x at the start of the stop: the score explanations and the
stored ranks of stop 26 each added to the cached job, 7.9 s against 6.2 s at stop 25):

- **Explanations ~5x cheaper.** A score's parts are exact Shapley values over the 2^n coalitions of the
  fused blocks; the head was run on all 64 coalitions of every review. The fusion layer is linear, so
  a coalition's input is the input at the reference plus the present blocks' own terms: n products
  per review, summed per coalition, then GELU and the score head (0.91 -> 0.17 s for ../shared/data;
  the same parts, tests/engine/test_explain.py checks them against the definition).
- **The start-up heap out of the collector's passes** while the loop runs (`gc.freeze`, young passes
  every 50,000 allocations; both put back after): torch, the model and the libraries are hundreds of
  thousands of objects that every old-generation pass walked (the job's collections 0.77 -> 0.25 s).
- The first pass under `torch.inference_mode` (the highlight pass needs gradients and keeps `no_grad`),
  and the reason columns computed without building the parts.

What is left is mostly the MM-SS head itself (4.2-4.4 s of the ~6.5 s job on one thread: the attention
branches over 64+64 token states), then writing the predictions and their ranks (~0.7 s), reading the
cached states (~0.45 s) and padding them into batches (~0.4 s). Sorting batches by review length
first instead of product length was tried and was no faster.

Stop 28:

- **Blocks without the review text computed once per product.** The product text x review images and
  product images x review images branches (and the image self-attention before them) read nothing of
  a review without an image: in eval mode the model computes them once per distinct (product, review
  images) pair and gathers them for the reviews (`ModalityInputs`; training still computes each
  review's own, since dropout differs per review). On ../shared/data, whose reviews have no images,
  the p_t r_v branch went from 0.48 to 0.12 s of the job (torch profiler, in the job); the cached job
  from 6.8-7.0 to 6.4-6.5 s in interleaved runs of the old and the new code (no highlights). The
  test holds the shared blocks equal to training mode's per-review ones.
- **Padding in one copy** (`pad_states` through `pad_sequence`): 3.4 -> 0.7 ms a batch of 64 texts.
- Tried and dropped: the math attention kernel (1.7x slower than the flash kernel on these lengths);
  batches of 128 or 256 (within the noise of 64: the head is compute-bound, padding is 4-6% of it).
- This machine differs from stop 27's: cold scoring of ../shared/data took 195 s here against 130 s
  there, the cached job about the same. The ratio is only comparable within one run.
"""

SEARCH_INDEX_NOTES = """\
Since migration 0005_search every review is indexed for full-text search (SQLite FTS5). Indexing an
import's reviews in its own transaction cost about 3 s of CPU at 100,000 reviews (FTS5 tokenizing every
text), through the triggers or as one `INSERT ... SELECT` alike (measured in one process: 4.5 s and
4.2 s of CPU for insert + index). Since migration 0009_search_backlog an import only marks where its
new reviews begin (`search_state.unindexed_from`), and the triggers leave reviews at or above the mark
alone; after an import the app indexes them 20,000 per transaction in its write queue (a flag waits
for one step at most), a search indexes whatever is left in one transaction before it answers (the app
says "catching up: adding N imported reviews to the search index" meanwhile), and
`reviewscope-engine index-search` does it at once: 11,412 reviews in about 0.8 s. A kill during that catch-up leaves the index behind by all of
them or holding all of them (tests/reliability/test_kill.py)."""

IMPORT_PROCESS_NOTES = """\
Measured by hand before and after the change, on this 2-core machine shared with other jobs, old and
new code in turn, best of runs: `python -m benchmarks.import_speed --process --repeat 5` (57,060
reviews) 4.29 s against 0.96 s (0.22x) before, 1.84 s against 1.01 s (**0.55x**) after;
`python -m benchmarks.import_amazon_speed --reviews 100000 --repeat 3` (issue 15, Amazon 2018 gzip)
9.87 s against 2.43 s (0.25x) before, 3.74 s against 2.40 s (**0.64x**) after (a second pair of runs:
0.24x and 0.62x); in one process
(`python -m benchmarks.import_speed --repeat 5`, the app's path) 0.495 s before, 0.269 s after
(0.21x -> 0.38x of raw `executemany`). What the time went to, and what changed: the full-text index
in the import's transaction (about a third of the write; now built after the import, see above: the
index that the import no longer builds takes `reviewscope-engine index-search` 3.2 s at 100,000
reviews and 1.7 s at 57,060, whole processes; counted in, the import would be 0.35x and 0.28x); the
cyclic garbage collector's full passes over the parsed catalogue, a few live objects per review
(about 45% of the reading phase: the command-line import now raises the collector's thresholds for
the import, young collections every 100,000 allocations instead of 700, and puts them back after; it
no longer switches the collector off: stop 25, 0.60x against 0.63x with it off, same machine, same
load; 57,060 reviews 0.50x); for a gzip file, a second decompression only to count lines for the progress
bar (~0.5 s at 100,000 reviews; now estimated from its first 4 MiB); Alembic, imported and its
scripts read to learn that the database is at head (~0.1 s; now one row compared with
`storage.db.HEAD_REVISION`). Where the 1.84 s of 57,060 reviews go now: interpreter start-up and
imports ~0.3 s (SQLAlchemy and the models most of it; `import` loads no torch, transformers or
Alembic), opening the database ~0.03 s, reading and validating ~0.55 s (JSON decoding with the
duplicate-key hook, field checks, the row objects), writing ~0.6 s (SQLite's multi-row INSERTs
~0.35 s), the commit ~0.2 s (`synchronous=FULL`: the WAL is on disk before the import says it is
done; the bare process uses NORMAL), exit ~0.15 s. A new database file (the benchmarks' files are
made beforehand) got its schema from Alembic's migrations, ~0.23 s with Alembic's import; it now gets
it from storage/migrations/sqlite_head.json, the schema they give written out (a test checks both are
the same), in ~0.03 s: the import of the 57,060 reviews into a new file took 5.2-5.6 s before and
2.1-2.5 s after (3 runs each). Memory: the review rows are built and written
20,000 at a time, and the parsed rows are slotted dataclasses (peak RSS of the 100,000-review file
375 -> 310 MiB); the parsed catalogue itself is still held whole until it is written."""

IMPORT_NOTES = """\
The importer validates every field (types, ranges, duplicates, UTF-8, surrogates, ids), which raw
`json.loads` + `executemany` does not; its write phase was already one DBAPI `executemany` per table on
SQLite. An earlier round paused the cyclic garbage collector during an import (about a fifth of its
time); that pause was process-wide, and in the app it made a pool thread collect the GUI's Qt objects,
which aborted the process, so it was removed (stop 20: 0.30x of raw executemany without it, measured by
`python -m benchmarks.import_speed`, best of 3: 0.371 s against 0.112 s); `reviewscope-engine import`
raises its thresholds for the import instead (the collector stays on) and restores them after. (2) unknown-field detection and
empty `image_urls` / `extra` values take C-level fast paths (`dict.keys() <= frozenset`, no
`json.dumps` of `[]` / `{}`). What is left, per review: JSON decoding with the duplicate-key hook
(~4 µs), field validation (~3 µs), line reading (~1 µs), the row's dataclasses (~1 µs); the database
part is within ~30 ms of raw `executemany` + commit.
"""

GUI_NOTES = """\
**What the first paint, the sort and the queue do now, and what is left** (issue 17). The trace
above is the critical path: `load_status` (with the product list) -> `open_reviews` -> paint.

1. *Done (stop 26): ranks stored with the scores.* `review_ranks` / `product_ranks` (migration
   `0010_stored_ranks`, `storage/repository/ranks.py`) hold every review's model rank, vote rank,
   implied label, label and rank gaps and sub-score percentiles, and each product's scored count and
   sub-score spreads, under each model. `write_predictions` ranks the products it wrote again in the
   same transaction (about 18 ms per 1,000 predictions, next to seconds of scoring); an import ranks
   again the products whose reviews it changed; the upgrade ranks what was already scored, in SQL.
   Tests hold the stored figures equal to `storage.ranking`'s definitions after random scoring,
   rescoring, vote changes, new reviews, model deletion and the upgrade, on SQLite and PostgreSQL.
2. *Done: the queue is one indexed query.* The order of each mode is an index
   (`-|rank gap|, -|label gap|, review`), walked until the limit passes the filters; one product's
   queue goes by the product index instead (a small product's disagreements are far down the model's
   index). The same queue as `find_disagreements` in every mode, direction, limit and filter
   (tests); 20 ms against a bare 38 ms SELECT (0.5x; 241 ms, 6.4x, at the start of the stop).
3. *Done: the first page reads the ranks of its rows only.* `open_reviews` reads the stored ranks
   and percentiles of the 500 rows it shows (each further page brings its own; the whole product's
   come with the background read of all its rows, which the in-memory sort uses), not the 10,000 x 5
   sub-scores and rank inputs of the product: 101 -> 17 ms alone. The product list's scored counts
   are the stored ones (`list_products` 45 -> 15 ms), the status and the product list are one job,
   the rank-move arrows and the engine's `doctor` process wait for the first page to be painted.
   First paint at 100,000 reviews: 384 ms (15.4x) at the start of the stop, 117 ms (4.8x) now.
4. *Done (stop 27): the first paint at the goal, just.* Of 117 ms (4.8x) at the start of the stop,
   69-72 ms (2.9x) now, in four steps: (a) the review table's most likely first page (of the
   remembered product, else of the product list's first, in the table's remembered sort and filter,
   under the active model) is read in the same job as the status and the product list, and used only
   if the table then asks for exactly that query (a page offered for another query is dropped and the
   right one read: tests/gui/test_gui_browse.py). Read in a second job beside the status instead, both
   took twice as long (they share the GIL): one job after the other is faster. The first product and
   its review count come from the product list read in that job, in the list's own order. (b) A page
   reads its review ids first (sorting ids and keys, not 10,000 rows with their texts), then its 500
   rows by id as plain rows; counting reviews by their own columns skips the row's joins; the
   catalogue summary is counted from the product list (tests/storage/test_first_page_reads.py holds
   each equal to the plain query: every order, direction, filter and page). (c) The first review's
   detail is asked for after the first paint (its job shared the GIL with that paint), and the
   settings writes of opening a database come after the status job has started. (d) The sub-score
   cells paint from the view's own option (no `initStyleOption`, whose eight model lookups a cell
   were half of a repaint; fonts and greys made once per font and palette): a repaint of the table
   10.9 -> 9.5 ms. What is left: the status job is ~45 ms of the 70 (the product list's GROUP BY over
   every review, as the bare baseline's, plus SQLAlchemy compiling each statement once per new
   engine, ~8 ms, and building rows), the table's first paint ~10 ms.
5. *Sort: at the goal.* In memory once the product's rows are read; the review table's `data()`
   answers roles by int lookups (it built an enum object per comparison, half of a repaint) and the
   product list's filter skips Python per row when nothing filters; the cheaper sub-score cells of
   this stop brought it from 0.97-1.01x to 0.56-0.8x of Qt's own proxy sort.
6. *Benchmark harness:* `gui_open.spin` sleeps in Qt's event loop (woken every 2 ms) as the app's
   loop does (stop 26; it polled `processEvents` in a busy Python loop before, holding the GIL
   against the store's workers). Since stop 27 the clock starts once the window is exposed and
   painted: before, it started when `show()` returned, and the window's own first paint (about 20 ms:
   exposing, activating and painting every widget, nothing of opening a catalogue) fell inside the
   figure. On the old harness the first paint of this stop measured 75 ms (3.2x).
7. *Waiting for a paint counts as busy.* Work the table defers until its rows are painted (the rank
   moves, the background reads, now the first review's detail) holds the store busy until it has
   started its jobs (`Store.hold`), so anything that waits for `not store.busy` (tests, benchmarks)
   also waits for it.
8. *Stop 28: the first paint on this machine misses the goal.* Stop 27 measured 72 ms against a bare
   24 ms (2.9x) on its machine; on this stop's machine (another CPU: MiniLM 57 texts/s here, 68
   there) the same code gives 83-91 ms against 26-27 ms, 3.1-3.5x in three runs (the table above is
   one of them). Sampled in the window (every thread, every 0.5 ms): the status job is ~60 ms of
   it (SQL execution about half; fetching the 1,801 products' rows and the page's 500 rows, and the
   page's stored ranks, the rest; ~42 ms when run alone in a warm process), the final repaint of the
   table ~12 ms (20 visible rows, 100 sub-score cells at 40-80 us each plus Qt's own text cells). No
   single part is above 20 ms: what would cut it is a stored per-product count table (the product
   list without its GROUP BY over every review; a migration, kept up to date by every import, flag
   and undo) or cached cell pixmaps. Not done this stop.
9. *Stop 29: the first paint at 2x.* Four changes, each measured in the window: (a) the default
   order's page is a range of the stored model ranks (index `ix_review_ranks_model_order`, migration
   0011), ids and ranks in one indexed read (2.5 against ~16 ms); (b) each product's review and
   labelled-review counts are its own columns (migration 0012; SQLite triggers, the importer on
   PostgreSQL), so the product list has no GROUP BY over every review (16.5 -> 6.6 ms); (c) the heap
   alive once the window is made is frozen out of the collector's full passes (`gui.app.settle_heap`):
   a full pass walked ~140,000 objects, 57-139 ms with every thread stopped, and fell inside two of
   six first paints; (d) greyed sub-score cells are drawn once and copied (repaint 12 -> 9.3 ms).
   Figures: 108 ms = 3.13x at the start of the stop, 51-59 ms = 1.97-2.14x after (the table above:
   the suite run, 59 vs 27.4 ms).
"""

SCALE_NOTES = """\
**Stop 29:** the first paint at 1M is 160 ms (1.05x its bare SELECT; 301 ms at stop 28): the product
list no longer counts every review (stored counts), the first page is an index range of the stored
ranks. Import at 1M 24.8 s (1.88x bare; 1.79x in another run; the count triggers cost ~2 us a
review), memory flat (slope 0.02). The figures below the table are stop 28's reading of it.

**What the scale run says** (stop 28, one run at 10k / 100k / 1M; the 1M catalogue is 375 MiB of JSONL
and a 360 MiB database). *Flat:* the disagreement queue (slope 0.05: 11.5 -> 14.5 ms from 10k to 1M;
its bare SELECT sorts every scored review and grows linearly, so the queue is 0.04x of it at 1M), the
sort of a 10,000-review product (slope -0.03), the app's memory (VmHWM 174 -> 185 MiB after the first
paint, 209 -> 261 MiB at the end, slope 0.05). *Sub-linear:* the first paint (slope 0.17: 142 ms at
100k and 301 ms at 1M, 2.0x its bare SELECT there, whose product-list GROUP BY grows with the
catalogue; at 10k and 100k the window's own first frame dominates the ratio; stop 26 measured 447 ms
at 1M before the first page came with the status). *Linear, as their baselines:* the search index
catch-up after an import (1.16x bare FTS5 at 1M, in 50 steps between which the app stays responsive)
and a search over every review (1.0x). *Import:* 1.8x the bare process's time at 1M; peak memory 1.3
GiB against 0.8 GiB for the bare process, which also holds every row: the validated catalogue is held
whole until it is written, so that a bad line leaves the database untouched (streaming it would need a
second reading pass; not done). *Scoring everything* (untimed setup) includes storing the ranks:
about 47 s at 1M."""


CHANGES = """\
## Code changes for speed (this round)

| where | change | effect (measured here) |
|---|---|---|
| engine/jobs/cache.py | sharded feature cache (one safetensors file per computed batch, header index, atomic rename, plain reads of the needed byte ranges — no mmap), legacy entries read and migrated | rescoring ../shared/data reads ~100 shards instead of opening 11,700 files (~0.3 s for all features); ~180 MiB less peak RSS than with mmap'd shards |
| engine/jobs/score.py | frozen-encoder models loaded without MiniLM; encoder loaded lazily on the first cache miss | cached job: model loading ~2.5 s -> ~0.8 s, 230 MiB less |
| engine/jobs/score.py, storage/repository.py | streaming: review ids up front, then chunks of whole products read with column queries (`review_pks_by_product`, `load_products`) | peak memory flat from 1k to 100k reviews (1.10x of model + one batch) |
| engine/jobs/data.py | inference batches sorted by text lengths, run under `torch.inference_mode`; fp16 states kept fp16; metadata over all reviews of a product | MM-SS head a few % cheaper per review; a partial rescoring gives the same scores as a full one |
| engine/model/explain.py (stop 27) | Shapley coalitions through the linear fusion layer as sums of per-block terms | explaining ../shared/data 0.91 -> 0.17 s, the same parts |
| engine/jobs/score.py, data.py (stop 27) | start-up heap frozen out of the collector's passes during the loop; first pass under `inference_mode` | with the explanation change: the cached rescoring job of ../shared/data 7.9 -> 6.5-6.7 s |
| engine/model/mmss.py, batch.py (stop 28) | blocks that read neither the review text nor the metadata computed once per (product, review images) pair in eval mode; `pad_states` in one copy | cached rescoring of ../shared/data 6.8-7.0 -> 6.4-6.5 s (interleaved runs, no highlights) |
| storage/repository/ranks.py, catalogue.py, migrations 0011-0012, gui/app.py, qt_subscore_delegate.py (stop 29) | default-order pages read from the stored model ranks' index; stored per-product review counts; start-up heap frozen; greyed cells copied | first paint at 100,000 reviews 108 -> 51-59 ms (3.13x -> 1.97-2.14x); 1M: 301 -> 160 ms |
| gui/queries.py, storage/repository/catalogue.py (stop 27) | first page read with the status; ids-then-rows pages; lean counts; summary from the product list | first paint at 100,000 reviews 117 -> 72 ms |
| storage/importers/__init__.py, common.py, jsonl.py | fast paths for known-fields-only rows and empty JSON values (the garbage-collector pause of the same round was removed in stop 20: it aborted the app) | import of ../shared/data 0.371 s, 0.30x of raw executemany |

Before these changes (one thread, under cProfile, which inflates Python-heavy parts): cached rescoring of
../shared/data took 26 s, of which 8 s loading the model with MiniLM and 3.5 s opening 11,700 cache
files; the same profile now gives 7.2 s (see the table above for unprofiled figures).
"""

HOWTO = """\
## Running it

- `pip install -e '.[bench]'` (matplotlib for the plots, py-spy for the profiles).
- `python -m benchmarks` — everything on CPU, writes this file and `docs/perf_*.png`, raw results in
  `benchmarks/results/cpu.json`. `--quick` for a smoke run (report in the work folder), `--only
  scoring,gui_stall` to redo some sections (the others are kept from the saved results), `--gpu` on a
  CUDA machine, `--report` to rewrite the report from saved results.
- Single benchmarks still run alone: `python -m benchmarks.first_launch`, `python -m benchmarks.import_speed`, `python -m benchmarks.scoring
  [--quick]`, `python -m benchmarks.gui_open`, `python -m benchmarks.gui_stall --db FILE`,
  `python -m benchmarks.model_throughput`, `python -m benchmarks.gpu`.
"""
