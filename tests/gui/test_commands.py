"""Flag command steps: pure functions of the session and the chain, so that a transaction that
storage.db retries (a busy database) runs them again from the same state."""
from __future__ import annotations

import pytest

from gui.commands import FlagChain, correct_step, reapply_step, run_step, save_step, take_back_step
from gui.state.flag_draft import FlagDraft
from storage import repository as repo


class _Busy(Exception):
    pass


class RetryingDb:
    """A Database whose every ``run`` first fails once after the function ran (as when the
    commit meets a busy database and storage.db.Database.run retries), then succeeds."""

    def __init__(self, db) -> None:
        self.db = db
        self.attempts = 0

    def run(self, fn):
        self.attempts += 1
        try:
            with self.db.sessions.begin() as session:
                fn(session)
                raise _Busy()  # rolled back: nothing of this attempt is stored
        except _Busy:
            pass
        self.attempts += 1
        return self.db.run(fn)


@pytest.fixture
def db(open_db):  # the store's second connection (tests/gui/conftest.py)
    return open_db


def _flag(db, flag_id):
    with db.begin() as s:
        return next(f for f in repo.list_flags(s, include_undone=True) if f.id == flag_id)


def test_flag_undo_redo_survive_retried_transactions(db, catalogue):
    retrying = RetryingDb(db)
    chain = FlagChain()
    pk = catalogue.html_review_pk
    flag = run_step(retrying, chain, save_step, pk, FlagDraft(kind="spam"), "mod", catalogue.model_id)
    with db.begin() as s:
        assert [f.id for f in repo.list_flags(s) if f.review_pk == pk] == [flag.id]  # one flag, not two
    undone = run_step(retrying, chain, take_back_step, "mod")
    assert undone.undone and _flag(db, flag.id).undone and chain.flag.version == _flag(db, flag.id).version
    redone = run_step(retrying, chain, reapply_step, "mod")
    assert not redone.undone and not _flag(db, flag.id).undone and chain.flag == _flag(db, flag.id)
    assert retrying.attempts == 6


def test_a_corrected_label_taken_back_after_a_retry_restores_the_old_values(db, catalogue):
    pk = catalogue.image_review_pk
    with db.begin() as s:
        first = repo.add_flag(s, pk, "spam", "mod", 1, "a note", catalogue.model_id)
    retrying = RetryingDb(db)
    chain = FlagChain()
    edited = run_step(retrying, chain, correct_step, pk, 4, "mod", catalogue.model_id)
    assert edited.id == first.id and edited.corrected_label == 4 and edited.kind == "spam"
    assert chain.outcome is not None and not chain.outcome.created
    back = run_step(retrying, chain, take_back_step, "mod")
    assert (back.kind, back.corrected_label, back.note) == ("spam", 1, "a note")
    assert _flag(db, first.id) == back


def test_steps_after_a_failed_first_step_do_nothing(db):
    chain = FlagChain()
    assert run_step(db, chain, reapply_step, "mod") is None
    assert run_step(db, chain, take_back_step, "mod") is None
    assert chain == FlagChain()


def test_two_commands_on_one_flag_undo_and_redo_in_stack_order(db, catalogue):
    """Label 2 then 4 on one review (one flag, edited), undo both, redo both: no conflict with
    ourselves, and the database follows every step."""
    from storage.errors import ConflictError

    pk, mv = catalogue.html_review_pk, catalogue.model_id
    versions: dict[int, int] = {}
    a, b = FlagChain(versions=versions), FlagChain(versions=versions)
    flag = run_step(db, a, correct_step, pk, 2, "mod", mv)
    assert run_step(db, b, correct_step, pk, 4, "mod", mv).id == flag.id
    assert _flag(db, flag.id).corrected_label == 4
    run_step(db, b, take_back_step, "mod")
    assert _flag(db, flag.id).corrected_label == 2 and not _flag(db, flag.id).undone
    run_step(db, a, take_back_step, "mod")
    assert _flag(db, flag.id).undone
    run_step(db, a, reapply_step, "mod")
    assert not _flag(db, flag.id).undone and _flag(db, flag.id).corrected_label == 2
    run_step(db, b, reapply_step, "mod")
    assert _flag(db, flag.id).corrected_label == 4
    # someone else's edit in between is still caught
    with db.begin() as s:
        repo.edit_flag(s, flag.id, "colleague", _flag(db, flag.id).version, note="mine now")
    with pytest.raises(ConflictError):
        run_step(db, b, take_back_step, "mod")


def test_saving_the_flag_dialog_edits_the_active_flag_and_undo_restores_it(db, catalogue):
    """F on a review that has an active flag edits that flag (never a second active one);
    undo gives it back its old values, redo the new ones."""
    pk, mv = catalogue.html_review_pk, catalogue.model_id
    versions: dict[int, int] = {}
    first, second = FlagChain(versions=versions), FlagChain(versions=versions)
    flag = run_step(db, first, save_step, pk, FlagDraft(kind="spam", note="ads"), "mod", mv)
    seen = (flag.id, flag.version)
    edited = run_step(db, second, save_step, pk, FlagDraft(kind="off-topic", corrected_label=1, note="not about it"),
                      "mod", mv, seen)
    assert edited.id == flag.id
    with db.begin() as s:
        active = [f for f in repo.list_flags(s) if f.review_pk == pk]
    assert [(f.id, f.kind, f.corrected_label, f.note) for f in active] == [(flag.id, "off-topic", 1, "not about it")]
    run_step(db, second, take_back_step, "mod")
    back = _flag(db, flag.id)
    assert (back.kind, back.corrected_label, back.note, back.undone) == ("spam", None, "ads", False)
    run_step(db, second, reapply_step, "mod")
    assert (_flag(db, flag.id).kind, _flag(db, flag.id).note) == ("off-topic", "not about it")


def test_saving_over_a_colleagues_change_names_them(db, catalogue):
    """The dialog showed version v; a colleague edited the flag since: the save is refused and
    the message says who changed it and what it is now."""
    from storage.errors import ConflictError

    pk, mv = catalogue.html_review_pk, catalogue.model_id
    chain = FlagChain()
    flag = run_step(db, chain, save_step, pk, FlagDraft(kind="spam"), "mod", mv)
    with db.begin() as s:
        repo.edit_flag(s, flag.id, "colleague", flag.version, corrected_label=3)
    with pytest.raises(ConflictError, match=r"colleague edited it .*\(now 'spam', label 3, active"):
        run_step(db, FlagChain(versions=chain.versions), save_step, pk, FlagDraft(kind="off-topic"), "mod", mv,
                 (flag.id, flag.version))
    assert _flag(db, flag.id).kind == "spam"
