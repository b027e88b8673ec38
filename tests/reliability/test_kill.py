"""kill -9 at random points of the importer, of ``score``, of ``train`` and of the app while
it flags (subprocesses, several seeds). Afterwards: PRAGMA integrity_check is ok and no
foreign key dangles, every acknowledged flag is there, no import is half present, no
ModelVersion points at a missing or partial checkpoint, and the next run recovers by itself.

The kill points are drawn from the seeds (uniform delays after a progress event), so a round
lands in different phases: reading, writing, committing, after the commit. What each round
hit is printed (``pytest -s``) and collected in ``KILL_LOG`` for the summary test.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import faultkit as fk
from helpers.storage_checks import media_files, table_checksums, write_good_catalogue
from storage import open_database
from storage import repository as repo
from storage.importers import import_path
from storage.models import AuditEvent, Flag, Image, Prediction, Product, Review

KILL_LOG: list[str] = []


def _note(msg: str) -> None:
    KILL_LOG.append(msg)
    print(msg)


def _assert_healthy(db_file: Path) -> None:
    ok, fks = fk.sqlite_health(db_file)
    assert ok == "ok", ok
    assert fks == [], fks


def _assert_url_healthy(url: str) -> None:
    """SQLite: integrity_check and foreign_key_check. PostgreSQL checks both on every commit
    (a torn page or a dangling key cannot be committed), so there it is the server's own word."""
    if url.startswith("sqlite:///"):
        _assert_healthy(Path(url.removeprefix("sqlite:///")))


