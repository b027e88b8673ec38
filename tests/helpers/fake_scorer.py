"""A stand-in for ``python -m engine`` that scores the way ``engine score`` does to the store,
without torch: the reviews the model has not scored, in batches of ``FAKE_SCORE_CHUNK``, one
transaction each, with the same JSON events (engine/events.py) and the same stop rule (SIGTERM:
stop before the next batch, say ``cancelled`` then ``done``, exit 0).

``FAKE_SCORE_GATE``: a file path; after its first batch the scorer waits until that file exists
(or SIGTERM comes), so a test sees the job mid-way for as long as it needs. ``doctor`` and
``recipes`` answer what the app asks at start.

Run as ``python tests/helpers/fake_scorer.py score --json-progress [--model NAME]`` with the
database in ``$REVIEWSCOPE_DB`` (as the app passes it).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def score(args: list[str]) -> int:
    from storage import open_database
    from storage import repository as repo
    from storage.records import PredictionIn

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    chunk = int(os.environ.get("FAKE_SCORE_CHUNK", "10"))
    gate = os.environ.get("FAKE_SCORE_GATE")
    name = args[args.index("--model") + 1] if "--model" in args else None
    db = open_database(os.environ["REVIEWSCOPE_DB"])
    with db.begin() as s:
        mv = repo.get_model_version(s, name) if name else repo.get_active_model(s)
        if mv is None:
            print("error: no model to score with", file=sys.stderr)
            return 2
        model, model_id = mv.name, mv.id
        pks = repo.review_pks_missing_prediction(s, model_id)
    emit("start", model=model, reviews=len(pks), device="cpu")
    t0 = time.monotonic()
    done = 0
    for i in range(0, len(pks), chunk):
        if stop["flag"]:
            emit("cancelled", scored=done)
            break
        batch = [PredictionIn(pk, (pk % 17) / 4.0 - 2.0, tuple((pk * (k + 3)) % 11 / 10.0 for k in range(5)))
                 for pk in pks[i:i + chunk]]
        db.run(lambda s: repo.write_predictions(s, model_id, batch))
        done += len(batch)
        el = max(time.monotonic() - t0, 1e-6)
        emit("progress", done=done, total=len(pks), reviews_per_s=round(done / el, 2),
             eta_s=round((len(pks) - done) * el / done, 1))
        if gate and i == 0:
            while not stop["flag"] and not os.path.exists(gate):
                time.sleep(0.02)
    seconds = time.monotonic() - t0
    emit("done", model=model, scored=done, seconds=round(seconds, 3))
    db.dispose()
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        return 2
    if argv[0] == "doctor":
        print(json.dumps({"torch": "2.x", "cuda": False, "device": "cpu (fake)"}))
        return 0
    if argv[0] == "recipes":
        print(json.dumps({"recipes": {"cpu-quick": {}, "gpu-full": {}}, "fields": []}))
        return 0
    if argv[0] == "score":
        return score(argv[1:])
    print(f"error: the fake scorer does not do {argv[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
