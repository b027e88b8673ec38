"""Helpers for the fault, kill and team-mode tests, and the child programs they start.

Imported by the tests (pytest puts this folder on ``sys.path``) and run as a script by the
children: ``python tests/reliability/faultkit.py MODE ...``. The children call exactly what
the app and the engine call: the repository functions through ``db.run`` (the GUI's
``Store.call`` does the same), and ``engine.cli.main``.

Child modes:

``flagger URL --seed S --n N --author A [--undo-every K] [--pause S] [--stop-file F]``
    Simulates a moderator in the app: N flags on random reviews, each its own transaction
    (``db.run(repo.add_flag)``), and every K-th action an undo of an earlier flag with the
    version it last saw. Prints ``READY`` once open, ``ACK <flag id>`` after each flag's
    transaction has committed, ``UNDO <flag id>`` after each undo has committed, ``CONFLICT
    <flag id>`` when another writer won, and ``DONE <actions> <seconds>`` at the end (after N
    actions, or once the file F exists). The parent counts a flag as acknowledged only once
    its ACK line arrived.

``appender URL --flag F --token T --n N``
    Edits one flag N times with reload-and-retry on ConflictError (lost-update check).

``predwriter URL --model M --chunk K --rounds R``
    Writes predictions like ``score`` does (repo.write_predictions per chunk), no model.

``train URL --config C --name N --pause-at checkpoint|register``
    ``train`` with a pause (and ``PAUSE <where>``) injected where the parent will kill it.

``score URL --chunk K [--all]``
    ``reviewscope-engine score --db URL --json-progress`` with the streaming chunk made
    K reviews (instead of 2048), so a small catalogue is written in many transactions.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
KIT = Path(__file__).resolve()
if str(ROOT) not in sys.path:  # run as a child script
    sys.path.insert(0, str(ROOT))

WORDS = (
    "the a this it is was great good bad terrible product works broke after day days week "
    "love hate price quality fast slow shipping kettle water boil tea coffee music album song "
    "card gift easy use would buy again not very really well made cheap strong battery sound "
    "review helpful detailed short long because and but or with for of to in on i my we you"
).split()


# ------------------------------------------------------------------------ environment


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
        PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", QT_QPA_PLATFORM="offscreen",
    )
    env.update(extra)
    return env


def engine_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine", *args]


def kit_cmd(mode: str, *args: str) -> list[str]:
    return [sys.executable, str(KIT), mode, *args]


# ------------------------------------------------------------------------ tiny model data


def build_tiny_encoder(path: Path) -> str:
    """A random 2-layer BERT (hidden 32) + WordPiece tokenizer, as tests/engine/conftest.py."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    vocab = list(dict.fromkeys(specials + sorted(set(WORDS)) + chars + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]))
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    else:
        (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(str(path))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(path))
    return str(path)


def write_tiny_config(path: Path, encoder: str, **changes) -> str:
    cfg = {"hidden": 16, "attention_heads": 2, "dropout": 0.0, "text_encoder": encoder, "max_tokens": 24,
           "text_finetune_layers": 0, "epochs": 2, "batch_size": 16, "lr_rest": 3e-3, "early_stopping_patience": 0,
           **changes}
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return str(path)