@pytest.fixture(params=["sqlite", "postgresql"])
def kill_url(request, tmp_path) -> str:
    """The database the killed processes write to: a SQLite file, or a fresh schema on the
    PostgreSQL server of .ci/run (team mode; skipped with the reason where there is none)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


# ------------------------------------------------------------------------ the app, flagging


@pytest.fixture
def flag_store(kill_url) -> str:
    db = open_database(kill_url)
    fk.fill_catalogue(db, n_products=6, seed=3)
    db.dispose()
    return kill_url


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_kill_while_flagging_loses_no_acknowledged_flag(flag_store, tmp_path, seed):
    rng = random.Random(seed)
    child = fk.ChildRun(fk.kit_cmd("flagger", flag_store, "--seed", str(seed), "--n", "1000000",
                                   "--author", f"mod{seed}", "--undo-every", "4"),
                        fk.child_env(), stderr_path=tmp_path / "err.txt").start()
    assert child.wait_for(lambda line: line == "READY", timeout=60), child.stderr()
    ready_at = child.lines[-1][0]
    delay = rng.uniform(0.1, 0.8)
    child.wait_for(lambda line: False, timeout=delay)
    child.kill()
    child.finish()
    added, undone = fk.acknowledged(child.text)
    assert not any(line.startswith("ERR") for line in child.text), child.text[-3:]
    _note(f"flagger seed {seed}: killed {child.killed_at - ready_at:.2f}s after READY, "
          f"{len(added)} flags and {len(undone)} undos acknowledged")
    assert len(added) > 0

    _assert_url_healthy(flag_store)
    db = open_database(flag_store)
    with db.begin() as s:
        flags = {f.id: f for f in repo.list_flags(s, include_undone=True)}
        audited = set(s.scalars(select(AuditEvent.details["flag_id"].as_integer())
                                .where(AuditEvent.action == "flag.add")))
    lost = [fid for fid in added if fid not in flags]
    assert lost == [], f"acknowledged flags lost: {lost}"
    assert all(flags[fid].undone for fid in undone), "an acknowledged undo was lost"
    assert all(flags[fid].author == f"mod{seed}" for fid in added)
    assert set(added) <= audited, "a flag without its audit event (not one transaction)"
    # at most the one action in flight when the kill came may have committed unacknowledged
    assert len(flags) - len(added) <= 1
    # recovery: the next session flags normally
    again = fk.ChildRun(fk.kit_cmd("flagger", flag_store, "--seed", str(seed + 100), "--n", "40"), fk.child_env(),
                        stderr_path=tmp_path / "err2.txt").start()
    assert again.finish() == 0, again.stderr()
    assert any(line.startswith("DONE 40") for line in again.text)
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Flag)) >= len(flags) + 30
    db.dispose()
    _assert_url_healthy(flag_store)


# ------------------------------------------------------------------------ the importer

BIG_PRODUCTS, BIG_REVIEWS_EACH, BIG_IMAGES = 200, 150, 40


@pytest.fixture(scope="module")
def big_catalogue(tmp_path_factory) -> Path:
    return fk.write_jsonl_catalogue(tmp_path_factory.mktemp("big") / "cat", BIG_PRODUCTS, BIG_REVIEWS_EACH, BIG_IMAGES)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_importer_leaves_all_or_nothing(big_catalogue, kill_url, tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setenv("REVIEWSCOPE_DATA_DIR", str(tmp_path))  # a server database's media: here, as the child's
    db = open_database(kill_url)
    import_path(db, write_good_catalogue(tmp_path / "good"))
    with db.begin() as s:  # some moderation work that must survive
        pks = list(s.scalars(select(Review.id)))
        flag_ids = [repo.add_flag(s, pk, "spam", "mod").id for pk in pks[:3]]
    before = table_checksums(db)
    db.dispose()

    env = fk.child_env(REVIEWSCOPE_DB=kill_url, REVIEWSCOPE_DATA_DIR=str(tmp_path))
    child = fk.ChildRun(fk.engine_cmd("import", str(big_catalogue), "--json-progress"),
                        env, stderr_path=tmp_path / "err.txt").start()

    def read_all(line: str) -> bool:  # the last progress event of the reading phase
        try:
            e = json.loads(line)
        except ValueError:
            return False
        return e.get("event") == "progress" and e.get("total") and e.get("done") == e.get("total")

    assert child.wait_for(read_all, timeout=60), child.stderr()
    child.wait_for(lambda line: False, timeout=rng.uniform(0.0, 1.6))  # the write takes ~1 s
    child.kill()
    rc = child.finish()
    finished = any('"event": "done"' in line for line in child.text)

    _assert_url_healthy(kill_url)
    db = open_database(kill_url)
    with db.begin() as s:
        n_products = s.scalar(select(func.count()).select_from(Product).where(Product.product_id.like("K%")))
        n_reviews = s.scalar(select(func.count()).select_from(Review).where(Review.review_id.like("K%")))
        assert {f.id for f in repo.list_flags(s)} >= set(flag_ids)
    state = "complete" if n_products else "absent"
    _note(f"importer seed {seed}: killed={child.killed_at is not None} rc={rc} import {state} "
          f"(done event seen: {finished})")
    assert (n_products, n_reviews) in {(0, 0), (BIG_PRODUCTS, BIG_PRODUCTS * BIG_REVIEWS_EACH)}, "half an import"
    if n_products == 0:
        assert table_checksums(db) == before
    _assert_media_whole(db)
    # recovery: importing again completes (and is idempotent if it had completed)
    again = fk.ChildRun(fk.engine_cmd("import", str(big_catalogue)), env, stderr_path=tmp_path / "err2.txt").start()
    assert again.finish() == 0, again.stderr()
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Review).where(Review.review_id.like("K%"))) == \
            BIG_PRODUCTS * BIG_REVIEWS_EACH
        assert s.scalar(select(func.count()).select_from(Image)) == BIG_IMAGES + 2
        named = set(s.scalars(select(Image.relpath)))
    _assert_media_whole(db)
    if db.is_sqlite:  # its media folder is its own: the next import removed what the kill left
        assert media_files(db) == named
    db.dispose()
    _assert_url_healthy(kill_url)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_search_index_catch_up_leaves_it_behind_or_whole(big_catalogue, tmp_path, seed):
    """An import leaves its reviews out of the full-text index (migration 0009_search_backlog);
    ``index-search`` (what the first search does) killed at a random moment: the index is either
    still behind by every one of them or holds them all, and the next search answers over all."""
    rng = random.Random(seed)
    db_file = tmp_path / "store.db"
    db = open_database(str(db_file), media_dir=tmp_path / "media")
    import_path(db, big_catalogue)
    n = BIG_PRODUCTS * BIG_REVIEWS_EACH
    with db.begin() as s:
        assert repo.search_backlog(s) == n
    db.dispose()
    env = fk.child_env(REVIEWSCOPE_DATA_DIR=str(tmp_path))
    child = fk.ChildRun(fk.engine_cmd("index-search", "--db", str(db_file), "--json-progress"), env,
                        stderr_path=tmp_path / "err.txt").start()
    assert child.wait_for(lambda line: '"started"' in line, timeout=60), child.stderr()
    child.wait_for(lambda line: False, timeout=rng.uniform(0.0, 0.6))  # the catch-up takes ~0.3-1 s
    child.kill()
    rc = child.finish()
    _assert_healthy(db_file)
    db = open_database(str(db_file), media_dir=tmp_path / "media")
    with db.begin() as s:
        behind = repo.search_backlog(s)
        indexed = s.scalar(text("SELECT count(*) FROM reviews_fts_docsize"))
    _note(f"index-search seed {seed}: killed={child.killed_at is not None} rc={rc}, {behind} behind, {indexed} indexed")
    assert (behind, indexed) in {(n, 0), (0, n)}, "half a catch-up"
    with db.begin() as s:
        hits = repo.search_reviews(s, "t", limit=500)  # every review's title is "t"
        assert len(hits.hits) == 500 and hits.has_more and repo.search_backlog(s) == 0
    with db.begin() as s:
        s.execute(text("INSERT INTO reviews_fts(reviews_fts, rank) VALUES ('integrity-check', 1)"))
        assert s.scalar(text("SELECT count(*) FROM reviews_fts_docsize")) == n
    db.dispose()


def _assert_media_whole(db) -> None:
    """Every image row points at a whole file with its sha256 (orphan files are allowed:
    a killed import may leave some, they are never referenced)."""
    with db.begin() as s:
        rows = s.execute(select(Image.sha256, Image.relpath)).all()
    for sha, rel in rows:
        p = Path(db.media_dir) / rel
        assert p.is_file() and fk.sha256_file(p) == sha, rel


# ------------------------------------------------------------------------ score


def test_kill_score_then_next_score_continues(store_copy, tmp_path):
    url = f"sqlite:///{store_copy}"
    db = open_database(url)
    fk.fill_catalogue(db, n_products=80, seed=9, prefix="S")  # ~640 more reviews, not scored yet
    with db.begin() as s:
        mv = repo.get_active_model(s)
        total = repo.count_reviews(s)
        per_product = dict(s.execute(select(Review.product_pk, func.count()).group_by(Review.product_pk)).all())
    seen_partial = 0
    for seed in (1, 2):
        rng = random.Random(seed)
        child = fk.ChildRun(fk.kit_cmd("score", url, "--chunk", "4"), fk.child_env(),
                            stderr_path=tmp_path / f"score{seed}.txt").start()
        started = child.wait_for(lambda line: '"event": "progress"' in line, timeout=90)
        assert started or child.proc.poll() == 0, child.stderr()
        child.wait_for(lambda line: False, timeout=rng.uniform(0.02, 0.25))
        child.kill()
        child.finish()
        _assert_healthy(store_copy)
        with db.begin() as s:
            scored = dict(s.execute(
                select(Review.product_pk, func.count()).join(Prediction, Prediction.review_pk == Review.id)
                .where(Prediction.model_version_id == mv.id).group_by(Review.product_pk)).all())
            bad = s.scalar(select(func.count()).select_from(Prediction).where(
                (Prediction.score != Prediction.score) | Prediction.s_pt_rt.is_(None)))
        done = sum(scored.values())
        _note(f"score round {seed}: killed={child.killed_at is not None}, {done}/{total} reviews scored")
        # chunks are whole products, each one transaction: no product is half scored
        assert all(n == per_product[p] for p, n in scored.items()), "a half-written chunk"
        assert bad == 0
        seen_partial += 0 < done < total
    with db.begin() as s:
        kept = {p.review_pk: p.score for p in s.scalars(select(Prediction).where(Prediction.model_version_id == mv.id))}
    missing = total - len(kept)
    assert missing > 0, "both kills came after the scoring ended: nothing left to continue"
    # recovery: the plain CLI goes on with exactly the missing reviews
    final = fk.ChildRun(fk.engine_cmd("score", "--db", url, "--json-progress", "--device", "cpu"), fk.child_env(),
                        stderr_path=tmp_path / "final.txt").start()
    assert final.finish(timeout=120) == 0, final.stderr()
    done_event = [json.loads(line) for line in final.text if '"event": "done"' in line][-1]
    assert done_event["scored"] == missing
    with db.begin() as s:
        now = {p.review_pk: p.score for p in s.scalars(select(Prediction).where(Prediction.model_version_id == mv.id))}
    assert len(now) == total
    assert all(now[pk] == sc for pk, sc in kept.items()), "earlier predictions were rewritten"
    _note(f"score: the next run scored the {missing} missing of {total} reviews; "
          f"{seen_partial} of 2 kills left a partial scoring")
    db.dispose()
    _assert_healthy(store_copy)


# ------------------------------------------------------------------------ train

def test_kill_train_then_next_train_recovers(store_copy, tiny_config, tmp_path):
    """Three trainers killed: at a random moment of training; while the checkpoint is being
    written (weights in the temporary folder, not yet renamed); while the ModelVersion is
    being registered (transaction open). Then the next train run recovers by itself."""
    url = f"sqlite:///{store_copy}"
    db = open_database(url)
    rounds = [
        ("mid-training", fk.engine_cmd("train", "--db", url, "--config", tiny_config, "--json-progress",
                                       "--name", "k1", "--device", "cpu"), '"event": "step"', 0.5),
        ("checkpoint write", fk.kit_cmd("train", url, "--config", tiny_config, "--name", "k2",
                                        "--pause-at", "checkpoint"), "PAUSE checkpoint", 0.0),
        ("registration", fk.kit_cmd("train", url, "--config", tiny_config, "--name", "k3",
                                    "--pause-at", "register"), "PAUSE register", 0.0),
    ]
    killed: dict[int, str] = {}  # run id -> where its trainer was killed
    for seed, (where, cmd, trigger, max_delay) in enumerate(rounds, 1):
        rng = random.Random(seed)
        child = fk.ChildRun(cmd, fk.child_env(), stderr_path=tmp_path / f"train{seed}.txt").start()
        reached = child.wait_for(lambda line, trigger=trigger: trigger in line, timeout=120)
        assert reached, child.stderr()[-2000:]
        child.wait_for(lambda line: False, timeout=rng.uniform(0.0, max_delay))
        child.kill()
        child.finish()
        events = [json.loads(line) for line in child.text if line.startswith("{")]
        run_id = next(e["run_id"] for e in events if e.get("event") == "start")
        finished = any(e.get("event") == "done" for e in events)
        _note(f"train round {seed}: killed during {where}; 'done' printed before the kill: {finished}")
        _assert_healthy(store_copy)
        assert fk.checkpoint_problems(db) == []  # no version points at a missing or partial checkpoint
        with db.begin() as s:
            names = {m.name for m in repo.list_model_versions(s)}
        assert (f"k{seed}" in names) == finished, "a model registered without its run finishing, or lost"
        if not finished:
            killed[run_id] = where
    leftovers = sorted(p.name for p in (store_copy.parent / "store-models").iterdir() if p.name.startswith("."))
    _note(f"train: temporary checkpoint folders left by the kills: {leftovers}")

    # recovery: the next train run marks the dead runs 'interrupted' and succeeds
    final = fk.ChildRun(fk.engine_cmd("train", "--db", url, "--config", tiny_config, "--json-progress",
                                      "--name", "recovered", "--device", "cpu"),
                        fk.child_env(), stderr_path=tmp_path / "final.txt").start()
    assert final.finish(timeout=180) == 0, final.stderr()
    with db.begin() as s:
        runs = {r.id: r for r in repo.list_training_runs(s)}
        versions = {m.id: m.name for m in repo.list_model_versions(s)}
    assert "recovered" in versions.values()
    after = sorted(p.name for p in (store_copy.parent / "store-models").iterdir() if p.name.startswith("."))
    assert after == [], "the next engine start did not clean the temporary folders of the killed trainers"
    _note(f"train: temporary checkpoint folders after the next start: {after}")
    assert [r.id for r in runs.values() if r.status == "running"] == []
    for run_id, where in killed.items():
        r = runs[run_id]
        if where == "mid-training":  # a random kill may fall between its last commit and "done"
            assert r.status == "interrupted" or (r.status == "succeeded" and r.model_version_id in versions), r
        else:  # the pauses are before the run's final commit
            assert r.status == "interrupted", (where, r)
    assert fk.checkpoint_problems(db) == []
    n_int = sum(r.status == "interrupted" for r in runs.values())
    _note(f"train: {len(killed)} trainers killed before 'done'; {n_int} runs they left 'running' are now "
          "'interrupted' (marked by the next train run, which succeeded)")
    db.dispose()
    _assert_healthy(store_copy)
