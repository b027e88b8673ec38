"""End-to-end jobs on a tiny catalogue: train, score, evaluate, resume, cancel, cache, DDP."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main as engine_main
from engine.events import EXIT_USER_ERROR
from engine.jobs.train import TrainOptions, run_train
from storage import open_database
from storage import repository as repo
from storage.models import Product, Review
from storage.records import label_from_votes

WORDS = "great good bad product works kettle water tea coffee music album card gift easy price quality".split()
ROOT = Path(__file__).resolve().parents[2]


def make_catalogue(db, n_products: int = 12, seed: int = 0) -> None:
    """Products with 6-10 reviews each; longer reviews get more votes (a learnable signal)."""
    rng = random.Random(seed)
    splits = ["train", "train", "train", "dev", "test"]
    with db.begin() as s:
        for i in range(n_products):
            p = Product(product_id=f"P{i}", title=f"kettle {i}", description="water tea", category=f"cat{i % 2}",
                        split=splits[i % len(splits)])
            s.add(p)
            s.flush()
            for j in range(rng.randint(6, 10)):
                n_words = rng.randint(2, 40)
                votes = max(0, n_words // 4 + rng.randint(-1, 1))
                s.add(Review(review_id=f"P{i}-R{j}", product_pk=p.id, title="good", rating=rng.randint(1, 5),
                             text=" ".join(rng.choice(WORDS) for _ in range(n_words)), helpful_votes=votes,
                             time=1_000_000 + j * 1000, label=label_from_votes(votes)))


@pytest.fixture
def tiny_job_config(tmp_path, tiny_encoder_path) -> str:
    cfg = {"hidden": 16, "attention_heads": 2, "dropout": 0.0, "text_encoder": tiny_encoder_path, "max_tokens": 24,
           "text_finetune_layers": 0, "epochs": 2, "batch_size": 16, "lr_rest": 3e-3, "early_stopping_patience": 0}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    make_catalogue(open_database(url))
    return url


def test_train_registers_model_with_metrics_and_run(db_url, tiny_job_config, capsys):
    assert engine_main(["train", "--db", db_url, "--config", tiny_job_config, "--name", "m1", "--json-progress"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    kinds = {e["event"] for e in events}
    assert {"start", "step", "epoch", "done"} <= kinds
    epoch = next(e for e in events if e["event"] == "epoch")
    assert {"target", "total"} <= set(epoch["losses"]) and any(k.startswith("subtask/") for k in epoch["losses"])
    assert "MAP" in epoch["dev"] and "p_t r_t" in epoch["pseudo_labels"]
    db = open_database(db_url)
    with db.begin() as s:
        (mv,) = repo.list_model_versions(s)
        runs = repo.list_training_runs(s)
    assert mv.name == "m1" and mv.parent_id is None
    assert set(mv.metrics["dev"]) == {"MAP", "NDCG@3", "NDCG@5"} and "test" in mv.metrics
    assert (Path(mv.checkpoint_path) / "model.safetensors").exists()
    assert runs[-1].status == "succeeded" and runs[-1].model_version_id == mv.id
    # every epoch the run reported is a row of its own, as the event carried it
    with db.begin() as s:
        stored = repo.list_training_epochs(s, runs[-1].id)
    reported = [e for e in events if e["event"] == "epoch"]
    assert runs[-1].epochs == len(reported) == len(stored) >= 1
    for row, ev in zip(stored, reported):
        assert row.epoch == ev["epoch"] and row.losses == ev["losses"] and row.dev == ev["dev"]
        assert row.loss == ev["losses"]["total"] and row.dev_map == ev["dev"]["MAP"]
    assert "history" not in runs[-1].metrics


def test_score_writes_every_review_then_rescoring_reads_the_cache(db_url, tiny_job_config):
    from engine.jobs.score import run_score

    db = open_database(db_url)
    run_train(db, TrainOptions(config_file=tiny_job_config, name="m1", activate="always"))
    first = run_score(db)
    with db.begin() as s:
        n_reviews = repo.count_reviews(s)
        rows = repo.page_reviews(s, None, model_version_id=repo.get_active_model(s).id, limit=None)
    assert first.scored == n_reviews
    assert all(r.score is not None and all(v is not None for v in r.sub_scores) for r in rows)
    # each prediction keeps its score's parts, measured from the training means stored by train
    with db.begin() as s:
        mv = repo.get_active_model(s)
        parts = [repo.score_parts(s, mv.id, r.id) for r in rows]
    assert "fusion_reference" in json.loads((Path(mv.checkpoint_path) / "model.json").read_text())
    for r, why in zip(rows, parts):
        assert why is not None and why.reference == "training mean"
        assert abs(why.base + sum(p.value for p in why.parts) - r.score) < 1e-4 and why.score == r.score
        assert {p.label for p in why.parts} >= {"review length", "star rating", "product text \u00d7 review text"}
    again = run_score(db, only_missing=False)
    assert again.scored == n_reviews and again.cache_misses == 0
    # A changed review text is a new cache key: exactly that text is encoded again.
    with db.begin() as s:
        s.get(Review, rows[0].id).text = "a brand new text about tea"
    changed = run_score(db, only_missing=False)
    assert changed.cache_misses == 1
    # Same text, same scores: the cache returns exactly what a cold encode gives.
    with db.begin() as s:
        again_rows = {r.id: r.score for r in repo.page_reviews(s, None, model_version_id=1, limit=None)}
    assert again_rows[rows[1].id] == pytest.approx(rows[1].score, abs=1e-6)


def test_evaluate_reports_model_and_baselines_per_category(db_url, tiny_job_config):
    from engine.jobs.evaluate import run_evaluate

    db = open_database(db_url)
    run_train(db, TrainOptions(config_file=tiny_job_config, name="m1", activate="always"))
    out = run_evaluate(db, split="test", baselines=True)
    assert set(out["rankings"]) == {"model", "review length", "random"}
    for r in out["rankings"].values():
        assert 0 <= r["overall"]["MAP"] <= 100
        assert set(r["per_category"]) <= {"cat0", "cat1"}


def test_resume_from_model_records_parent(db_url, tiny_job_config):
    db = open_database(db_url)
    first = run_train(db, TrainOptions(config_file=tiny_job_config, name="m1"))
    second = run_train(db, TrainOptions(from_model="m1", epochs=1, name="m2"))
    with db.begin() as s:
        m2 = repo.get_model_version(s, "m2")
    assert second.status == "succeeded" and m2.parent_id == first.model_version_id


def test_a_run_from_a_model_refuses_to_change_its_architecture(db_url, tiny_job_config, tmp_path, capsys):
    db = open_database(db_url)
    run_train(db, TrainOptions(config_file=tiny_job_config, epochs=1, name="m1"))
    wider = tmp_path / "wider.json"
    wider.write_text(json.dumps({"hidden": 32, "lr_rest": 1e-3}))
    capsys.readouterr()
    rc = engine_main(["train", "--db", db_url, "--from-model", "m1", "--config", str(wider), "--name", "m2"])
    assert rc == EXIT_USER_ERROR
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: hidden: parent model 'm1' has 16, the run asks for 32; a run that continues from a model keeps "
        "its architecture (train from scratch to change hidden)")
    with db.begin() as s:
        assert [m.name for m in repo.list_model_versions(s)] == ["m1"] and len(repo.list_training_runs(s)) == 1
    # training fields, and an architecture field at the parent's value, are fine
    same = tmp_path / "same.json"
    same.write_text(json.dumps({"hidden": 16, "lr_rest": 1e-3, "dropout": 0.2, "ssp_shrinkage": 0.2}))
    assert engine_main(["train", "--db", db_url, "--from-model", "m1", "--config", str(same), "--epochs", "1",
                        "--name", "m2"]) == 0
    with db.begin() as s:
        m2 = repo.get_model_version(s, "m2")
    assert (m2.config["hidden"], m2.config["lr_rest"], m2.config["dropout"], m2.config["epochs"]) == (16, 1e-3, 0.2, 1)


def test_cancel_leaves_no_model_version(db_url, tiny_job_config):
    db = open_database(db_url)
    calls = {"n": 0}

    def stop_after_one_step():
        calls["n"] += 1
        return calls["n"] > 1

    res = run_train(db, TrainOptions(config_file=tiny_job_config, name="m1"), should_stop=stop_after_one_step)
    assert res.status == "cancelled"
    with db.begin() as s:
        assert repo.list_model_versions(s) == []
        assert repo.list_training_runs(s)[-1].status == "cancelled"


def test_same_seed_gives_same_metrics(tmp_path, tiny_job_config):
    results = []
    for k in range(2):
        db = open_database(f"sqlite:///{tmp_path / f'det{k}.db'}")
        make_catalogue(db)
        results.append(run_train(db, TrainOptions(config_file=tiny_job_config, seed=7, name="m")).metrics)
    assert results[0] == results[1]


def test_moderator_corrections_override_vote_labels_in_training(db_url, tiny_job_config):
    db = open_database(db_url)
    with db.begin() as s:
        unlabelled = [r for r in repo.page_reviews(s, None, limit=None, order_by="id")
                      if r.label is None and s.get(Product, r.product_pk).split == "train"]
        assert unlabelled, "fixture should have unlabelled train reviews"
        repo.add_flag(s, unlabelled[0].id, "model too low", "mod", corrected_label=4)
    events = []
    run_train(db, TrainOptions(config_file=tiny_job_config, epochs=1, name="m"), on_event=lambda n, **f: events.append((n, f)))
    with db.begin() as s:
        n_labelled_votes = sum(1 for p in repo.load_catalogue(s, db.media_dir, splits=["train"], use_corrections=False)
                               for r in p.reviews if r.label is not None)
        (mv,) = repo.list_model_versions(s)
    assert mv.card["data"]["train_reviews"] == n_labelled_votes + 1


def _engine_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine", *args]


def test_sigterm_stops_cleanly_without_registering(db_url, tiny_job_config, tmp_path):
    cfg = json.loads(Path(tiny_job_config).read_text())
    cfg["epochs"] = 500
    Path(tiny_job_config).write_text(json.dumps(cfg))
    proc = subprocess.Popen(_engine_cmd("train", "--db", db_url, "--config", tiny_job_config, "--json-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in proc.stdout:
            if '"event": "step"' in line:
                break
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert rc == 3
    db = open_database(db_url)
    with db.begin() as s:
        assert repo.list_model_versions(s) == []
        assert repo.list_training_runs(s)[-1].status == "cancelled"


def test_ddp_two_cpu_processes_register_one_model(db_url, tiny_job_config):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
           "-m", "engine", "train", "--db", db_url, "--config", tiny_job_config, "--name", "ddp", "--device", "cpu"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    db = open_database(db_url)
    with db.begin() as s:
        (mv,) = repo.list_model_versions(s)
    assert mv.name == "ddp" and "MAP" in mv.metrics["dev"]


def test_sigterm_during_a_job_is_a_stop_request():
    """A trainer told to stop (the panel's Cancel sends SIGTERM) finishes its step and stops;
    tests/conftest.py puts the test runner's own handler back afterwards."""
    import signal

    from engine.jobs.train import install_stop_handlers

    before = signal.getsignal(signal.SIGTERM)
    stop = install_stop_handlers()
    assert signal.getsignal(signal.SIGTERM) is not before and not stop()
    signal.raise_signal(signal.SIGTERM)
    assert stop()  # the job's handler turned SIGTERM into a stop request
