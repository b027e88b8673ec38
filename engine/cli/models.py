"""``models list | show | activate | delete | export | import``: the registered model versions."""
from __future__ import annotations

import json

from .db import actor, add_common, open_db


def register(sub) -> None:
    p = sub.add_parser("models", help="list / show / activate / delete / export / import model versions",
                       description="models list | show NAME | activate NAME | delete NAME | export NAME DIR | "
                                   "import DIR [--name NAME]")
    p.add_argument("action", choices=["list", "show", "activate", "delete", "export", "import"])
    p.add_argument("name", nargs="?", metavar="NAME|DIR", help="model name or id (import: the model folder)")
    p.add_argument("path", nargs="?", metavar="DIR", help="export: the folder to write the model into")
    p.add_argument("--name", dest="new_name", metavar="NAME", help="import: register under this name (default: folder name)")
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(func=cmd_models)


def cmd_models(args) -> int:
    from storage import repository as repo

    db = open_db(args)
    if args.action in ("export", "import"):
        return _transfer(args, db)
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
            repo.activate_model(s, m.id, actor=actor())
            print(f"activated {m.name}")
        elif args.action == "delete":
            repo.delete_model_version(s, m.id, actor=actor())
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


def _transfer(args, db) -> int:
    """``models export NAME DIR`` and ``models import DIR [--name NAME]``."""
    from engine.jobs.model_folders import export_model_folder, import_model_folder
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
    rec = import_model_folder(db, args.name, args.new_name, actor=actor())
    out = {"model": rec.name, "id": rec.id, "path": rec.checkpoint_path}
    print(json.dumps(out) if (args.json or args.json_progress) else f"imported {rec.name} (#{rec.id}) into {rec.checkpoint_path}")
    return 0
