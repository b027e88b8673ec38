"""What the flag dialog edits (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from storage.records import FLAG_KINDS, SUBSCORE_WRONG, Disputes, disputes_of

LABELS = (0, 1, 2, 3, 4)

NEEDS_DISPUTE = f"A \u201c{SUBSCORE_WRONG}\u201d flag says which sub-score is wrong: mark one too high or too low."


@dataclass(frozen=True)
class FlagDraft:
    """A flag before it is saved.

    Parameters
    ----------
    kind : str
        A flag kind; the store refuses one that is unknown or retired (the dialog offers the
        active kinds, plus the kind a flag being edited already has).
    corrected_label : int or None
        The helpfulness label 0-4 the moderator thinks is right, or None.
    note : str
        Free text.
    interactions : tuple of (interaction, direction)
        The sub-scores the moderator disputes ("p_t r_t", "too_high"), in SUBSCORE_NAMES order;
        a "sub-score wrong" flag needs at least one.
    """

    kind: str = FLAG_KINDS[0]
    corrected_label: Optional[int] = None
    note: str = ""
    interactions: Disputes = ()

    def validated(self, kinds: Optional[Sequence[str]] = None) -> "FlagDraft":
        """Checked and trimmed; ``kinds``: the kinds allowed here (None: any non-empty one,
        the store checks it against ``flag_kinds``)."""
        if not isinstance(self.kind, str) or not self.kind.strip() or (kinds is not None and self.kind not in kinds):
            raise ValueError(f"unknown flag kind {self.kind!r}")
        if self.corrected_label is not None and self.corrected_label not in LABELS:
            raise ValueError(f"corrected label must be 0-4, got {self.corrected_label!r}")
        disputes = disputes_of(self.interactions)
        if self.kind == SUBSCORE_WRONG and not disputes:
            raise ValueError(NEEDS_DISPUTE)
        return FlagDraft(self.kind, self.corrected_label, self.note.strip(), disputes)
