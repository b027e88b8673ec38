"""What the column-mapping import dialog edits and shows (no Qt).

A CSV or JSONL file that is none of the known formats imports through a column mapping
(target field <- source column, :mod:`storage.importers.mapped`). The dialog starts from the
mapping remembered for files with the same columns, else from the importer's guess; every
change is checked against the whole file (:func:`~storage.importers.mapped.check_mapping`,
run in a worker by the widget) and the summary says what the import would keep, drop and
stop at. Import is possible only when the mapping is complete and that check found nothing
that would abort the import.

Mappings are remembered per header signature (the sorted column names) in the user's
settings, as one JSON object per signature (:func:`remembered_key`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Iterable, Optional

from storage.importers.mapped import REQUIRED_TARGETS, TARGETS, Mapping, MappingCheck, Preview, known_mapping

from .evented import EventedState, evented

NONE_TEXT = "(none)"
MAX_SHOWN_PROBLEMS = 8
MAX_CELL_CHARS = 200

TARGET_LABELS: dict[str, str] = {
    "review_id": "Review id",
    "product_id": "Product id",
    "text": "Review text",
    "title": "Review title",
    "rating": "Rating (stars)",
    "helpful": "Helpful [yes, total] pair",
    "helpful_votes": "Helpful votes",
    "total_votes": "Total votes",
    "time": "Time",
    "label": "Label (0-4)",
    "image_urls": "Review image URLs",
    "reviewer_id": "Reviewer id",
    "reviewer_name": "Reviewer name",
    "verified": "Verified purchase",
    "style": "Style / variant",
    "product_title": "Product title",
    "product_description": "Product description",
    "product_category": "Product category",
    "product_image_urls": "Product image URLs",
    "product_split": "Product split",
}
"""What each target field is called in the dialog (the target's own name is its tooltip)."""


def header_signature(columns: Iterable[str]) -> str:
    """The file's columns, sorted: files with the same columns share a remembered mapping."""
    return json.dumps(sorted(columns))


def remembered_key(columns: Iterable[str]) -> str:
    return "import_mappings/" + hashlib.sha1(header_signature(columns).encode("utf-8")).hexdigest()[:16]


def cell_text(value: Any) -> str:
    """A preview cell as one line of text (JSONL values may be lists or objects)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "\u2026"


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


class ImportMappingState(EventedState):
    """The mapping being edited for one file, and what checking it found.

    Parameters
    ----------
    path : str
        The file to import.
    preview : Preview
        Its first rows, its columns and the importer's guess.
    remembered : dict, optional
        What :meth:`to_json` stored for a file with the same columns; used instead of the
        guess when it still fits these columns.

    Attributes
    ----------
    mapping : dict
        Target field -> source column (a target left out is not mapped).
    keep_unmapped : bool
        Columns that are not mapped go to each review's extras (else they are dropped).
    check : MappingCheck or None
        The result of checking the current mapping against the whole file; None while it
        runs or when the mapping cannot be checked.
    check_error : str
        Why the current mapping could not be checked (the importer's message).
    checking : bool
        A check of the current mapping is under way.
    """

    mapping = evented({}, "Target field -> source column.")
    keep_unmapped = evented(True, "Unmapped columns are kept in each review's extras.")
    check = evented(None, "The check of the current mapping (a MappingCheck), None until it is in.")
    check_error = evented("", "Why the current mapping could not be checked.")
    checking = evented(False, "A check of the current mapping is under way.")
    extra_events = ("changed",)
    """``changed``: anything the summary or the Import button depend on changed."""

    def __init__(self, path: str, preview: Preview, remembered: Any = None) -> None:
        super().__init__()
        self.path = str(path)
        self.kind = preview.kind
        self.columns: list[str] = list(preview.columns)
        self.rows: list[dict[str, Any]] = list(preview.rows)
        self.family = preview.family
        self.guess: dict[str, str] = self._fitting(preview.guess)
        self._preset: Optional[Mapping] = known_mapping(self.columns)[1] if self.family else None
        self.from_memory = False
        self.progress: tuple[int, int] = (0, 0)
        """Rows checked so far and rows in the file, while a check runs."""
        self._generation = 0
        start, keep = self.guess, (self._preset.keep_unmapped if self._preset is not None else True)
        if isinstance(remembered, dict):
            stored = remembered.get("mapping")
            if isinstance(stored, dict):
                fitting = self._fitting(stored)
                if fitting and len(fitting) == len(stored):
                    start, self.from_memory = fitting, True
                    keep = remembered.get("keep_unmapped") is not False
        with self.events.mapping.blocker(), self.events.keep_unmapped.blocker():
            self.mapping = dict(start)
            self.keep_unmapped = keep
        self.events.mapping.connect(self._on_edit)
        self.events.keep_unmapped.connect(self._on_edit)

    def _fitting(self, mapping: dict) -> dict[str, str]:
        have = set(self.columns)
        return {t: c for t, c in mapping.items() if t in TARGETS and isinstance(c, str) and c in have}

    # ------------------------------------------------------------------ editing

    def set_target(self, target: str, column: Optional[str]) -> None:
        """Map ``target`` to ``column`` (None: leave it unmapped)."""
        if target not in TARGETS:
            raise ValueError(f"unknown target field {target!r}")
        if column is not None and column not in self.columns:
            raise ValueError(f"{column!r} is not a column of the file")
        mapping = dict(self.mapping)
        if column is None:
            mapping.pop(target, None)
        else:
            mapping[target] = column
        self.mapping = mapping

    def _on_edit(self, _value: Any) -> None:
        self._generation += 1  # a check still running is for the old mapping: its result is dropped
        with self.events.check.blocker(), self.events.check_error.blocker(), self.events.checking.blocker():
            self.check = None
            self.check_error = ""
            self.checking = False
        self.events.changed()

    def mapping_problems(self) -> list[str]:
        """What makes the mapping unusable, found without reading the file."""
        problems = []
        missing = [TARGET_LABELS[t] for t in REQUIRED_TARGETS if t not in self.mapping]
        if missing:
            problems.append("map a column to " + " and ".join(missing) + " (required)")
        if "helpful" in self.mapping and ("helpful_votes" in self.mapping or "total_votes" in self.mapping):
            problems.append("map either the helpful [yes, total] pair or helpful / total votes, not both")
        return problems

    @property
    def valid(self) -> bool:
        return not self.mapping_problems()

    @property
    def can_import(self) -> bool:
        return self.valid and self.check is not None and self.check.ok

    def to_mapping(self) -> Mapping:
        """The :class:`Mapping` to import with. A known format's mapping (Fine Food, the Amazon
        2014 CSV export) keeps its id prefix and ignored columns when the user edits it."""
        if self._preset is not None:
            return dataclasses.replace(self._preset, columns=dict(self.mapping), keep_unmapped=self.keep_unmapped)
        return Mapping(dict(self.mapping), keep_unmapped=self.keep_unmapped)

    def to_json(self) -> dict[str, Any]:
        """What is remembered for files with these columns."""
        return {"columns": sorted(self.columns), "mapping": dict(self.mapping), "keep_unmapped": self.keep_unmapped}

    @property
    def key(self) -> str:
        return remembered_key(self.columns)

    # ------------------------------------------------------------------ checking

    def begin_check(self) -> Optional[tuple[int, Mapping]]:
        """(token, mapping) for a check of the current mapping, or None when it is not worth
        checking (required fields unmapped: the summary says so)."""
        if not self.valid:
            return None
        self._generation += 1
        self.progress = (0, 0)
        self.checking = True
        return self._generation, self.to_mapping()

    def report_progress(self, token: int, done: int, total: int) -> None:
        if token == self._generation and self.checking:
            self.progress = (done, total)
            self.events.changed()

    def finish_check(self, token: int, result: MappingCheck) -> bool:
        """Take the result of check ``token``; a stale one (the mapping changed since) is ignored."""
        if token != self._generation:
            return False
        with self.events.checking.blocker():
            self.checking = False
        self.check_error = ""
        self.check = result
        self.events.changed()
        return True

    def fail_check(self, token: int, message: str) -> bool:
        if token != self._generation:
            return False
        with self.events.checking.blocker():
            self.checking = False
        self.check = None
        self.check_error = message
        self.events.changed()
        return True

    def close(self) -> None:
        """Results arriving after this are ignored."""
        self._generation += 1

    # ------------------------------------------------------------------ what the widget shows

    def column_role(self, column: str) -> str:
        """What happens to a source column: "→ target, ...", "extra" or "dropped"."""
        targets = [t for t, c in self.mapping.items() if c == column]
        if targets:
            return "\u2192 " + ", ".join(targets)
        if self.check is not None:
            if column in self.check.dropped_columns:
                return "dropped"
            if column in self.check.kept_as_extras:
                return "extra"
        return "extra" if self.keep_unmapped and column != "" else "dropped"

    def column_title(self, column: str) -> str:
        return column if column else "(unnamed)"

    def summary_lines(self) -> list[str]:
        """The summary under the preview, one paragraph a line."""
        problems = self.mapping_problems()
        if problems:
            return ["Cannot import yet: " + "; ".join(problems) + "."]
        if self.check_error:
            return ["Cannot import with this mapping: " + self.check_error]
        if self.check is None:
            done, total = self.progress
            return ["Checking the whole file with this mapping\u2026" + (f" {done:,} of {total:,} lines" if total else "")]
        c = self.check
        counts = f"{_plural(c.reviews, 'review')} of {_plural(c.products, 'product')}, from {_plural(c.rows, 'row')} of the file"
        if c.problems:
            n = len(c.problems)
            lines = [f"Cannot import: {'more than ' if c.more_problems else ''}{_plural(n, 'row')} would stop the import "
                     "(listed below). Fix the file or the mapping: nothing is imported while one row is bad."]
            if c.more_problems:
                lines.append(f"The check stopped after the first {n} bad rows; the {_plural(c.rows, 'row')} read up to there "
                             f"hold {_plural(c.reviews, 'review')} of {_plural(c.products, 'product')}.")
            else:
                lines.append(f"The other rows hold {counts}.")
        elif c.reviews == 0:
            lines = [f"Nothing to import: no row has a review text ({_plural(c.rows, 'row')} read)."]
        else:
            lines = [f"Would import {counts}."]
        if c.kept_as_extras:
            lines.append("Kept in each review's extras: " + ", ".join(c.kept_as_extras) + ".")
        if c.dropped_columns:
            lines.append("Dropped columns:")
            lines += [f"  \u2022 {self.column_title(col)}: {why}" for col, why in c.dropped_columns.items()]
        if c.dropped_rows:
            lines.append("Rows left out:")
            lines += [f"  \u2022 {_plural(n, 'row')}: {why}" for why, n in c.dropped_rows.items()]
        if c.notes:
            lines.append("Notes:")
            lines += [f"  \u2022 {note}" for note in c.notes]
        if c.problems:
            lines.append("Rows that would stop the import:")
            for line, fld, msg in c.problems[:MAX_SHOWN_PROBLEMS]:
                where = ", ".join(p for p in (f"line {line}" if line is not None else "",
                                              f"field {fld!r}" if fld else "") if p)
                lines.append(f"  \u2022 {where}: {msg}" if where else f"  \u2022 {msg}")
            if len(c.problems) > MAX_SHOWN_PROBLEMS or c.more_problems:
                lines.append("  \u2022 \u2026 and more")
        return lines

    @property
    def summary_text(self) -> str:
        return "\n".join(self.summary_lines())

    @property
    def origin_text(self) -> str:
        """Where the starting mapping came from."""
        if self.from_memory:
            return "Mapping remembered from a file with the same columns."
        if self.family:
            return f"Recognised as {self.family}: its own mapping is filled in."
        return "Mapping guessed from the column names: check it."
