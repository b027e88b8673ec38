"""The flag kinds of the open database, as the flag dialog and the kinds dialog show them (no Qt)."""
from __future__ import annotations

from typing import Optional

from storage.records import FLAG_KINDS, FlagKindRecord

from .evented import EventedState, evented


def _kinds(value) -> Optional[tuple[FlagKindRecord, ...]]:
    return None if value is None else tuple(value)


class FlagKindsState(EventedState):
    """Every kind of the store in its order, retired ones included (None until loaded)."""

    kinds = evented(None, "Tuple of FlagKindRecord in the order offered, retired ones too; None before the first load.",
                    coerce=_kinds)
    error = evented("", "The last change the store refused, '' when the last one went through.")

    @property
    def active(self) -> tuple[str, ...]:
        """Names offered for a new flag (the defaults until the store has answered)."""
        if self.kinds is None:
            return FLAG_KINDS
        return tuple(k.name for k in self.kinds if not k.retired)

    def offered(self, keep: Optional[str] = None) -> tuple[str, ...]:
        """What the flag dialog offers: the active kinds, plus ``keep`` (the kind a flag being
        edited has, e.g. a retired one) so that the flag can keep it."""
        names = self.active if self.kinds is None else \
            tuple(k.name for k in self.kinds if not k.retired or k.name == keep)
        return names if not keep or keep in names else (keep, *names)

    def find(self, name: str) -> Optional[FlagKindRecord]:
        return next((k for k in self.kinds or () if k.name == name), None)

    def is_retired(self, name: str) -> bool:
        k = self.find(name)
        return k is not None and k.retired
