"""Undo/redo is correct for ANY sequence of a moderator's own actions (property test).

Random sequences of label keys (0-4), flag-dialog saves (new or editing the active flag, with
disputed sub-scores), sub-score disputes (too high, too low, cleared), undo and redo on two reviews run through the same steps the window's QUndoStack runs
(gui.commands, one shared version table), against a model of the expected state: an undo
brings back exactly what the store held before that command, a redo exactly what it held
after, a new command drops the redo tail, a review never has two active flags, and no step
ever reports a conflict with ourselves.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.commands import FlagChain, correct_step, dispute_step, reapply_step, run_step, save_step, take_back_step
from gui.state.flag_draft import FlagDraft
from storage import repository as repo
from storage.records import FLAG_KINDS, SUBSCORE_NAMES, SUBSCORE_WRONG

INTERACTIONS = st.sampled_from(SUBSCORE_NAMES[:3])  # a few, so that disputes meet
DISPUTES = st.dictionaries(INTERACTIONS, st.sampled_from(["too_high", "too_low"]), max_size=2)
ACTIONS = st.one_of(
    st.tuples(st.just("label"), st.integers(0, 1), st.integers(0, 4)),
    st.tuples(st.just("flag"), st.integers(0, 1), st.sampled_from(FLAG_KINDS), st.one_of(st.none(), st.integers(0, 4)),
              st.sampled_from(["", "ads", "off topic"]), DISPUTES),
    st.tuples(st.just("dispute"), st.integers(0, 1), INTERACTIONS, st.sampled_from(["too_high", "too_low", None])),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
)


@pytest.fixture
def db(open_db):  # the store's second connection (tests/gui/conftest.py)
    return open_db


def _active(db, pk):
    with db.begin() as s:
        flags = [f for f in repo.list_flags(s) if f.review_pk == pk]
    assert len(flags) <= 1, f"review #{pk} has {len(flags)} active flags"
    return flags[0] if flags else None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=18))
def test_any_sequence_of_own_actions_undoes_and_redoes_exactly(db, catalogue, actions):
    pks = (catalogue.html_review_pk, catalogue.image_review_pk)
    mv = catalogue.model_id

    def snapshot():
        return tuple((f.kind, f.corrected_label, f.note, f.interactions) if (f := _active(db, pk)) else None
                     for pk in pks)

    versions: dict[int, int] = {}  # QtTriageController.flag_versions: one per undo stack
    stack: list[tuple[FlagChain, tuple, tuple]] = []  # (chain, state before, state after)
    index = 0
    for action in actions:
        kind = action[0]
        if kind == "dispute" and action[3] is None:
            current = _active(db, pks[action[1]])
            if current is None or action[2] not in dict(current.interactions):
                continue  # the menus offer "clear" only on a disputed sub-score
        if kind in ("label", "flag", "dispute"):
            del stack[index:]  # a new command drops the redo tail, as QUndoStack does
            pk = pks[action[1]]
            before, chain = snapshot(), FlagChain(versions=versions)
            if kind == "dispute":
                current = _active(db, pk)
                run_step(db, chain, dispute_step, pk, action[2], action[3], "mod", mv)
                f = _active(db, pk)
                if action[3] is not None:
                    assert dict(f.interactions)[action[2]] == action[3]
                    assert current is None or f.id == current.id
                elif f is not None:
                    assert action[2] not in dict(f.interactions)
                else:  # its last dispute cleared: the "sub-score wrong" flag was withdrawn
                    assert current.kind == SUBSCORE_WRONG and [n for n, _ in current.interactions] == [action[2]]
            elif kind == "label":
                run_step(db, chain, correct_step, pk, action[2], "mod", mv)
                assert _active(db, pk).corrected_label == action[2]
            else:
                current = _active(db, pk)  # what the dialog was filled from
                disputes = action[5] or ({"p_t r_t": "too_high"} if action[2] == SUBSCORE_WRONG else {})
                draft = FlagDraft(action[2], action[3], action[4], tuple(disputes.items())).validated()
                seen = (current.id, current.version) if current else None
                run_step(db, chain, save_step, pk, draft, "mod", mv, seen)
                f = _active(db, pk)
                assert (f.kind, f.corrected_label, f.note, f.interactions) == (
                    draft.kind, draft.corrected_label, draft.note.strip(), draft.interactions)
                if current is not None:
                    assert f.id == current.id  # edited, not a second flag
            stack.append((chain, before, snapshot()))
            index += 1
        elif kind == "undo" and index > 0:
            index -= 1
            chain, before, _after = stack[index]
            run_step(db, chain, take_back_step, "mod")
            assert snapshot() == before
        elif kind == "redo" and index < len(stack):
            chain, _before, after = stack[index]
            run_step(db, chain, reapply_step, "mod")
            assert snapshot() == after
            index += 1
    while index > 0:  # and the whole stack unwinds to where the example started
        index -= 1
        chain, before, _after = stack[index]
        run_step(db, chain, take_back_step, "mod")
        assert snapshot() == before
