"""``recipes [--json]``: the training recipe presets and every config field, for people and for
front ends that must not import torch (the app reads ``--json``)."""
from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("recipes", help="training recipe presets and every MMSSConfig / TrainConfig field with its default")
    p.add_argument("--json", action="store_true")
    p.add_argument("--json-progress", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_recipes)


def cmd_recipes(args) -> int:
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
    """Recipe presets and every MMSSConfig and TrainConfig field (type, default, choices, doc),
    as JSON data for front ends that must not import torch."""
    import dataclasses

    from engine.config import SUBTASKS, MMSSConfig, TrainConfig
    from engine.jobs.recipes import RECIPES, default_recipe

    fields = []
    for cls in (MMSSConfig, TrainConfig):
        docs, defaults = _field_docs(cls.__doc__), cls()
        fields += [_field_entry(f.name, getattr(defaults, f.name), docs.get(f.name, ""), SUBTASKS)
                   for f in dataclasses.fields(cls)]
    return {"recipes": {k: dict(v) for k, v in RECIPES.items()},
            "default_recipe": {"cpu": default_recipe("cpu"), "cuda": default_recipe("cuda")},
            "subtasks": list(SUBTASKS), "fields": fields}


def _field_entry(name: str, value, doc: str, subtasks) -> dict:
    from enum import Enum

    entry = {"name": name, "doc": doc}
    if isinstance(value, Enum):
        entry.update(type="choice", default=value.value, choices=[e.value for e in type(value)])
    elif isinstance(value, bool):
        entry.update(type="bool", default=value)
    elif isinstance(value, int):
        entry.update(type="int", default=value)
    elif isinstance(value, float):
        entry.update(type="float", default=value)
    elif isinstance(value, tuple):
        entry.update(type="subset", default=list(value), choices=list(subtasks))
    else:
        entry.update(type="str", default=value)
    return entry