def fill_catalogue(db, n_products: int = 12, seed: int = 0, reviews: tuple[int, int] = (6, 10), prefix: str = "P") -> int:
    """Products with random reviews (longer reviews get more votes); returns the review count."""
    from storage.models import Product, Review
    from storage.records import label_from_votes

    rng = random.Random(seed)
    splits = ["train", "train", "train", "dev", "test"]
    n = 0
    with db.begin() as s:
        for i in range(n_products):
            p = Product(product_id=f"{prefix}{i}", title=f"kettle {i}", description="water tea", category=f"cat{i % 2}",
                        split=splits[i % len(splits)], image_urls=[], extra={})
            s.add(p)
            s.flush()
            for j in range(rng.randint(*reviews)):
                n_words = rng.randint(2, 40)
                votes = max(0, n_words // 4 + rng.randint(-1, 1))
                s.add(Review(review_id=f"{prefix}{i}-R{j}", product_pk=p.id, title="good", rating=rng.randint(1, 5),
                             text=" ".join(rng.choice(WORDS) for _ in range(n_words)), helpful_votes=votes,
                             time=1_000_000 + j * 1000, label=label_from_votes(votes), image_urls=[], extra={}))
                n += 1
    return n


def write_jsonl_catalogue(folder: Path, n_products: int, reviews_each: int, n_images: int = 0, prefix: str = "K") -> Path:
    """A valid ReviewScope JSONL catalogue (ids ``{prefix}{i}`` / ``{prefix}{i}-{j}``)."""
    from PIL import Image as PILImage

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    rng = random.Random(n_products * 7919 + reviews_each)
    with open(folder / "products.jsonl", "w", encoding="utf-8") as f:
        for i in range(n_products):
            imgs = []
            if i < n_images:
                name = f"images/{prefix}{i}.png"
                PILImage.new("RGB", (8 + i % 7, 8), (i % 256, 80, 160)).save(folder / name)
                imgs = [name]
            f.write(json.dumps({"product_id": f"{prefix}{i}", "title": f"thing {i}", "description": "d",
                                "category": f"c{i % 3}", "image_files": imgs, "image_urls": []}) + "\n")
    with open(folder / "reviews.jsonl", "w", encoding="utf-8") as f:
        for i in range(n_products):
            for j in range(reviews_each):
                f.write(json.dumps({"review_id": f"{prefix}{i}-{j}", "product_id": f"{prefix}{i}", "title": "t",
                                    "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))),
                                    "rating": rng.randint(1, 5), "helpful_votes": rng.randint(0, 30),
                                    "time": 1_300_000_000 + j, "image_files": [], "image_urls": []}) + "\n")
    return folder


# ------------------------------------------------------------------------ checks


def sqlite_health(db_file: str | Path) -> tuple[str, list]:
    """``(PRAGMA integrity_check, PRAGMA foreign_key_check rows)`` read with the raw sqlite3
    module (this also replays whatever the WAL holds, as the next open would)."""
    con = sqlite3.connect(str(db_file), timeout=30)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        fks = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    return ok, fks


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checkpoint_problems(db) -> list[str]:
    """Every registered ModelVersion must point at a whole checkpoint: a directory whose
    model.safetensors has the registered sha256 and whose model.json names the same."""
    from storage import repository as repo

    with db.begin() as s:
        versions = repo.list_model_versions(s)
    problems = []
    for mv in versions:
        d = Path(mv.checkpoint_path)
        w = d / "model.safetensors"
        if not w.is_file():
            problems.append(f"{mv.name}: {w} missing")
            continue
        if sha256_file(w) != mv.checkpoint_sha256:
            problems.append(f"{mv.name}: {w} sha256 differs from the registered one")
        try:
            card = json.loads((d / "model.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{mv.name}: model.json unreadable ({exc})")
            continue
        if card.get("weights_sha256") != mv.checkpoint_sha256:
            problems.append(f"{mv.name}: model.json names another sha256")
    return problems


# ------------------------------------------------------------------------ run and kill


@dataclass
class ChildRun:
    """A child process whose stdout lines are collected (with arrival times) by a thread."""

    cmd: list[str]
    env: dict
    cwd: Path = ROOT
    lines: list[tuple[float, str]] = field(default_factory=list)
    stderr_path: Optional[Path] = None

    def start(self) -> "ChildRun":
        self._err = open(self.stderr_path, "wb") if self.stderr_path else subprocess.DEVNULL
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=self._err,
                                     text=True, bufsize=1, start_new_session=True)
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.killed_at: Optional[float] = None
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic() - self.t0, line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[str], bool], timeout: float) -> bool:
        """Block until a stdout line satisfies ``pred`` (True), the child ends or timeout (False)."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for _, line in self.lines[seen:]:
                    if pred(line):
                        return True
                seen = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.killed_at = time.monotonic() - self.t0
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the child and anything it started
            except ProcessLookupError:
                pass

    def finish(self, timeout: float = 120) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        if self._err is not subprocess.DEVNULL:
            self._err.close()
        return rc

    @property
    def text(self) -> list[str]:
        return [line for _, line in self.lines]

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path and self.stderr_path.exists() else ""


def acknowledged(lines: Sequence[str]) -> tuple[list[int], list[int]]:
    """Flag ids the flagger acknowledged as added, and as undone."""
    added = [int(x.split()[1]) for x in lines if x.startswith("ACK ")]
    undone = [int(x.split()[1]) for x in lines if x.startswith("UNDO ")]
    return added, undone


# ------------------------------------------------------------------------ child programs


def _flagger(argv: Sequence[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--author", default="mod")
    ap.add_argument("--undo-every", type=int, default=5)
    ap.add_argument("--pause", type=float, default=0.0)
    ap.add_argument("--media-dir", default=None)
    ap.add_argument("--stop-file", default=None, help="stop (normally) once this file exists")
    args = ap.parse_args(argv)

    from sqlalchemy import select

    from storage import open_database
    from storage import repository as repo
    from storage.errors import ConflictError
    from storage.models import Review

    db = open_database(args.url, media_dir=Path(args.media_dir) if args.media_dir else None)
    rng = random.Random(args.seed)
    with db.begin() as s:
        review_pks = list(s.scalars(select(Review.id).order_by(Review.id)))
    versions: dict[int, int] = {}
    print("READY", flush=True)
    t0 = time.monotonic()
    stop_file = Path(args.stop_file) if args.stop_file else None
    done = 0
    for i in range(args.n):
        if stop_file is not None and i % 10 == 0 and stop_file.exists():
            break
        done += 1
        if args.undo_every and i % args.undo_every == args.undo_every - 1 and versions:
            fid = rng.choice(list(versions))
            try:
                rec = db.run(lambda s: repo.undo_flag(s, fid, args.author, expected_version=versions[fid]))
            except ConflictError:
                print(f"CONFLICT {fid}", flush=True)
                versions.pop(fid)
                continue
            versions.pop(fid)
            print(f"UNDO {rec.id}", flush=True)
        else:
            rpk = rng.choice(review_pks)
            label = rng.choice([None, 0, 1, 2, 3, 4])
            rec = db.run(lambda s: repo.add_flag(s, rpk, "model too high", args.author, corrected_label=label,
                                                 note=f"{args.author} #{i}"))
            versions[rec.id] = rec.version
            print(f"ACK {rec.id}", flush=True)
        if args.pause:
            time.sleep(args.pause)
    print(f"DONE {done} {time.monotonic() - t0:.3f}", flush=True)
    db.dispose()
    return 0


def _score(argv: Sequence[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--all", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from engine.cli import main
    from engine.jobs import score

    score.run_score.__kwdefaults__["chunk_reviews"] = args.chunk
    return main(["score", "--db", args.url, "--json-progress", "--device", "cpu", *(["--all"] if args.all else [])])


def _appender(argv: Sequence[str]) -> int:
    """Edit ONE flag ``--n`` times, appending a token to its note each time, the way the app
    edits: read the flag (its version), edit with ``expected_version``; on ConflictError
    (another moderator won) reload and try again. Prints ``APPENDED <n> CONFLICTS <c>``."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--flag", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args(argv)

    from storage import open_database
    from storage import repository as repo
    from storage.errors import ConflictError

    db = open_database(args.url)
    print("READY", flush=True)
    conflicts = 0
    for i in range(args.n):
        while True:
            seen = db.run(lambda s: repo.get_flag(s, args.flag))
            try:
                db.run(lambda s: repo.edit_flag(s, args.flag, args.token, seen.version,
                                                note=f"{seen.note}{args.token}.{i},"))
                break
            except ConflictError:
                conflicts += 1
    print(f"APPENDED {args.n} CONFLICTS {conflicts}", flush=True)
    db.dispose()
    return 0


