"""What storing each score's explanation costs (issue 13), next to scoring without it, measured
in the same run (CPU, one thread, in-process):

1. ``run_score(only_missing=False)`` of a whole catalogue from a warm feature cache (what a
   rescore costs once texts are encoded: the case where the extra work shows most), with
   ``explain=False`` (what scoring did before), ``explain=True, highlight_steps=0`` (the parts
   alone) and ``explain=True`` (the default: parts + the review text highlight), in rotation;
2. the model alone on the same prepared batches: forward, forward + :func:`explain` (the 2^6 = 64
   evaluations of the fusion head per review and the metadata terms), and the text highlight's
   integrated gradients (:mod:`engine.model.text_attribution`, default Gauss-Legendre nodes);
3. the integrated gradients' completeness gap and quadrature error by number of nodes, against a
   32-node integral;
4. the bytes a prediction's explanation (and its highlight) adds to the database.

    .venv/bin/python -m benchmarks.scoring_explain [--data DIR] [--rounds N]

Default catalogue: the bundled sample (resources/sample) scored by the bundled starter model.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from .common import import_folder, median, register_default_model, rotate, section


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="a JSONL catalogue folder (default: the bundled sample)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    import torch
    from sqlalchemy import select

    torch.set_num_threads(1)
    from engine.jobs.common import cache_for
    from engine.jobs.data import FeatureBuilder, inference_batches, make_batch
    from engine.jobs.highlight import KEY
    from engine.jobs.score import load_for_scoring, run_score
    from engine.model.explain import explain
    from engine.model.text_attribution import DEFAULT_STEPS, integrated_gradients
    from resources import SAMPLE_DIR
    from storage import open_database
    from storage import repository as repo
    from storage.models import Prediction

    work = Path(tempfile.mkdtemp(prefix="rs-bench-explain-"))
    data = args.data or SAMPLE_DIR
    db_path = work / "bench.db"
    import_folder(db_path, data)
    model_desc = register_default_model(db_path, work)
    db = open_database(str(db_path))
    run_score(db, device="cpu", explain=False)  # fills the feature cache: every later run is warm
    with db.begin() as s:
        n = repo.count_reviews(s)
        mv = repo.get_active_model(s)
    section(f"rescoring {n} reviews of {data.name} ({model_desc}), warm feature cache, {args.rounds} rounds")

    times = rotate({
        "without parts": lambda: run_score(db, device="cpu", only_missing=False, explain=False),
        "with parts": lambda: run_score(db, device="cpu", only_missing=False, explain=True, highlight_steps=0),
        "with parts + highlight": lambda: run_score(db, device="cpu", only_missing=False, explain=True),
    }, args.rounds, warmup=True)
    plain, parts = median(times["without parts"]), median(times["with parts"])
    light = median(times["with parts + highlight"])
    print(f"  scoring without parts: {plain:.3f} s ({n / plain:.0f} reviews/s)")
    print(f"  scoring with parts:    {parts:.3f} s ({n / parts:.0f} reviews/s)")
    print(f"  scoring with parts + text highlight ({DEFAULT_STEPS} nodes): {light:.3f} s ({n / light:.0f} reviews/s)")
    print(f"  ratio (with parts / without): {parts / plain:.3f}x; extra {1000 * (parts - plain) / n:.3f} ms a review")
    print(f"  ratio (with parts + highlight / with parts): {light / parts:.3f}x; "
          f"the highlight adds {1000 * (light - parts) / n:.3f} ms a review")

    section("the model alone on the same batches (batch 64): forward vs forward + explain")
    net, _config = load_for_scoring(mv, "cpu")
    with db.begin() as s:
        products = repo.load_catalogue(s, db.media_dir, use_corrections=False)
    prepared = FeatureBuilder(net, cache_for(db)).build(products)
    batches = [make_batch(prepared, idx, net) for idx in inference_batches(prepared, 64)]

    def forward():
        for b in batches:
            net.predict(b)

    def forward_explain():
        for b in batches:
            explain(net, net.predict(b))

    def highlight():
        for b in batches:
            integrated_gradients(net, b, DEFAULT_STEPS)

    t = rotate({"forward": forward, "forward + explain": forward_explain, "highlight": highlight},
               args.rounds, warmup=True)
    f, fe, ig = median(t["forward"]), median(t["forward + explain"]), median(t["highlight"])
    print(f"  forward: {f:.3f} s; forward + explain: {fe:.3f} s; ratio {fe / f:.3f}x "
          f"({1000 * (fe - f) / len(prepared):.3f} ms a review for the 64 head evaluations)")
    print(f"  integrated gradients ({DEFAULT_STEPS} Gauss-Legendre nodes): {ig:.3f} s = {ig / f:.1f}x the forward "
          f"({1000 * ig / len(prepared):.3f} ms a review)")

    section("integrated gradients: completeness gap and quadrature error (zero baseline)")
    ref = [integrated_gradients(net, b, 32) for b in batches]
    deltas = torch.cat([r.delta.abs() for r in ref])
    print(f"  |f(x) - f(baseline)| over the reviews: median {deltas.median():.4f}, max {deltas.max():.4f}")
    for rule, steps in (("gauss-legendre", 2), ("gauss-legendre", 4), ("gauss-legendre", 8), ("midpoint", 16),
                        ("midpoint", 32)):
        igs = [integrated_gradients(net, b, steps, rule=rule) for b in batches]
        gap = torch.cat([x.gap.abs() for x in igs])
        err = torch.cat([((x.values - r.values).abs().amax(1) / r.values.abs().amax(1).clamp_min(1e-12))
                         for x, r in zip(igs, ref)])
        print(f"  {rule} {steps:2d}: |gap| median {gap.median():.1e}, max {gap.max():.1e}; token error vs 32 nodes, "
              f"relative to the review's largest |token|: max {err.max():.1e}")

    section("storage")
    with db.begin() as s:
        pk = repo.page_reviews(s, None, model_version_id=mv.id, limit=1)[0].id
        sample = repo.score_parts(s, mv.id, pk)
    raw = {"version": 1, "reference": sample.reference, "base": sample.base, "score": sample.score,
           "parts": [[p.key, p.label, p.value] for p in sample.parts]}
    size = len(json.dumps(raw))
    print(f"  one explanation: {len(sample.parts)} parts, {size} bytes of JSON (x {n} reviews = {size * n / 1e6:.2f} MB); "
          f"reference: {sample.reference}")
    t0 = time.monotonic()
    with db.begin() as s:
        repo.score_parts(s, mv.id, pk)
    print(f"  reading one review's parts: {1000 * (time.monotonic() - t0):.2f} ms")
    run_score(db, device="cpu", only_missing=False)  # the rotation may have ended on a variant without highlights
    with db.begin() as s:
        stored = [e for e in s.scalars(select(Prediction.explanation).where(Prediction.model_version_id == mv.id))
                  if e and KEY in e]
    sizes = sorted(len(json.dumps(e[KEY], separators=(",", ":"))) for e in stored)
    if sizes:
        print(f"  text highlights: {len(sizes)} stored, median {sizes[len(sizes) // 2]} bytes of JSON, max {sizes[-1]} "
              f"(x {n} reviews = {sum(sizes) / 1e6:.2f} MB)")
    db.dispose()


if __name__ == "__main__":
    main()
