"""Team mode: several moderators share one PostgreSQL database. Same migrations, same
repository functions, concurrent flagging from several processes with no lost updates
(each flag and undo its own transaction), and conflicting edits of one flag resolved by the
flag's version column: the loser gets ConflictError.

The server: ``$REVIEWSCOPE_TEST_PG_URL`` (.ci/run starts one), else a throw-away cluster
these tests start themselves (pgserver.py); skipped, with the reason, when neither works.
The conflict and lost-update tests run on SQLite as well.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, inspect, select

import faultkit as fk
from helpers.storage_checks import good_reviews, product_counts_as_counted, write_good_catalogue
from storage import db as storage_db
from storage import open_database
from storage import repository as repo
from storage.errors import ConflictError, StorageError
from storage.importers import import_path
from storage.models import AuditEvent, Base, Flag, Prediction
from storage.records import PredictionIn, ReviewFilter


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.db'}"
    return request.getfixturevalue("pg_url")


# ------------------------------------------------------------------------ schema and functions


def test_same_migrations_and_repository_functions_on_postgresql(pg_url, tmp_path):
    db = open_database(pg_url, media_dir=tmp_path / "media")
    assert db.is_postgresql
    assert storage_db.current_revision(db.engine) == storage_db.head_revision()
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    db.dispose()
    db = open_database(pg_url.replace("postgresql+psycopg://", "postgresql://"), media_dir=tmp_path / "media")  # reopen
    assert db.engine.url.get_driver_name() == "psycopg"

    report = import_path(db, write_good_catalogue(tmp_path / "good"))
    assert (report.products_added, report.reviews_added) == (3, 8)
    again = import_path(db, write_good_catalogue(tmp_path / "good"))  # idempotent
    assert again.reviews_added == 0
    with db.begin() as s:  # each product's counts (0012), kept by the importer on PostgreSQL
        assert product_counts_as_counted(s)[0] == product_counts_as_counted(s)[1] == {
            p.id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)}
        before = {p.product_id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)}
    moved = [{**r, "product_id": "P3"} if r["review_id"] == "R2" else r for r in good_reviews()]
    moved = [{**r, "label": None, "helpful_votes": 0} if r["review_id"] == "R5" else r for r in moved]
    import_path(db, write_good_catalogue(tmp_path / "moved", reviews=moved))
    with db.begin() as s:
        stored, counted = product_counts_as_counted(s)
        after = {p.product_id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)}
    assert stored == counted
    assert after == {"P1": (before["P1"][0] - 1, before["P1"][1] - 1), "P2": (2, before["P2"][1] - 1),
                     "P3": (before["P3"][0] + 1, before["P3"][1] + 1)}
    import_path(db, write_good_catalogue(tmp_path / "good"))  # and back
    with db.begin() as s:
        assert {p.product_id: (p.n_reviews, p.n_labeled) for p in repo.list_products(s)} == before

    with db.begin() as s:
        products = repo.list_products(s)
        p1 = next(p for p in products if p.product_id == "P1")
        rows = repo.page_reviews(s, p1.id, order_by="votes", descending=True)
        assert [r.review_id for r in rows] == ["R4", "R3", "R2", "R1"]
        assert repo.count_reviews(s, None, ReviewFilter(text="kettle")) == 1
        mv = repo.register_model_version(s, "m1", "/nowhere", "0" * 64, activate=True, metrics={"dev": {"MAP": 1.0}})
        repo.write_predictions(s, mv.id, [PredictionIn(r.id, float(i), (0.1,) * 5) for i, r in enumerate(rows)])
        assert repo.get_active_model(s).name == "m1"

    r4 = rows[0].id
    f = db.run(lambda s: repo.add_flag(s, r4, "model too low", "alice", corrected_label=4, note="clearly helpful"))
    u = db.run(lambda s: repo.undo_flag(s, f.id, "alice", expected_version=f.version))
    r = db.run(lambda s: repo.redo_flag(s, f.id, "bob", expected_version=u.version))
    e = db.run(lambda s: repo.edit_flag(s, f.id, "bob", r.version, note="agreed"))
    assert (f.version, u.version, r.version, e.version) == (1, 2, 3, 4)
    with db.begin() as s:
        assert repo.corrected_labels(s) == {r4: 4}
        assert repo.active_flag(s, r4).note == "agreed"
        detail = repo.get_review_detail(s, r4, mv.id, db.media_dir)
        assert detail.row.flag_id == f.id and len(detail.flags) == 1
        actions = [a.action for a in repo.list_audit_events(s, target_kind="review", target_id=r4)]
        assert actions == ["flag.edit", "flag.redo", "flag.undo", "flag.add"]
        ranks = repo.product_rank_inputs(s, p1.id, mv.id)
        assert len(ranks) == 4
        # disputed sub-scores (0007's child table, its CHECKs and the GROUP BY that counts them)
        d = repo.add_flag(s, rows[1].id, "sub-score wrong", "alice", model_version_id=mv.id,
                          interactions={"p_t r_t": "too_high", "r_t r_v": "too_low"})
        assert repo.edit_flag(s, d.id, "bob", d.version, interactions={"p_t r_t": "too_low"}).version == d.version + 1
        counts = {c.interaction: (c.reviews, c.too_high, c.too_low) for c in repo.dispute_counts(s, mv.id)}
        assert counts["p_t r_t"] == (1, 0, 1) and counts["r_t r_v"] == (0, 0, 0)
        assert repo.disputed_interactions(s) == {rows[1].id: ("p_t r_t",)}
        # long names are clipped, not refused (PostgreSQL enforces VARCHAR widths)
        repo.add_flag(s, r4, "spam", "x" * 500)
        run = repo.start_training_run(s, {"epochs": 1})
        assert repo.mark_stale_runs(s, spare_live=True) == 0  # our own process: alive
    with db.begin() as s:
        assert repo.mark_stale_runs(s) == 1
        assert repo.list_training_runs(s)[-1].id == run.id
    db.dispose()


def test_several_processes_open_a_new_postgresql_database_at_once(pg_url):
    """Each migrates under an advisory lock and re-checks the revision: one creates the
    schema, the others find it at head."""
    import subprocess
    import sys

    code = "import sys; from storage import open_database; open_database(sys.argv[1]).dispose(); print('OPEN')"
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url], env=fk.child_env(), cwd=fk.ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-800:] for o in outs]
    db = open_database(pg_url)
    assert storage_db.current_revision(db.engine) == storage_db.head_revision()
    db.dispose()


def test_unreachable_server_is_a_clear_error_without_the_password():
    url = "postgresql+psycopg://mod:s3cret-pw@127.0.0.1:1/reviewscope"
    t0 = time.monotonic()
    with pytest.raises(StorageError) as info:
        open_database(url)
    msg = str(info.value)
    assert "s3cret-pw" not in msg and "127.0.0.1" in msg and "\n" not in msg, msg
    assert time.monotonic() - t0 < 30


# ------------------------------------------------------------------------ concurrency


def _seed(url: str, tmp_path, n_products: int = 8) -> None:
    db = open_database(url, media_dir=tmp_path / "media")
    fk.fill_catalogue(db, n_products=n_products, seed=5)
    db.dispose()


WRITERS, ACTIONS = 4, 200


def test_concurrent_flagging_from_several_processes_loses_nothing(backend_url, tmp_path):
    """WRITERS moderators, each ACTIONS flag/undo actions (every 4th an undo), each its own
    transaction, while a fifth process rewrites predictions in chunks as `score` does."""
    _seed(backend_url, tmp_path)
    db = open_database(backend_url, media_dir=tmp_path / "media")
    with db.begin() as s:
        model = repo.register_model_version(s, "m", "/c", "0" * 64).id
        n_reviews = repo.count_reviews(s)
    children = [fk.ChildRun(fk.kit_cmd("flagger", backend_url, "--seed", str(k), "--n", str(ACTIONS),
                                       "--author", f"mod{k}", "--undo-every", "4", "--media-dir", str(tmp_path / "media")),
                            fk.child_env(), stderr_path=tmp_path / f"f{k}.txt") for k in range(WRITERS)]
    writer = fk.ChildRun(fk.kit_cmd("predwriter", backend_url, "--model", str(model), "--chunk", "8", "--rounds", "4"),
                         fk.child_env(), stderr_path=tmp_path / "w.txt")
    for c in [*children, writer]:
        c.start()
    rcs = [c.finish(timeout=240) for c in [*children, writer]]
    assert rcs == [0] * (WRITERS + 1), [c.stderr()[-800:] for c in [*children, writer]]
    for c in [*children, writer]:
        text = (c.stderr() + "\n".join(c.text)).lower()
        assert "locked" not in text and "busy" not in text and "err " not in text, text[-800:]
    added, undone, seconds = [], [], 0.0
    for c in children:
        a, u = fk.acknowledged(c.text)
        added += a
        undone += u
        seconds = max(seconds, float(next(x for x in c.text if x.startswith("DONE")).split()[2]))
    with db.begin() as s:
        flags = {f.id: f for f in repo.list_flags(s, include_undone=True)}
        n_add = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "flag.add"))
        n_undo = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "flag.undo"))
        n_pred = s.scalar(select(func.count()).select_from(Prediction).where(Prediction.model_version_id == model))
    assert sorted(flags) == sorted(added)  # every acknowledged flag, nothing else
    assert {fid for fid, f in flags.items() if f.undone} == set(undone)
    assert len(set(undone)) == len(undone) == WRITERS * (ACTIONS // 4)
    assert (n_add, n_undo) == (len(added), len(undone))
    assert n_pred == n_reviews
    backend = "PostgreSQL" if "postgresql" in backend_url else "SQLite"
    print(f"{backend}: {WRITERS} flagging processes + 1 prediction writer: {WRITERS * ACTIONS} actions in "
          f"{seconds:.1f}s = {WRITERS * ACTIONS / seconds:.0f}/s, 0 errors, 0 lost")
    db.dispose()


APPENDERS, EDITS = 4, 15


def test_concurrent_edits_of_one_flag_lose_no_update(backend_url, tmp_path):
    """APPENDERS processes each append EDITS tokens to ONE flag's note, app-style: read,
    edit with the version read, on ConflictError reload and retry. With a lost update some
    token would be missing; the version column makes every loser retry instead."""
    _seed(backend_url, tmp_path, n_products=1)
    db = open_database(backend_url, media_dir=tmp_path / "media")
    f = db.run(lambda s: repo.add_flag(s, 1, "spam", "lead", note=""))
    children = [fk.ChildRun(fk.kit_cmd("appender", backend_url, "--flag", str(f.id), "--token", f"m{k}",
                                       "--n", str(EDITS)), fk.child_env(), stderr_path=tmp_path / f"a{k}.txt").start()
                for k in range(APPENDERS)]
    rcs = [c.finish(timeout=240) for c in children]
    assert rcs == [0] * APPENDERS, [c.stderr()[-800:] for c in children]
    conflicts = sum(int(next(x for x in c.text if x.startswith("APPENDED")).split()[3]) for c in children)
    with db.begin() as s:
        final = repo.get_flag(s, f.id)
        edits = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "flag.edit"))
    tokens = [t for t in final.note.split(",") if t]
    expected = {f"m{k}.{i}" for k in range(APPENDERS) for i in range(EDITS)}
    assert sorted(tokens) == sorted(expected), "an update was lost or doubled"
    assert final.version == 1 + APPENDERS * EDITS
    assert edits == APPENDERS * EDITS
    backend = "PostgreSQL" if "postgresql" in backend_url else "SQLite"
    print(f"{backend}: {APPENDERS} processes x {EDITS} edits of one flag: 0 lost, {conflicts} conflicts told and retried")
    db.dispose()


def test_the_loser_of_a_conflicting_edit_is_told(backend_url, tmp_path):
    _seed(backend_url, tmp_path, n_products=1)
    db = open_database(backend_url, media_dir=tmp_path / "media")
    f = db.run(lambda s: repo.add_flag(s, 1, "spam", "alice", note="first"))

    # stale version: bob edits what he saw before alice's change
    db.run(lambda s: repo.edit_flag(s, f.id, "alice", f.version, note="alice's"))
    with pytest.raises(ConflictError, match="changed since you last saw it: alice edited it"):
        db.run(lambda s: repo.edit_flag(s, f.id, "bob", f.version, note="bob's"))
    with pytest.raises(ConflictError):
        db.run(lambda s: repo.undo_flag(s, f.id, "bob", expected_version=f.version))

    # a real race: both read version v, then both write at once; exactly one wins
    for round_ in range(5):
        seen = db.run(lambda s: repo.get_flag(s, f.id))
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def edit(who: str) -> None:
            barrier.wait()
            try:
                results[who] = db.run(lambda s: repo.edit_flag(s, f.id, who, seen.version, note=f"{who} {round_}"))
            except ConflictError as exc:
                results[who] = exc

        threads = [threading.Thread(target=edit, args=(who,)) for who in ("alice", "bob")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        winners = [w for w, r in results.items() if not isinstance(r, Exception)]
        losers = [w for w, r in results.items() if isinstance(r, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1, results
        final = db.run(lambda s: repo.get_flag(s, f.id))
        assert final.note == f"{winners[0]} {round_}" and final.version == seen.version + 1
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Flag)) == 1
    db.dispose()


def test_postgresql_holds_one_active_model_and_known_run_statuses(pg_url, tmp_path):
    import sqlalchemy as sa

    db = open_database(pg_url, media_dir=tmp_path / "media")
    with db.begin() as s:
        for name in ("a", "b"):
            repo.register_model_version(s, name, "/m", "ab" * 32)
        ids = [m.id for m in repo.list_model_versions(s)]
        repo.activate_model(s, ids[0])
        repo.activate_model(s, ids[1])  # the switch itself stays possible
        assert [m.name for m in repo.list_model_versions(s) if m.active] == ["b"]
    with pytest.raises(sa.exc.IntegrityError):
        with db.begin() as s:
            s.execute(sa.text("UPDATE model_versions SET active = true"))
    with db.begin() as s:
        run = repo.start_training_run(s, {})
    with pytest.raises(sa.exc.IntegrityError):
        with db.begin() as s:
            s.execute(sa.text("UPDATE training_runs SET status = 'whatever' WHERE id = :i"), {"i": run.id})
    db.dispose()


def test_flag_kinds_migrate_and_change_alike_on_both_backends(backend_url, tmp_path):
    """0004 on a store made at 0003 whose flags have an odd kind; then add, rename (with the
    flags), retire and restore, and the refusals, on SQLite and PostgreSQL alike."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from storage.models import Product, Review
    from storage.records import FLAG_KINDS

    engine = create_engine(storage_db.normalize_url(backend_url))
    with engine.begin() as conn:
        command.upgrade(storage_db._alembic_config(conn), "0003")
    with Session(engine) as s, s.begin():
        s.add(Product(id=1, product_id="P1", title="t"))
        s.add(Review(id=1, review_id="R1", product_pk=1, text="text", helpful_votes=3))
        s.flush()
        s.add_all([Flag(review_pk=1, kind="legacy", author="mod"), Flag(review_pk=1, kind="spam", author="mod")])
    engine.dispose()

    db = open_database(backend_url, media_dir=tmp_path / "media")
    assert storage_db.current_revision(db.engine) == storage_db.head_revision()
    with db.begin() as s:
        assert [k.name for k in repo.list_flag_kinds(s)] == [*FLAG_KINDS, "legacy"]
        repo.add_flag_kind(s, "wrong product", "lead")
    with pytest.raises(StorageError, match="already a flag kind"):
        with db.begin() as s:
            repo.add_flag_kind(s, "Wrong Product", "lead")
    with db.begin() as s:
        repo.rename_flag_kind(s, "spam", "advertising", "lead")
        repo.retire_flag_kind(s, "legacy", "lead")
        assert sorted(f.kind for f in repo.list_flags(s)) == ["advertising", "legacy"]
    with pytest.raises(StorageError, match="retired"):
        with db.begin() as s:
            repo.add_flag(s, 1, "legacy", "mod")
    with db.begin() as s:
        repo.restore_flag_kind(s, "legacy", "lead")
        assert repo.add_flag(s, 1, "legacy", "mod").kind == "legacy"
        assert repo.add_flag(s, 1, "wrong product", "mod").kind == "wrong product"
        assert [k.name for k in repo.list_flag_kinds(s)][-2:] == ["legacy", "wrong product"]
    db.dispose()


