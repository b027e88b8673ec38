"""Two processes writing one SQLite file at once: flags and predictions, each its own
transaction through ``db.run``; no "database is locked" escapes and every row is there."""
from __future__ import annotations

import multiprocessing as mp
import queue

from sqlalchemy import func, select

from helpers.storage_checks import concurrent_writer
from storage import open_database
from storage import repository as repo
from storage.importers import import_path
from storage.models import AuditEvent, Flag, Prediction, Product, Review

N = 200


def test_two_processes_flag_and_score_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = open_database(url, media_dir=tmp_path / "media")
    with db.begin() as s:  # 200 reviews so each writer's predictions are 200 distinct rows
        s.add(Product(product_id="P", title="p", split="train", image_urls=[], extra={}))
        s.flush()
        ppk = s.scalar(select(Product.id))
        s.add_all(Review(review_id=f"R{i}", product_pk=ppk, text=f"t{i}", helpful_votes=i, image_urls=[], extra={})
                  for i in range(N))
        models = [repo.register_model_version(s, f"m{k}", "/c", "0" * 64).id for k in range(2)]
        review_pks = list(s.scalars(select(Review.id).order_by(Review.id)))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=concurrent_writer, args=(url, str(tmp_path / "media"), f"w{k}", review_pks, models[k], N, out))
        for k in range(2)
    ]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=240))
    except queue.Empty:
        raise AssertionError(f"writers did not finish; got {results}")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert sorted(results) == [("w0", "ok", N), ("w1", "ok", N)], results
    assert [p.exitcode for p in procs] == [0, 0]
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Flag)) == 2 * N
        for k in range(2):
            assert s.scalar(select(func.count()).select_from(Flag).where(Flag.author.like(f"w{k}-%"))) == N
            assert s.scalar(select(func.count()).select_from(Prediction).where(Prediction.model_version_id == models[k])) == N
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "flag.add")) == 2 * N
    db.dispose()


def test_import_while_another_process_flags(tmp_path, good_catalogue):
    """An import (one bulk transaction) and a flagging process on the same file."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = open_database(url, media_dir=tmp_path / "media")
    import_path(db, good_catalogue)
    with db.begin() as s:
        review_pks = list(s.scalars(select(Review.id).order_by(Review.id)))
        model = repo.register_model_version(s, "m", "/c", "0" * 64).id
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=concurrent_writer, args=(url, str(tmp_path / "media"), "w", review_pks, model, 60, out))
    proc.start()
    try:
        for _ in range(5):
            import_path(db, good_catalogue)
        result = out.get(timeout=240)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    assert result == ("w", "ok", 60)
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Flag)) == 60
        assert s.scalar(select(func.count()).select_from(Review)) == 8
    db.dispose()
