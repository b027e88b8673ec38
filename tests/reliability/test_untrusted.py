"""Untrusted files: model folders, MRHP feature files and images that users receive from
elsewhere. Weights load only from safetensors + JSON; a pickle (above all one that would
run code when unpickled) is refused with a clear message through every path that loads a
model (score, evaluate, train --from-model, models in-process); MRHP ``.pth`` features
load tensors-only; Pillow's decompression-bomb guard stays on in every entry point.

The code-running pickles here run ``touch MARKER`` when unpickled: the marker must never
appear. (Checkpoint and vision unit tests in tests/engine check the loaders directly; this
file checks the user-facing paths.)
"""
from __future__ import annotations

import io
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch

import faultkit as fk
from engine.cli import main as engine_main
from storage import open_database
from storage import repository as repo


class RunsCode:
    """Unpickling this runs a shell command."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def code_pickle(marker: Path) -> bytes:
    return pickle.dumps({"weights": RunsCode(marker)})


def torch_zip_pickle(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"x": RunsCode(marker)}, buf)
    return buf.getvalue()


# ------------------------------------------------------------------------ model folders


def _variants(good: Path, marker: Path) -> dict[str, tuple[Path, str]]:
    """name -> (an evil copy of the good checkpoint folder, what the error must say)."""
    out = {}

    def copy(name: str) -> Path:
        d = good.parent / f"evil-{name}"
        shutil.copytree(good, d)
        return d

    d = copy("extra-pt")  # a pickle beside valid weights
    (d / "optimizer.pt").write_bytes(code_pickle(marker))
    out["extra-pt"] = (d, "refusing a pickle-format file")
    d = copy("pth-only")  # a "PyTorch model folder": weights as a pickle, no safetensors
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(torch_zip_pickle(marker))
    out["pth-only"] = (d, "model.safetensors is missing|refusing a pickle-format file")
    d = copy("zip-as-safetensors")  # torch.save output renamed to model.safetensors
    (d / "model.safetensors").write_bytes(torch_zip_pickle(marker))
    out["zip-as-safetensors"] = (d, "not a safetensors file")
    d = copy("raw-as-safetensors")
    (d / "model.safetensors").write_bytes(code_pickle(marker))
    out["raw-as-safetensors"] = (d, "not a safetensors file")
    d = copy("card-is-pickle")
    (d / "model.json").write_bytes(code_pickle(marker))
    out["card-is-pickle"] = (d, "not valid JSON")
    return out


@pytest.fixture
def evil_store(store_copy, tmp_path):
    """The trained store plus one registered model version per evil folder. The registered
    sha256 is that of the evil weights file (as if a colleague had registered the folder),
    so the format checks, not the sha check, have to stop it."""
    marker = tmp_path / "PWNED"
    db = open_database(str(store_copy))
    with db.begin() as s:
        good = Path(repo.get_model_version(s, "m0").checkpoint_path)
    work = tmp_path / "models"
    work.mkdir()
    good_copy = work / "good"
    shutil.copytree(good, good_copy)
    variants = _variants(good_copy, marker)
    with db.begin() as s:
        for name, (folder, _) in variants.items():
            w = folder / "model.safetensors"
            sha = fk.sha256_file(w) if w.exists() else "0" * 64
            repo.register_model_version(s, f"evil-{name}", str(folder), sha, config={})
    yield db, variants, marker
    db.dispose()


@pytest.fixture
def keep_signal_handlers():
    """The CLI's train/score install SIGTERM/SIGINT handlers; give pytest its own back."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_evil_model_folders_are_refused_by_every_command(evil_store, capsys, keep_signal_handlers):
    db, variants, marker = evil_store
    url = str(db.display_path)
    for name, (_folder, needle) in variants.items():
        for argv in (["score", "--model", f"evil-{name}", "--device", "cpu"],
                     ["evaluate", "--model", f"evil-{name}", "--device", "cpu"],
                     ["train", "--from-model", f"evil-{name}", "--epochs", "1", "--device", "cpu", "--name", f"x-{name}"]):
            rc = engine_main([*argv, "--db", url])
            err = capsys.readouterr().err
            assert rc == 2, (name, argv, err)
            lines = [line for line in err.splitlines() if line.startswith("error: ")]
            assert len(lines) == 1 and re.search(needle, lines[0]), (name, argv, err)
            assert "Traceback" not in err
            assert not marker.exists(), f"{name}: unpickling ran code"
    with db.begin() as s:  # nothing was registered or scored from them
        names = {m.name for m in repo.list_model_versions(s)}
        assert not any(n.startswith("x-") for n in names)


