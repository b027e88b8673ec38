"""Train the bundled starter model on ../shared/data (train/dev only) and write it to
resources/models/starter/ (safetensors + model card; the frozen MiniLM is not stored).

Run:  HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.make_starter [--data ../shared/data]

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
    ap.add_argument("--reference-only", action="store_true", help="only add the training means to model.json")
    args = ap.parse_args()
    if args.reference_only:
        add_reference(Path(args.data), Path(args.workdir or tempfile.mkdtemp(prefix="rs-starter-")))
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
