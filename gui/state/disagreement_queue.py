"""The disagreement queue: reviews where the model and the votes disagree most (no Qt).

The queue is a work list: a review someone has decided on (it has an active flag) is *done*;
done items are shown ticked or hidden, and the queue counts "n of N reviewed". What it holds
is chosen by a :class:`QueueFilter` applied before the length limit (so "this product" lists
that product's disagreements, not those of it that made the catalogue-wide top 500).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

from .evented import EventedState, evented
from storage.ranking import MODEL_TOO_HIGH, MODEL_TOO_LOW, DisagreementMode

DIRECTIONS = (MODEL_TOO_HIGH, MODEL_TOO_LOW)


@dataclass(frozen=True)
class QueueFilter:
    """Which disagreements the queue is built from.

    Attributes
    ----------
    product_pk : int or None
        One product only.
    category : str or None
        Products of one category only ("" is the products without one).
    direction : str or None
        ``"model too high"`` or ``"model too low"`` only.
    held_out_only : bool
        Only products outside the training split: the model never trained on their votes, so
        its agreement with them is not inflated by having learnt them (the honest queue).
    """

    product_pk: Optional[int] = None
    category: Optional[str] = None
    direction: Optional[str] = None
    held_out_only: bool = True

    def __post_init__(self) -> None:
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(f"unknown disagreement direction {self.direction!r}: use one of {DIRECTIONS}")

    def describe(self) -> str:
        """The filter in words, for the queue's status line."""
        parts = []
        if self.product_pk is not None:
            parts.append("this product")
        elif self.category is not None:
            parts.append(f"category {self.category or '(none)'}")
        if self.direction:
            parts.append(self.direction)
        if self.held_out_only:
            parts.append("held-out products")
        return ", ".join(parts)

    def with_(self, **changes) -> "QueueFilter":
        return replace(self, **changes)


def is_done(item) -> bool:
    """A queued review is done once someone decided on it: it has an active flag."""
    return item.row.flag_kind is not None


class DisagreementQueueState(EventedState):
    """Items of the queue and the one being worked on.

    Attributes
    ----------
    mode : DisagreementMode
        Rank gap under the active model, or score vs label.
    filter : QueueFilter
        What the queue is built from (a change reloads it).
    hide_done : bool
        Done items leave the list (else they stay, ticked).
    all_items : tuple
        Every loaded item, worst first: objects with a ``review_pk`` and a ``row``
        (``gui.queries.QueueItem``).
    items : tuple
        The items shown: ``all_items`` less the done ones when ``hide_done``.
    index : int
        Position of the current item in ``items``, -1 when none.
    """

    mode = evented(DisagreementMode.RANK_GAP, "How the queue is ordered.", coerce=DisagreementMode)
    filter = evented(QueueFilter(), "What the queue is built from.")
    hide_done = evented(False, "Done items leave the list.", coerce=bool)
    items = evented((), "Queue items shown, worst first.", coerce=tuple)
    index = evented(-1, "Current item, -1 for none.", coerce=int)

    def __init__(self) -> None:
        super().__init__()
        self.all_items: tuple = ()
        self.events.hide_done.connect(lambda _h: self._show(self.all_items))

    def set_items(self, items: Sequence) -> None:
        """Replace the queue, staying on the same review when it is still shown.

        Emits ``items`` only (listeners read the new ``index`` then): a reload is not
        the user moving through the queue.
        """
        self._show(tuple(items))

    def replace_row(self, row) -> bool:
        """A fresh ``ReviewRow`` (its flag state) for a queued review; True if it is queued.
        With ``hide_done`` a review that became done leaves the list, and the current item
        stays where it is (or moves to the next one when it was the one that left)."""
        return self.replace_rows([row]) > 0

    def replace_rows(self, rows: Sequence) -> int:
        """:meth:`replace_row` for many rows at once (a bulk flag): one pass, one update of
        the list. Returns how many were queued."""
        fresh = {row.id: row for row in rows}
        found = 0
        items = []
        for item in self.all_items:
            row = fresh.get(item.review_pk)
            if row is not None:
                item = type(item)(item.disagreement, row, item.product_title)
                found += 1
            items.append(item)
        if found:
            self._show(tuple(items))
        return found

    def queued_pks(self) -> frozenset[int]:
        """The reviews of every loaded item (shown or hidden as done)."""
        return frozenset(item.review_pk for item in self.all_items)

    def _show(self, all_items: tuple) -> None:
        current = self.current
        position = self.index
        self.all_items = all_items
        shown = tuple(i for i in all_items if not (self.hide_done and is_done(i)))
        pks = [d.review_pk for d in shown]
        if current is not None and current.review_pk in pks:
            index = pks.index(current.review_pk)
        elif current is not None and position >= 0:
            # the current item left (it is done): the next one takes its place
            index = min(position, len(shown) - 1)
        else:
            index = 0 if shown else -1
        with self.events.index.blocker():
            self.index = index
        self.items = shown

    @property
    def current(self):
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    @property
    def n_done(self) -> int:
        return sum(1 for i in self.all_items if is_done(i))

    def progress(self) -> str:
        """ "n of N reviewed" over everything the filter holds, shown or hidden."""
        return f"{self.n_done} of {len(self.all_items)} reviewed"

    def step(self, delta: int):
        """Move ``delta`` items (J = +1, K = -1), stopping at both ends."""
        if not self.items:
            return None
        self.index = max(0, min(len(self.items) - 1, self.index + delta))
        return self.current
