"""What storing each score's explanation costs (issue 13), next to scoring without it, measured
in the same run (CPU, one thread, in-process):

1. ``run_score(only_missing=False)`` of a whole catalogue from a warm feature cache (what a
   rescore costs once texts are encoded: the case where the extra work shows most), with
   ``explain=False`` (what scoring did before) and ``explain=True`` (the default), in rotation;
2. the model alone on the same prepared batches: forward, and forward + :func:`explain`
   (the 2^6 = 64 evaluations of the fusion head per review and the metadata terms);
3. the bytes a prediction's explanation adds to the database.

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

    torch.set_num_threads(1)
    from engine.jobs.common import cache_for
    from engine.jobs.data import FeatureBuilder, inference_batches, make_batch
    from engine.jobs.score import load_for_scoring, run_score
    from engine.model.explain import explain
    from resources import SAMPLE_DIR
    from storage import open_database
    from storage import repository as repo

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
        "with parts": lambda: run_score(db, device="cpu", only_missing=False, explain=True),
    }, args.rounds, warmup=True)
    plain, parts = median(times["without parts"]), median(times["with parts"])
    print(f"  scoring without parts: {plain:.3f} s ({n / plain:.0f} reviews/s)")
    print(f"  scoring with parts:    {parts:.3f} s ({n / parts:.0f} reviews/s)")
    print(f"  ratio (with / without): {parts / plain:.3f}x; extra {1000 * (parts - plain) / n:.3f} ms a review")

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

    t = rotate({"forward": forward, "forward + explain": forward_explain}, args.rounds, warmup=True)
    f, fe = median(t["forward"]), median(t["forward + explain"])
    print(f"  forward: {f:.3f} s; forward + explain: {fe:.3f} s; ratio {fe / f:.3f}x "
          f"({1000 * (fe - f) / len(prepared):.3f} ms a review for the 64 head evaluations)")

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
    db.dispose()


if __name__ == "__main__":
    main()
