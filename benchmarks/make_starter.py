"""Train the bundled starter model on ../shared/data (train/dev only) and write it to
resources/models/starter/ (safetensors + model card; the frozen MiniLM is not stored).

Run:  HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.make_starter [--data ../shared/data]

Then (and alone with ``--sample-scores-only``, after any change of the starter, the sample, the
importer or the model code) the starter's scores of the bundled sample are computed by a real
``engine score`` run and written to resources/models/starter/sample_scores.json.gz, which the
first launch uses instead of a minute of scoring (engine/starter.py says when they apply).

``--reference-only`` trains nothing: it adds to the bundled model's model.json the mean of each
F_c block over its training reviews (the "absent" reference of a score's explanation,
engine/model/explain.py), which training now stores itself; the weights and their sha256 stay.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from resources import STARTER_MODEL_DIR as TARGET

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--sample-scores-only", action="store_true", help="keep the starter, recompute its sample scores")
    ap.add_argument("--reference-only", action="store_true", help="only add the training means to model.json")
    args = ap.parse_args()
    if args.reference_only:
        add_reference(Path(args.data), Path(args.workdir or tempfile.mkdtemp(prefix="rs-starter-")))
        write_sample_scores()  # the explanations of the shipped scores use the new means
        return
    if args.sample_scores_only:
        write_sample_scores()
        return

    from engine.jobs.train import TrainOptions, run_train
    from storage import open_database
    from storage.importers import import_path

    work = Path(args.workdir or tempfile.mkdtemp(prefix="rs-starter-"))
    work.mkdir(parents=True, exist_ok=True)
    db = open_database(f"sqlite:///{work / 'starter.db'}")
    import_path(db, args.data)
    t0 = time.monotonic()
    res = run_train(
        db,
        TrainOptions(recipe="cpu-quick", seed=args.seed, name="starter", device="cpu"),
        on_event=lambda name, **f: print(name, {k: v for k, v in f.items() if k in ("epoch", "dev", "message")}, flush=True)
        if name in ("epoch", "stage") else None,
    )
    minutes = (time.monotonic() - t0) / 60
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(res.checkpoint, TARGET)
    print(f"starter model written to {TARGET}: metrics {res.metrics}; trained in {minutes:.1f} min (incl. feature encoding)")
    write_sample_scores()


def write_sample_scores() -> None:
    """The starter's scores of the bundled sample, by a real scoring run, shipped beside it."""
    import resources
    from engine.jobs.score import run_score
    from engine.starter import SAMPLE_SCORES, dump_shipped_scores, ensure_starter_model
    from storage import open_database
    from storage.importers import import_path

    work = Path(tempfile.mkdtemp(prefix="rs-sample-scores-"))
    db = open_database(f"sqlite:///{work / 'sample.db'}")
    import_path(db, resources.sample_path())
    ensure_starter_model(db)
    t0 = time.monotonic()
    result = run_score(db, "starter", only_missing=False, device="cpu")  # named: never the shipped file itself
    n = dump_shipped_scores(db, "starter")
    db.dispose()
    shutil.rmtree(work, ignore_errors=True)
    print(f"{n} sample scores ({result.scored} scored in {time.monotonic() - t0:.0f} s) written to {SAMPLE_SCORES} "
          f"({SAMPLE_SCORES.stat().st_size:,} bytes)")


def add_reference(data: Path, work: Path) -> None:
    """Each F_c block's mean over the starter's training reviews (the train split of ``data``,
    labelled reviews, as training read them) into its model.json."""
    from engine.checkpoint import load_checkpoint, store_fusion_reference
    from engine.jobs.common import cache_for
    from engine.jobs.data import FeatureBuilder, block_means
    from storage import open_database
    from storage import repository as repo
    from storage.importers import import_path

    work.mkdir(parents=True, exist_ok=True)
    db = open_database(f"sqlite:///{work / 'starter.db'}")
    import_path(db, data)
    with db.begin() as s:
        train = repo.load_catalogue(s, db.media_dir, splits=["train"])
    model, _config, _card = load_checkpoint(TARGET)
    prepared = FeatureBuilder(model, cache_for(db)).build(train, labelled_only=True)
    model.fusion_reference = block_means(model, prepared)
    store_fusion_reference(TARGET, model)
    print(f"fusion_reference of {len(prepared)} training reviews written to {TARGET / 'model.json'}")


if __name__ == "__main__":
    main()
