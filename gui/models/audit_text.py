"""The audit log in words (no Qt): what an event did, to what, in terms a moderator knows.

Storage records events as an action name, a target (kind + database key) and JSON details;
:func:`audit_line` turns one :class:`~storage.records.AuditRecord` (its review, flag and model
names resolved by storage) into the texts the audit dock shows and filters on. Every action
the code records has a sentence here; an unknown one (a newer version's, say) still reads as
its name and a compact "key: value" list. The JSON itself stays in the tooltip.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable, Optional

from storage.records import AuditRecord

from .formatting import fmt_datetime

ARROW = "\u2192"
_NOTE_CHARS = 60
_VALUE_CHARS = 40

ACTION_NAMES = {
    "flag.add": "Flag",
    "flag.edit": "Edit flag",
    "flag.undo": "Undo",
    "flag.redo": "Redo",
    "flag.resolve": "Resolve flag",
    "flag.bulk": "Bulk flag",
    "model.register": "Register model",
    "model.activate": "Activate model",
    "model.delete": "Delete model",
    "score": "Score",
    "import": "Import",
    "train.start": "Start training",
    "train.succeeded": "Training succeeded",
    "train.failed": "Training failed",
    "train.cancelled": "Training cancelled",
    "train.interrupted": "Training interrupted",
    "flag_kind.add": "Add flag kind",
    "flag_kind.rename": "Rename flag kind",
    "flag_kind.retire": "Retire flag kind",
    "flag_kind.restore": "Restore flag kind",
    "flag_kind.move": "Reorder flag kinds",
}
"""Action column text of every action the code records (``record_audit`` callers)."""


@dataclass(frozen=True)
class AuditLine:
    """One event as the audit dock shows it."""

    when: str
    who: str
    action: str
    target: str
    details: str
    action_tip: str
    target_tip: str
    details_tip: str

    @property
    def columns(self) -> tuple[str, str, str, str, str]:
        return self.when, self.who, self.action, self.target, self.details


def audit_line(e: AuditRecord) -> AuditLine:
    d = e.details if isinstance(e.details, dict) else {}
    render = _DETAILS.get(e.action)
    try:
        details = render(e, d) if render is not None else _generic(d)
    except (TypeError, ValueError, AttributeError, KeyError):  # details of an unexpected shape: still readable
        details = _generic(d)
    target, target_tip = _target(e, d)
    return AuditLine(
        when=fmt_datetime(e.at), who=e.actor, action=action_text(e), target=target, details=details,
        action_tip=f"{action_text(e)} ({e.action})", target_tip=target_tip,
        details_tip=json.dumps(d, ensure_ascii=False, default=str, sort_keys=True, indent=2),
    )


def search_text(e: AuditRecord, line: AuditLine) -> str:
    """Everything the filter box matches: what is shown, plus the ids and names behind it."""
    return "\n".join((*line.columns, e.action, e.review_id, e.product_id, e.product_title, e.target_id))


def action_text(e: AuditRecord) -> str:
    d = e.details if isinstance(e.details, dict) else {}
    if e.action in ("flag.edit", "flag.bulk") and d.get("undo") is True:
        return "Undo"
    if e.action in ("flag.edit", "flag.bulk") and d.get("redo") is True:
        return "Redo"
    return ACTION_NAMES.get(e.action, e.action)


# ------------------------------------------------------------------------- target


def _target(e: AuditRecord, d: dict) -> tuple[str, str]:
    kind, key = e.target_kind, e.target_id
    if kind in ("review", "flag"):
        if e.review_id:
            product = e.product_title or e.product_id
            tip = f"Review {e.review_id} of product {e.product_id}"
            tip += f" \u201c{e.product_title}\u201d" if e.product_title else ""
            return f"{e.review_id} \u00b7 {product}", f"{tip} (database key: {kind} #{key})"
        return f"{kind} #{key} (deleted)", f"The {kind} with database key {key} no longer exists"
    if kind == "model":
        name = _model_name(e, _int(key), d.get("name"))
        return f"model {name}", f"Model version {name} (database key {key})"
    if kind == "training_run":
        return f"training run #{key}", f"Training run #{key}"
    if kind == "reviews":
        n = _count(_int(key) if _int(key) is not None else key)
        return f"{n} reviews", f"{n} reviews, changed at once (bulk flag)"
    if kind == "flag_kind":
        return "flag kinds", f"Flag kind (database key {key})"
    if kind == "catalogue":
        return f"catalogue {PurePath(key).name or key}", key
    text = f"{kind} {key}".strip()
    return text, text


# ------------------------------------------------------------------------- details


def _flag(kind: Any, label: Any, note: Any = "") -> str:
    text = f"flag {_q(kind)}"
    if label is not None:
        text += f" (corrected label {label})"
    if note:
        text += f" note: {_clip(str(note), _NOTE_CHARS)}"
    return text


def _direction(v: Any) -> str:
    return str(v).replace("_", " ")


def _disputes(d: Any) -> dict:
    return d if isinstance(d, dict) else {}


def _disputed(interactions: Any) -> str:
    """"disputed p_t r_t as too high, r_t r_v as too low" ("" for none)."""
    items = [f"{name} as {_direction(way)}" for name, way in _disputes(interactions).items()]
    return f"disputed {', '.join(items)}" if items else ""


def _dispute_changes(before: Any, after: Any) -> list[str]:
    """What changed in the disputed sub-scores, one phrase per interaction."""
    before, after = _disputes(before), _disputes(after)
    parts = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if new is None:
            parts.append(f"cleared the dispute of {name} (was {_direction(old)})")
        elif old is None:
            parts.append(f"disputed {name} as {_direction(new)}")
        else:
            parts.append(f"disputed {name} as {_direction(new)} (was {_direction(old)})")
    return parts


def _flag_add(e: AuditRecord, d: dict) -> str:
    text = _flag(d.get("kind") or e.flag_kind or "?", d.get("corrected_label"), d.get("note"))
    disputed = _disputed(d.get("interactions"))
    return f"{text}; {disputed}" if disputed else text


def _withdrawn_flag(e: AuditRecord, d: dict) -> str:
    """The flag an undo withdrew or a redo restored: as recorded then, else as it is now."""
    if "kind" in d:
        text = _flag(d["kind"], d.get("corrected_label"))
        disputed = _disputed(d.get("interactions"))
        return f"{text} ({disputed})" if disputed else text
    if e.flag_kind:
        return _flag(e.flag_kind, e.flag_corrected_label)
    return f"flag #{d.get('flag_id', '?')}"


def _label(v: Any) -> str:
    return "none" if v is None else str(v)


def _changes(before: dict, after: dict) -> str:
    parts = []
    if before.get("kind") != after.get("kind"):
        parts.append(f"kind {_q(before.get('kind'))} {ARROW} {_q(after.get('kind'))}")
    if before.get("corrected_label") != after.get("corrected_label"):
        parts.append(f"label {_label(before.get('corrected_label'))} {ARROW} {_label(after.get('corrected_label'))}")
    if (before.get("note") or "") != (after.get("note") or ""):
        parts.append(f"note {_q(_clip(before.get('note') or '', 24))} {ARROW} {_q(_clip(after.get('note') or '', 24))}")
    parts += _dispute_changes(before.get("interactions"), after.get("interactions"))
    return ", ".join(parts) or "no change"


def _flag_edit(e: AuditRecord, d: dict) -> str:
    before = d.get("before") or {}
    after = d.get("after")
    if not isinstance(after, dict):  # recorded before "after" was: say what it was
        was = _flag(before.get("kind", "?"), before.get("corrected_label"))
        return f"changed {was}" if not (d.get("undo") or d.get("redo")) else f"back from {was}"
    if d.get("undo") is True:  # this event set the values back: what was undone went after -> before
        return f"undo of: {_changes(after, before)}"
    if d.get("redo") is True:
        return f"redo of: {_changes(before, after)}"
    return _changes(before, after)


def _flag_resolve(e: AuditRecord, d: dict) -> str:
    what = _withdrawn_flag(e, d)
    return f"{what}: {d['resolution']}" if d.get("resolution") else what


def _flag_bulk(e: AuditRecord, d: dict) -> str:
    label = d.get("corrected_label")
    what = f"flag {_q(d.get('kind') or '?')}"
    if label == "kept":
        what += " (corrected labels kept)"
    elif label is not None:
        what += f" (corrected label {label})"
    if d.get("note"):
        what += f" note: {_clip(str(d['note']), _NOTE_CHARS)}"
    count = _count(d.get("count"))
    if d.get("undo") is True or d.get("redo") is True:
        text = f"{'undo' if d.get('undo') is True else 'redo'} of: {what} on {count} reviews"
    else:
        text = f"{what} on {count} reviews: {_count(d.get('created'))} new, {_count(d.get('edited'))} edited"
    if d.get("conflicts"):
        text += f"; {_count(d.get('conflicts'))} changed by someone else since, left as they were"
    return text


def _model_register(e: AuditRecord, d: dict) -> str:
    name = d.get("name") or _model_name(e, _int(e.target_id))
    parent = _int(d.get("parent_id"))
    return f"{name}, trained from {_model_name(e, parent)}" if parent is not None else f"{name}"


def _model_activate(e: AuditRecord, d: dict) -> str:
    return f"{_model_name(e, _int(e.target_id))} is now the active model"


def _model_delete(e: AuditRecord, d: dict) -> str:
    return f"deleted {d.get('name') or _model_name(e, _int(e.target_id))}"


def _score(e: AuditRecord, d: dict) -> str:
    text = f"{_count(d.get('reviews'))} reviews scored"
    if d.get("seconds") is not None:
        text += f" in {float(d['seconds']):.1f} s"
    return text


def _import(e: AuditRecord, d: dict) -> str:
    parts = [str(d["format"]).upper()] if d.get("format") else []
    parts.append(f"products: {_count(d.get('products_added'))} added, {_count(d.get('products_updated'))} updated")
    parts.append(f"reviews: {_count(d.get('reviews_added'))} added, {_count(d.get('reviews_updated'))} updated")
    if d.get("images"):
        parts.append(f"images: {_count(d.get('images_added'))} new of {_count(d.get('images'))}")
    if d.get("scores_dropped"):
        parts.append(f"{_count(d.get('scores_dropped'))} stale scores cleared")
    return "; ".join(parts)


def _train_start(e: AuditRecord, d: dict) -> str:
    parent = _int(d.get("parent_model_id"))
    text = f"from {_model_name(e, parent)}" if parent is not None else "from scratch"
    if d.get("host"):
        text += f" on {d['host']}"
    return text


def _train_end(e: AuditRecord, d: dict) -> str:
    made = _int(d.get("model_version_id"))
    if made is not None:
        return f"made model {_model_name(e, made)}"
    if d.get("reason") == "stale":
        return "its trainer stopped without finishing (killed or crashed)"
    return "no model registered"


_DETAILS: dict[str, Callable[[AuditRecord, dict], str]] = {
    "flag.add": _flag_add,
    "flag.edit": _flag_edit,
    "flag.undo": lambda e, d: f"undo of: {_withdrawn_flag(e, d)}",
    "flag.redo": lambda e, d: f"redo of: {_withdrawn_flag(e, d)}",
    "flag.resolve": _flag_resolve,
    "flag.bulk": _flag_bulk,
    "model.register": _model_register,
    "model.activate": _model_activate,
    "model.delete": _model_delete,
    "score": _score,
    "import": _import,
    "train.start": _train_start,
    "train.succeeded": _train_end,
    "train.failed": _train_end,
    "train.cancelled": _train_end,
    "train.interrupted": _train_end,
    "flag_kind.add": lambda e, d: f"new kind {_q(d.get('name'))}",
    "flag_kind.rename": lambda e, d: f"{_q(d.get('from'))} {ARROW} {_q(d.get('to'))} ({_count(d.get('flags'))} flags renamed)",
    "flag_kind.retire": lambda e, d: f"retired {_q(d.get('name'))}; its {_count(d.get('flags'))} flags keep it",
    "flag_kind.restore": lambda e, d: f"{_q(d.get('name'))} offered again",
    "flag_kind.move": lambda e, d: f"{_q(d.get('name'))} moved from position {_count(d.get('from'))} to {_count(d.get('to'))}",
}


def _generic(d: dict) -> str:
    """Details of an action without a sentence: a compact "key: value" list."""
    return ", ".join(f"{k}: {_compact(v)}" for k, v in sorted(d.items(), key=lambda kv: str(kv[0])))


def _compact(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (dict, list, tuple)):
        return _clip(json.dumps(v, ensure_ascii=False, default=str, sort_keys=True), _VALUE_CHARS)
    return _clip(str(v), _VALUE_CHARS)


# ------------------------------------------------------------------------- helpers


def _model_name(e: AuditRecord, model_id: Optional[int], fallback: Any = None) -> str:
    if model_id is not None and model_id in e.model_names:
        return e.model_names[model_id]
    if fallback:
        return str(fallback)
    return f"#{model_id}" if model_id is not None else "?"


def _int(v: Any) -> Optional[int]:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isascii() and v.isdigit():
        return int(v)
    return None


def _count(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else ("0" if v is None else str(v))


def _q(v: Any) -> str:
    return f"'{v}'"


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())  # one line: a note's line breaks would hide the rest of the row
    return text if len(text) <= n else text[: n - 1] + "\u2026"
