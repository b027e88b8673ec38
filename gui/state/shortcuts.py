"""Every keyboard shortcut of the window, in one table (no Qt).

The menus, the shortcut sheet and the preferences page are all built from :data:`BINDINGS`
and the user's overrides, so what the sheet says is what the keys do. Keys are written in
Qt's portable text form (``QKeySequence.toString()``: "Ctrl+Shift+Z", "J", "F5").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

WINDOW = "window"
"""Active anywhere in the main window."""
TRIAGE = "triage"
"""Active in the review table and the disagreement queue only (never while typing elsewhere)."""


@dataclass(frozen=True)
class Binding:
    id: str
    text: str
    """What the key does, as the sheet and the preferences page say it."""
    keys: tuple[str, ...]
    """Default keys; the first is the one shown in menus."""
    scope: str = WINDOW
    group: str = "Window"


BINDINGS: tuple[Binding, ...] = (
    Binding("next", "Next review", ("J",), TRIAGE, "Review table and queue"),
    Binding("previous", "Previous review", ("K",), TRIAGE, "Review table and queue"),
    *(Binding(f"label_{n}", f"Set corrected label {n}", (str(n),), TRIAGE, "Review table and queue") for n in range(5)),
    Binding("flag", "Flag review (edit its flag)", ("F",), TRIAGE, "Review table and queue"),
    Binding("dispute", "Dispute a sub-score: too high, too low or clear (also: right-click a sub-score bar)",
            ("D",), TRIAGE, "Review table and queue"),
    Binding("undo_key", "Undo the last flag change", ("U",), TRIAGE, "Review table and queue"),
    Binding("undo", "Undo", ("Ctrl+Z",), WINDOW, "Edit"),
    Binding("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), WINDOW, "Edit"),
    Binding("search", "Search all reviews (every product)", ("Ctrl+F",), WINDOW, "Edit"),
    Binding("bulk_selected", "Bulk flag: apply to the selected reviews", ("Ctrl+Shift+F",), WINDOW, "Edit"),
    Binding("bulk_filter", "Bulk flag: apply to every review matching the table filter", (), WINDOW, "Edit"),
    Binding("open_db", "Open database", ("Ctrl+O",), WINDOW, "File"),
    Binding("import_folder", "Import catalogue folder", ("Ctrl+I",), WINDOW, "File"),
    Binding("import_file", "Import catalogue file", (), WINDOW, "File"),
    Binding("export_view", "Export current view", ("Ctrl+E",), WINDOW, "File"),
    Binding("export_flags", "Export all flags", (), WINDOW, "File"),
    Binding("quit", "Quit", ("Ctrl+Q",), WINDOW, "File"),
    Binding("refresh", "Reload", ("F5",), WINDOW, "View"),
    Binding("dark_theme", "Dark theme", ("Ctrl+Shift+D",), WINDOW, "View"),
    Binding("save_view", "Save view as\u2026", ("Ctrl+Shift+S",), WINDOW, "View"),
    Binding("shortcuts", "Keyboard shortcuts", ("F1",), WINDOW, "Help"),
)
BY_ID = {b.id: b for b in BINDINGS}

FIXED_KEYS = {"Return": "Read the review in the detail pane (review table)",
              "Esc": "Back to the review table (detail pane)"}
"""Keys that are not rebindable (Qt's own navigation); none may be bound to anything else."""


def effective(overrides: Mapping[str, Iterable[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """Each binding's keys: the user's override where there is one (an empty override means
    "no key"), else the default. Unknown ids in ``overrides`` are ignored (an older build's)."""
    keys = {b.id: b.keys for b in BINDINGS}
    for bid, value in (overrides or {}).items():
        if bid in keys:
            keys[bid] = tuple(k for k in value if k)
    return keys


def conflicts(keys: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Keys bound to more than one thing (a window-wide key also fires in the triage views,
    so every key must be unique across scopes): ``{key: [binding ids]}``. Fixed keys count."""
    users: dict[str, list[str]] = {}
    for bid, ks in keys.items():
        for k in ks:
            users.setdefault(normalize(k), []).append(bid)
    for k in FIXED_KEYS:
        if normalize(k) in users:
            users[normalize(k)].append(f"fixed:{k}")
    return {k: ids for k, ids in users.items() if len(ids) > 1}


def normalize(key: str) -> str:
    """Case and spacing as Qt writes them, enough to compare two users' spellings."""
    parts = [p.strip() for p in key.replace(" ", "").split("+") if p.strip()]
    mods = [p.capitalize() for p in parts[:-1]]
    order = {"Ctrl": 0, "Alt": 1, "Shift": 2, "Meta": 3}
    mods.sort(key=lambda m: order.get(m, 9))
    last = parts[-1].upper() if parts and len(parts[-1]) == 1 else (parts[-1].capitalize() if parts else "")
    if last in ("Enter",):
        last = "Return"
    if last == "Escape":
        last = "Esc"
    return "+".join([*mods, last]) if last else ""


def rebind(keys: Mapping[str, Iterable[str]], bid: str, new: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``keys`` with ``bid`` bound to ``new``; ValueError naming what already uses a key."""
    if bid not in BY_ID:
        raise ValueError(f"unknown shortcut {bid!r}")
    result = {k: tuple(v) for k, v in keys.items()}
    result[bid] = tuple(n for n in new if n)
    clash = conflicts(result)
    for k in result[bid]:
        other = [i for i in clash.get(normalize(k), []) if i != bid]
        if other:
            names = [FIXED_KEYS[i[6:]] if i.startswith("fixed:") else BY_ID[i].text for i in other]
            raise ValueError(f"{k} is already used by {', '.join(repr(n) for n in names)}")
    return result


def overrides_of(keys: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """What to store: only the bindings that differ from their defaults."""
    return {bid: list(ks) for bid, ks in keys.items() if bid in BY_ID and tuple(ks) != BY_ID[bid].keys}


def sheet_rows(keys: Mapping[str, Iterable[str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The shortcut sheet: ``[(group, [(keys text, what it does)])]`` in BINDINGS order, then
    the fixed keys."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for b in BINDINGS:
        ks = tuple(keys.get(b.id, b.keys))
        groups.setdefault(b.group, []).append((" / ".join(ks) if ks else "(none)", b.text))
    groups.setdefault("Review table and queue", []).extend(FIXED_KEYS.items())
    return list(groups.items())
