"""What the flag dialog edits (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from storage.records import FLAG_KINDS

LABELS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class FlagDraft:
    """A flag before it is saved.

    Parameters
    ----------
    kind : str
        One of ``kinds`` (``storage.records.FLAG_KINDS`` by default).
    corrected_label : int or None
        The helpfulness label 0-4 the moderator thinks is right, or None.
    note : str
        Free text.
    """

    kind: str = FLAG_KINDS[0]
    corrected_label: Optional[int] = None
    note: str = ""

    def validated(self, kinds=FLAG_KINDS) -> "FlagDraft":
        if self.kind not in kinds:
            raise ValueError(f"unknown flag kind {self.kind!r}")
        if self.corrected_label is not None and self.corrected_label not in LABELS:
            raise ValueError(f"corrected label must be 0-4, got {self.corrected_label!r}")
        return FlagDraft(self.kind, self.corrected_label, self.note.strip())
