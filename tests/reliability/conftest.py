"""Fixtures for the reliability tests: a tiny encoder and config, a store with a trained
tiny model (copied per test), and PostgreSQL for team mode."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import faultkit as fk
import pgserver

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    return fk.build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory, tiny_encoder) -> str:
    return fk.write_tiny_config(tmp_path_factory.mktemp("cfg") / "tiny.json", tiny_encoder)


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory, tiny_config) -> Path:
    """A folder with ``store.db`` (12 products, ~95 reviews) and an active tiny model
    ``m0`` trained on it (its checkpoint in ``store-models/``). Copy it, don't write it."""
    import torch

    from engine.jobs.train import TrainOptions, run_train
    from storage import open_database

    folder = tmp_path_factory.mktemp("trained")
    db = open_database(str(folder / "store.db"))
    fk.fill_catalogue(db, n_products=12, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = run_train(db, TrainOptions(config_file=tiny_config, name="m0", activate="always"))
    finally:
        torch.set_num_threads(threads)
    assert res.status == "succeeded"
    db.dispose()
    return folder


def copy_store(src: Path, dst: Path) -> Path:
    """Copy a store folder (database, media, models, cache); returns the database path."""
    shutil.copytree(src, dst)
    return dst / "store.db"


@pytest.fixture
def store_copy(trained_store, tmp_path) -> Path:
    return copy_store(trained_store, tmp_path / "store")


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def pg_server():
    server, why = pgserver.find_server()
    if server is None:
        pytest.skip(f"team mode (PostgreSQL) not tested: {why}")
    yield server
    if server.stop is not None:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    try:
        name, url = pgserver.create_schema(pg_server.url)
    except Exception as exc:
        if pg_server.origin.startswith("$"):  # a server was promised (CI started one): that is a failure
            pytest.fail(f"{pg_server.origin} is set but unusable: {exc}")
        pytest.skip(f"team mode (PostgreSQL) not tested: cannot create a schema on {pg_server.origin}: {exc}")
    yield url
    pgserver.drop_schema(pg_server.url, name)
