"""Bulk flags from the app: the reviews chosen, the preview count, and the undoable command.

The reviews are either the review table's selection or every review its query holds (the
product, the filter and the search, over all pages): :class:`BulkTarget`. Which ones that is
is decided in SQL by the job that writes (:func:`target_pks`), never by loading rows here.

The command's jobs run on the store's one-thread write pool, in order with the single-flag
commands, and share their record of flag versions (:class:`gui.commands.FlagChain`): a flag a
single command changed after the batch is not mistaken for someone else's change. Like those
steps, each job is a pure function of the session inside :meth:`storage.db.Database.run`
(which may retry it); the chain is updated only after the transaction committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from PySide6.QtGui import QUndoCommand
from sqlalchemy.orm import Session

from storage import repository as repo
from storage.db import Database
from storage.records import KEEP_LABEL, SUBSCORE_WRONG, BulkFlagChange, ReviewFilter

from .queries import view_ranks
from .state.flag_draft import LABELS
from .state.review_table import ReviewQuery


@dataclass(frozen=True)
class BulkTarget:
    """The reviews a bulk flag is for: ``review_pks`` (the table's selection), or else every
    review of ``query`` (its product, filter and search, over all pages)."""

    review_pks: Optional[tuple[int, ...]] = None
    query: Optional[ReviewQuery] = None

    def __post_init__(self) -> None:
        if (self.review_pks is None) == (self.query is None):
            raise ValueError("a bulk target is either review keys or a query")

    @property
    def is_selection(self) -> bool:
        return self.review_pks is not None

    def describe(self, product_title: str = "") -> str:
        """What the target is, in words (the dialog's first line and the audit event's scope)."""
        if self.review_pks is not None:
            n = len(self.review_pks)
            return f"the {n:,} selected review{'s' if n != 1 else ''}"
        what = f"every review of \u201c{product_title}\u201d" if product_title else "every review of the product"
        words = describe_filter(self.query.flt)
        return f"{what} that {words}" if words else what


def describe_filter(flt: ReviewFilter) -> str:
    """The table's filter in words ("" when it lets every review through)."""
    parts = []
    if flt.text:
        parts.append(f"contains \u201c{flt.text}\u201d")
    for on, words in ((flt.only_flagged, "is flagged"), (flt.only_disagreements, "the model disagrees with"),
                      (flt.has_images, "has images"), (flt.only_labeled, "has a vote label")):
        if on:
            parts.append(words)
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else ""


def target_pks(session: Session, target: BulkTarget) -> list[int]:
    """The keys of the target's reviews, chosen in SQL (only ids are loaded; "only
    disagreements" ranks the product's reviews under the model, as the table does)."""
    if target.review_pks is not None:
        return list(target.review_pks)
    q = target.query
    if q.product_pk is None:
        return []  # the table lists nothing without a product
    among = None
    if q.flt.only_disagreements:
        among = [pk for pk, info in view_ranks(session, q).items() if info.is_disagreement]
    return repo.review_pks_matching(session, q.product_pk, q.flt, among)


@dataclass(frozen=True)
class BulkPreview:
    """How many reviews a bulk flag would flag, and how many of them have an active flag (edited)."""

    count: int
    flagged: int

    @property
    def text(self) -> str:
        if self.count == 0:
            return "No review matches: nothing to flag."
        noun = "review" if self.count == 1 else "reviews"
        text = f"This will flag {self.count:,} {noun}"
        if self.flagged:
            has = "has" if self.flagged == 1 else "have"
            text += f"; {self.flagged:,} already {has} an active flag and will be edited"
        return text + "."


def preview(session: Session, target: BulkTarget) -> BulkPreview:
    """Read job: the counts the dialog shows before the user confirms."""
    return BulkPreview(*repo.bulk_flag_counts(session, target_pks(session, target)))


@dataclass(frozen=True)
class BulkDraft:
    """What a bulk flag gives every review: ``kind``; ``corrected_label`` 0-4, None (none) or
    :data:`KEEP_LABEL` (an edited flag keeps its own); ``note``, None keeping an edited flag's."""

    kind: str
    corrected_label: Optional[int] = KEEP_LABEL
    note: Optional[str] = None

    def validated(self) -> "BulkDraft":
        if not isinstance(self.kind, str) or not self.kind.strip() or self.kind == SUBSCORE_WRONG:
            raise ValueError(f"{self.kind!r} cannot be given in bulk" if self.kind == SUBSCORE_WRONG
                             else f"unknown flag kind {self.kind!r}")
        if self.corrected_label not in (KEEP_LABEL, None, *LABELS):
            raise ValueError(f"corrected label must be 0-4, none or kept, got {self.corrected_label!r}")
        note = self.note.strip() if self.note is not None else None
        return BulkDraft(self.kind, self.corrected_label, note)


@dataclass
class BulkChain:
    """What a bulk command's committed jobs did (Qt-free; read and written only by the write
    pool thread): the batch, and the versions this app last wrote (shared with every command
    of the undo stack, see :class:`gui.commands.FlagChain`)."""

    change: Optional[BulkFlagChange] = None
    versions: dict[int, int] = field(default_factory=dict)

    def rename_kind(self, old: str, new: str) -> None:
        """A flag kind was renamed in the store (with every flag that had it): undo and redo put
        back the new name."""
        change = self.change
        if change is None:
            return
        items = tuple((fid, rpk, (new, *before[1:]) if before is not None and before[0] == old else before)
                      for fid, rpk, before in change.items)
        self.change = replace(change, items=items, kind=new if change.kind == old else change.kind)


@dataclass(frozen=True)
class BulkResult:
    """What one job of a bulk command did, for the window to show: the reviews whose flag
    changed (None: unknown, refresh what is shown), and the flags left alone because someone
    else changed them since."""

    review_pks: Optional[frozenset[int]]
    count: int = 0
    conflicts: int = 0
    conflict_text: str = ""


# ------------------------------------------------------------------------- jobs (no Qt)


def apply_job(db: Database, chain: BulkChain, target: BulkTarget, draft: BulkDraft, author: str,
              model_version_id: Optional[int], scope: str) -> BulkResult:
    """Write-pool job: the batch, in one transaction."""
    def write(session: Session) -> BulkFlagChange:
        return repo.bulk_apply_flags(session, target_pks(session, target), draft.kind, author, draft.corrected_label,
                                     draft.note, model_version_id, scope)

    change = db.run(write)
    chain.change = change
    chain.versions.update(change.versions)
    return BulkResult(frozenset(rpk for _fid, rpk, _before in change.items), change.count)


def undo_job(db: Database, chain: BulkChain, author: str) -> Optional[BulkResult]:
    return _revert_job(db, chain, author, repo.bulk_undo_flags)


def redo_job(db: Database, chain: BulkChain, author: str) -> Optional[BulkResult]:
    return _revert_job(db, chain, author, repo.bulk_redo_flags)


def _revert_job(db: Database, chain: BulkChain, author: str, step) -> Optional[BulkResult]:
    change = chain.change
    if change is None:  # the batch itself failed: nothing to take back or redo
        return None
    done = db.run(lambda session: step(session, change, author, chain.versions))
    chain.versions.update(done.versions)
    return BulkResult(done.review_pks, len(done.versions), done.conflicts, done.conflict_text)


# ------------------------------------------------------------------------- the command


class BulkFlagCommand(QUndoCommand):
    """One undo step for a whole batch: redo applies it (the first time) or applies it again;
    undo takes every flag of it back."""

    def __init__(self, controller, target: BulkTarget, draft: BulkDraft, model_version_id: Optional[int],
                 scope: str, count: Optional[int] = None) -> None:
        many = f"{count:,} reviews" if count is not None else scope
        super().__init__(f"Bulk flag on {many} ({draft.kind})")
        self._controller = controller
        self.target = target
        self.draft = draft
        self.model_version_id = model_version_id
        self.scope = scope
        self.chain = BulkChain(versions=controller.flag_versions)
        self._started = False

    def redo(self) -> None:
        author = self._controller.author
        if not self._started:
            self._started = True
            self._controller.submit_bulk(apply_job, self.chain, self.target, self.draft, author,
                                         self.model_version_id, self.scope)
        else:
            self._controller.submit_bulk(redo_job, self.chain, author)

    def undo(self) -> None:
        self._controller.submit_bulk(undo_job, self.chain, self._controller.author)