def _predwriter(argv: Sequence[str]) -> int:
    """What ``score`` does to the store, without the model: write predictions of every review
    for model ``--model`` in chunks of ``--chunk`` (one ``db.run`` each), ``--rounds`` times.
    Prints ``WROTE <rows> <seconds>``."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--model", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    from sqlalchemy import select

    from storage import open_database
    from storage import repository as repo
    from storage.models import Review
    from storage.records import PredictionIn

    db = open_database(args.url)
    with db.begin() as s:
        pks = list(s.scalars(select(Review.id).order_by(Review.id)))
    print("READY", flush=True)
    t0 = time.monotonic()
    rows = 0
    for r in range(args.rounds):
        for i in range(0, len(pks), args.chunk):
            preds = [PredictionIn(pk, float(r + pk % 7), (0.1, 0.2, 0.3, 0.4, 0.5)) for pk in pks[i: i + args.chunk]]
            rows += db.run(lambda s: repo.write_predictions(s, args.model, preds))
    print(f"WROTE {rows} {time.monotonic() - t0:.3f}", flush=True)
    db.dispose()
    return 0


def _train(argv: Sequence[str]) -> int:
    """``reviewscope-engine train`` with a pause injected at a chosen point, so the parent's
    kill lands exactly there: ``checkpoint`` (weights written to the temporary folder, not yet
    renamed into place) or ``register`` (ModelVersion row added inside the still-open
    transaction that also finishes the TrainingRun). Prints ``PAUSE <where>`` and sleeps."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--config", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--pause-at", choices=["checkpoint", "register"], required=True)
    args = ap.parse_args(argv)
    import safetensors.torch
    import torch

    torch.set_num_threads(1)
    import engine.jobs.cache  # noqa: F401  (binds the real save_file for the feature cache first)
    from engine.cli import main
    from storage import repository as repo

    def pause(where: str) -> None:
        print(f"PAUSE {where}", flush=True)
        time.sleep(60)

    if args.pause_at == "checkpoint":
        real_save = safetensors.torch.save_file

        def save_file(tensors, filename, *a, **k):
            real_save(tensors, filename, *a, **k)
            if Path(filename).name == "model.safetensors":
                pause("checkpoint")

        safetensors.torch.save_file = save_file
    else:
        real_register = repo.register_model_version

        def register_model_version(*a, **k):
            rec = real_register(*a, **k)
            pause("register")
            return rec

        repo.register_model_version = register_model_version
    return main(["train", "--db", args.url, "--config", args.config, "--name", args.name, "--json-progress",
                 "--device", "cpu"])


def main(argv: Sequence[str]) -> int:
    modes = {"flagger": _flagger, "score": _score, "appender": _appender, "predwriter": _predwriter, "train": _train}
    if not argv or argv[0] not in modes:
        print(f"usage: faultkit.py {'|'.join(modes)} ...", file=sys.stderr)
        return 2
    try:
        return modes[argv[0]](argv[1:])
    except Exception as exc:  # the parent reads this line; the traceback goes to stderr
        import traceback

        traceback.print_exc()
        print(f"ERR {type(exc).__name__}: {exc}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