def test_importing_an_evil_model_folder_is_refused(evil_store, capsys):
    """``models import DIR`` (a model folder received from someone) validates before it copies
    or registers anything."""
    from engine.cli import build_parser

    try:
        build_parser().parse_args(["models", "import", "somewhere"])
    except SystemExit:
        pytest.skip("`reviewscope-engine models import` does not exist in this version")
    capsys.readouterr()
    db, variants, marker = evil_store
    with db.begin() as s:
        before = {m.name for m in repo.list_model_versions(s)}
    models_dir = Path(db.display_path).parent / "store-models"
    folders_before = sorted(p.name for p in models_dir.iterdir())
    for name, (folder, needle) in variants.items():
        rc = engine_main(["models", "import", str(folder), "--name", f"imp-{name}", "--db", str(db.display_path)])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert rc == 2 and len(lines) == 1 and "Traceback" not in err, (name, err)
        assert re.search(needle, lines[0]), (name, lines[0])
        assert not marker.exists(), f"{name}: unpickling ran code"
    with db.begin() as s:
        assert {m.name for m in repo.list_model_versions(s)} == before
    assert sorted(p.name for p in models_dir.iterdir()) == folders_before  # nothing copied in


def test_a_changed_checkpoint_is_refused_by_its_registered_sha256(store_copy, tmp_path, capsys, keep_signal_handlers):
    db = open_database(str(store_copy))
    with db.begin() as s:
        mv = repo.get_model_version(s, "m0")
        folder = tmp_path / "m0-copy"  # the shared fixture's checkpoint stays intact
        shutil.copytree(mv.checkpoint_path, folder)
        repo.register_model_version(s, "m0-copy", str(folder), mv.checkpoint_sha256, config=mv.config)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the tensor data
    weights.write_bytes(bytes(data))
    rc = engine_main(["score", "--db", str(store_copy), "--model", "m0-copy", "--all", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not match its registered sha256" in err and "Traceback" not in err
    db.dispose()


# ------------------------------------------------------------------------ MRHP feature files


def _feature_cases(tmp_path: Path, marker: Path) -> dict[str, tuple[Path, str]]:
    def write(name: str, data: bytes) -> Path:
        p = tmp_path / f"{name}.pth"
        p.write_bytes(data)
        return p

    def saved(name: str, obj) -> Path:
        p = tmp_path / f"{name}.pth"
        torch.save(obj, p)
        return p

    ok = saved("ok", [{"x": torch.zeros(3, 2048)}])
    cases = {
        "plain-pickle-code": (write("plain", code_pickle(marker)), "refused to load"),
        "zip-pickle-code": (write("zipcode", torch_zip_pickle(marker)), "refused to load"),
        "code-inside-list": (write("inlist", pickle.dumps([{"x": RunsCode(marker)}])), "refused to load"),
        "numpy-object-array": (write("objarr", pickle.dumps([{"x": __import__("numpy").array([RunsCode(marker)],
                                                                                          dtype=object)}])),
                               "refused to load"),
        "wrong-width": (saved("w1024", [{"x": torch.zeros(3, 1024)}]), "expected [n, 2048]"),
        "three-dims": (saved("d3", [{"x": torch.zeros(1, 3, 2048)}]), "expected [n, 2048]"),
        "one-dim": (saved("d1", [{"x": torch.zeros(2048)}]), "expected [n, 2048]"),
        "not-a-list": (saved("str", "features"), "expected a list"),
        "item-not-a-dict": (saved("items", [torch.zeros(3, 2048)]), "not a dict with key 'x'"),
        "dict-without-x": (saved("nox", [{"y": torch.zeros(3, 2048)}]), "not a dict with key 'x'"),
        "truncated": (write("trunc", ok.read_bytes()[: len(ok.read_bytes()) // 2]), "refused to load"),
        "empty": (write("empty", b""), "refused to load"),
        "text": (write("text", b"just some text, not a tensor file\n"), "refused to load"),
    }
    return cases


FEATURE_CASES = ["plain-pickle-code", "zip-pickle-code", "code-inside-list", "numpy-object-array", "wrong-width",
                 "three-dims", "one-dim", "not-a-list", "item-not-a-dict", "dict-without-x", "truncated", "empty",
                 "text"]


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("name", FEATURE_CASES)
def test_mrhp_feature_files_load_tensors_only(tmp_path, name):
    from engine.model.vision import load_roi_features

    marker = tmp_path / "PWNED"
    cases = _feature_cases(tmp_path, marker)
    assert sorted(cases) == sorted(FEATURE_CASES)
    assert len(load_roi_features(tmp_path / "ok.pth")) == 1
    path, needle = cases[name]
    try:
        with pytest.raises(ValueError) as info:
            load_roi_features(path)
    finally:
        assert not marker.exists(), f"{name}: unpickling ran code"
    msg = str(info.value)
    assert str(path) in msg and needle in msg, (name, msg)


def test_missing_feature_file_is_named():
    from engine.model.vision import load_roi_features

    with pytest.raises(ValueError, match="missing.pth: no such file"):
        load_roi_features(Path("/nonexistent/missing.pth"))


# ------------------------------------------------------------------------ images


def _bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_every_entry_point_keeps_pillows_bomb_guard(tmp_path):
    """Import what the app, the engine and the importers import, then open a 40000 x 40000
    PNG header with Pillow: the guard must still raise (nobody set MAX_IMAGE_PIXELS = None
    or silenced the warning), and the importer's own cap must be stricter than Pillow's."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(40000, 40000))
    code = f"""
import warnings
import gui.app, engine.cli, engine.jobs.train, engine.jobs.score, engine.jobs.data, storage.importers
from storage.importers import images
from PIL import Image
assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 89_478_485, Image.MAX_IMAGE_PIXELS
assert images.MAX_IMAGE_PIXELS <= Image.MAX_IMAGE_PIXELS
try:
    Image.open({str(bomb)!r}).load()
except Image.DecompressionBombError:
    print("GUARDED")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=fk.child_env(), cwd=fk.ROOT,
                       timeout=120)
    assert r.returncode == 0 and "GUARDED" in r.stdout, r.stderr[-2000:]


def test_gui_image_reader_refuses_a_bomb(tmp_path, qapp):
    from PySide6.QtGui import QImageReader

    from gui.widgets.qt_thumbnail_strip import read_image

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(40000, 40000))
    assert QImageReader.allocationLimit() > 0  # Qt's own cap (MB) is on
    assert read_image(str(bomb)).isNull()  # 4.8 GB of pixels are never allocated
    small = read_image(str(bomb), max_side=72)  # a thumbnail request does not decode it either
    assert small.isNull()


# ------------------------------------------------------------------------ tripwire over the source


UNSAFE = [
    (re.compile(r"\bpickle\.loads?\("), "pickle.load"),
    (re.compile(r"\b(?:cPickle|dill|joblib|cloudpickle)\b"), "a pickle library"),
    (re.compile(r"weights_only\s*=\s*False"), "torch.load(weights_only=False)"),
    (re.compile(r"allow_pickle\s*=\s*True"), "numpy allow_pickle=True"),
    (re.compile(r"MAX_IMAGE_PIXELS\s*=\s*None"), "Pillow's bomb guard switched off"),
    (re.compile(r"LOAD_TRUNCATED_IMAGES\s*=\s*True"), "truncated images accepted"),
    (re.compile(r"\b(?:yaml\.load|yaml\.unsafe_load)\("), "yaml.load"),
]


def test_no_unsafe_deserialization_in_the_source():
    """Every torch.load passes weights_only=True, and nothing else unpickles."""
    problems = []
    for pkg in ("engine", "storage", "gui", "resources"):
        for path in (fk.ROOT / pkg).rglob("*.py"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for rx, what in UNSAFE:
                for m in rx.finditer(text):
                    problems.append(f"{path.relative_to(fk.ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {what}")
            for m in re.finditer(r"\btorch\.load\(", text):
                call = text[m.start(): m.start() + 300]
                if "weights_only=True" not in call.split(")\n")[0]:
                    problems.append(f"{path.relative_to(fk.ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: "
                                    "torch.load without weights_only=True")
    assert problems == [], "\n".join(problems)