def test_reasons_inputs_and_product_subscores_read_the_same_on_both_backends(backend_url, tmp_path):
    """The review table's top reasons (sorted by reason, then amount), which inputs each review
    has and a product's sub-score percentiles: no dialect-specific SQL among them."""
    db = open_database(backend_url, media_dir=tmp_path / "media")
    import_path(db, write_good_catalogue(tmp_path / "good"))

    def parts(label, value):
        return {"version": 1, "reference": "training mean", "base": 0.0, "score": value,
                "parts": [["meta:a", label, value], ["meta:b", "has a date", 0.01]]}

    with db.begin() as s:
        p1 = next(p for p in repo.list_products(s) if p.product_id == "P1")
        rows = repo.page_reviews(s, p1.id, order_by="review_id", descending=False)
        mv = repo.register_model_version(s, "m-reasons", "/nowhere", "0" * 64)
        explained = [("star rating", -0.7), ("review length", 0.5), ("review length", 0.9), None]
        repo.write_predictions(s, mv.id, [
            PredictionIn(r.id, 0.0, (1.0 + i, 2.0, 2.0, 2.0, 2.0), parts(*e) if e else None)
            for i, (r, e) in enumerate(zip(rows, explained))])
        ordered = repo.page_reviews(s, p1.id, mv.id, order_by="top_reason", descending=False)
        assert [r.review_id for r in ordered] == ["R2", "R3", "R1", "R4"]
        assert ordered[0].reasons == (("review length", 0.5), ("has a date", 0.01))
        assert all(r.has_product_text and r.n_product_images == 1 for r in ordered)
        p3 = next(p for p in repo.list_products(s) if p.product_id == "P3")
        assert not any(r.has_product_text for r in repo.page_reviews(s, p3.id))
        sub = repo.product_subscores(s, p1.id, mv.id)
    assert [sub.percentiles[r.id][0] for r in rows] == [12.5, 37.5, 62.5, 87.5]
    assert {sub.percentiles[r.id][1] for r in rows} == {50.0}
    db.dispose()


