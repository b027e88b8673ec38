"""The disagreement queue: reviews where the model and the votes disagree most (no Qt)."""
from __future__ import annotations

from typing import Sequence

from .evented import EventedState, evented
from storage.ranking import DisagreementMode


class DisagreementQueueState(EventedState):
    """Items of the queue and the one being worked on.

    Attributes
    ----------
    mode : DisagreementMode
        Rank gap under the active model, or score vs label.
    items : tuple
        The queue, worst first: objects with a ``review_pk`` (``gui.queries.QueueItem``).
    index : int
        Position of the current item, -1 when none.
    """

    mode = evented(DisagreementMode.RANK_GAP, "How the queue is ordered.", coerce=DisagreementMode)
    items = evented((), "Queue items, worst first.", coerce=tuple)
    index = evented(-1, "Current item, -1 for none.", coerce=int)

    def set_items(self, items: Sequence) -> None:
        """Replace the queue, staying on the same review when it is still queued.

        Emits ``items`` only (listeners read the new ``index`` then): a reload is not
        the user moving through the queue.
        """
        current = self.current
        items = tuple(items)
        pks = [d.review_pk for d in items]
        with self.events.index.blocker():
            self.index = pks.index(current.review_pk) if current and current.review_pk in pks else (0 if pks else -1)
        self.items = items

    @property
    def current(self):
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def step(self, delta: int):
        """Move ``delta`` items (J = +1, K = -1), stopping at both ends."""
        if not self.items:
            return None
        self.index = max(0, min(len(self.items) - 1, self.index + delta))
        return self.current
