"""``models export`` / ``models import``: a registered model's checkpoint folder to and from
a folder of one's choosing (two files: ``model.safetensors`` + ``model.json``)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from engine.checkpoint import CARD_FILE, WEIGHTS_FILE, card_configs, load_checkpoint, read_card
from engine.config import flat_settings

from .common import file_sha256, models_dir


def _copy_folder_atomically(files, target) -> None:
    """Copy ``files`` into a temporary sibling of ``target``, flush them, rename it into place."""
    from storage.files import temp_prefix

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide an exported model from other users
    try:
        for f in files:
            shutil.copyfile(f, tmp / Path(f).name)
            with open(tmp / Path(f).name, "rb") as fh:
                os.fsync(fh.fileno())
        if target.exists():  # an empty folder the user chose: replace it
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _checkpoint_files(folder) -> list:
    """The two files of a checkpoint folder; refuses pickles and anything else."""
    folder = Path(folder)
    read_card(folder)  # a directory, no pickle-format file, a model card of our format
    extra = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name not in (WEIGHTS_FILE, CARD_FILE))
    if extra:
        raise ValueError(f"{folder / extra[0]}: unexpected file; a model folder holds only {WEIGHTS_FILE} and {CARD_FILE}")
    if not (folder / WEIGHTS_FILE).is_file():
        raise ValueError(f"{folder / WEIGHTS_FILE}: missing")
    return [folder / WEIGHTS_FILE, folder / CARD_FILE]


def export_model_folder(model, dest):
    """Copy a registered model's checkpoint folder to ``dest`` (or ``dest/NAME`` when
    ``dest`` is a non-empty folder), after checking its weights against the registry."""
    files = _checkpoint_files(model.checkpoint_path)
    if model.checkpoint_sha256 and file_sha256(Path(model.checkpoint_path) / WEIGHTS_FILE) != model.checkpoint_sha256:
        raise ValueError(f"model {model.name!r}: {files[0]} does not match its registered sha256 (changed or partial)")
    dest = Path(dest).expanduser()
    if dest.is_file():
        raise ValueError(f"{dest}: is a file; give a folder to export the model into")
    if dest.is_dir() and any(dest.iterdir()):
        dest = dest / model.name
        if dest.exists():
            raise ValueError(f"{dest}: already exists; choose another folder")
    _copy_folder_atomically(files, dest)
    return dest


def import_model_folder(db, folder, name=None, actor: str = "engine"):
    """Validate a checkpoint folder (safetensors + JSON only, weights loadable and matching
    the card), copy it into the database's models folder and register it (not activated)."""
    from storage import repository as repo

    folder = Path(folder).expanduser()
    files = _checkpoint_files(folder)
    card = read_card(folder)
    load_checkpoint(folder)  # sha256 against the card, safetensors header, weights fit the config
    name = (name or folder.name).strip()
    if not name or not re.fullmatch(r"[\w.+-]+", name) or name.startswith("."):
        raise ValueError(f"{name!r}: a model name is letters, digits and . _ + - (use --name)")
    with db.begin() as s:
        known = {m.name: m.id for m in repo.list_model_versions(s)}
    if name in known:
        raise ValueError(f"a model version named {name!r} already exists; choose another --name")
    target = models_dir(db) / name
    if target.exists():
        raise ValueError(f"{target}: already exists; choose another --name")
    _copy_folder_atomically(files, target)
    extra = card.get("card") if isinstance(card.get("card"), dict) else {}
    try:
        with db.begin() as s:
            return repo.register_model_version(
                s, name, str(target), file_sha256(target / WEIGHTS_FILE), parent_id=known.get(extra.get("parent")),
                config=flat_settings(*card_configs(card)), metrics=card.get("metrics", {}),
                card={**{k: v for k, v in extra.items() if k != "history"}, "imported_from": str(folder)}, actor=actor,
            )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # nothing registered: leave no orphan folder
        raise