def test_stored_ranks_and_the_queue_agree_with_the_definition_on_both_backends(backend_url, tmp_path):
    """Ranks stored with the scores, ranked again by an import that changes votes; the queue read
    from them is find_disagreements' queue on PostgreSQL as on SQLite."""
    from helpers.storage_checks import stored_ranks_as_computed
    from storage.ranking import MODEL_TOO_HIGH, DisagreementMode, find_disagreements

    db = open_database(backend_url, media_dir=tmp_path / "media")
    folder = write_good_catalogue(tmp_path / "good")
    import_path(db, folder)
    with db.begin() as s:
        mv = repo.register_model_version(s, "m-ranks", "/nowhere", "0" * 64)
        pks = [r.id for p in repo.list_products(s) for r in repo.page_reviews(s, p.id, order_by="review_id")]
        repo.write_predictions(s, mv.id, [PredictionIn(pk, float((pk * 7) % 5) - 2.0, (None,) * 5) for pk in pks])
    for change in range(2):
        with db.begin() as s:
            stored, computed = stored_ranks_as_computed(s, mv.id)
            assert stored == computed and stored[0]
            assert dict(repo.iter_scores_by_product(s, mv.id)) == repo.scores_by_product(s, mv.id)  # streamed
            for mode in DisagreementMode:
                for direction in (None, MODEL_TOO_HIGH):
                    want = find_disagreements(repo.scores_by_product(s, mv.id), mode, None, direction)
                    got = repo.stored_disagreements(s, mv.id, mode, None, direction)
                    assert [(d.review_pk, d.info.rank_gap, d.info.label_gap) for d in got] == \
                        [(d.review_pk, d.info.rank_gap, d.info.label_gap) for d in want]
        if change == 0:  # every review's votes reversed: the labels, and so the ranks, change
            lines = (folder / "reviews.jsonl").read_text().splitlines()
            rows = [json.loads(line) for line in lines]
            for r in rows:
                r["helpful_votes"] = 40 - int(r.get("helpful_votes") or 0)
            (folder / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            import_path(db, folder)
    db.dispose()


def test_the_ranking_migration_runs_on_postgresql(pg_url, tmp_path):
    """Migration 0010 ranks what an older PostgreSQL database had scored, as SQLite's does."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from helpers.storage_checks import stored_ranks_as_computed

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        command.upgrade(storage_db._alembic_config(conn), "0009_search_backlog")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO model_versions (id, name, checkpoint_path, checkpoint_sha256, config, metrics, "
                          "card, active, created_at) VALUES (1, 'a', '/a', 'x', '{}', '{}', '{}', true, now())"))
        conn.execute(text("INSERT INTO products (id, product_id, title, description, category, split, image_urls, "
                          "extra, created_at) VALUES (1, 'P1', '', '', 'c', 'test', '[]', '{}', now())"))
        for i, (votes, label, score) in enumerate([(9, 3, 0.1), (0, None, 0.9), (2, 1, 0.8), (9, 3, 0.8), (1, 0, 0.95)]):
            conn.execute(text("INSERT INTO reviews (id, review_id, product_pk, title, text, helpful_votes, label, "
                              "image_urls, extra) VALUES (:id, :rid, 1, '', '', :v, :l, '[]', '{}')"),
                         {"id": i + 1, "rid": f"r{i}", "v": votes, "l": label})
            conn.execute(text("INSERT INTO predictions (model_version_id, review_pk, score, created_at) "
                              "VALUES (1, :r, :s, now())"), {"r": i + 1, "s": score})
    engine.dispose()
    db = open_database(pg_url, media_dir=tmp_path / "media")
    with db.begin() as s:
        stored, computed = stored_ranks_as_computed(s, 1)
        assert stored == computed and len(stored[0]) == 5
    db.dispose()
