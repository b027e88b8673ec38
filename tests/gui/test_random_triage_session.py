"""A 200-step random triage session driven through the real window's keys and dialogs.

Label keys 0-4, the flag dialog (new flag or editing the active one), bulk flags on the three
rows selected, J / K, U (undo) and Ctrl+Shift+Z (redo), in a seeded random order on the first three reviews of the table. After
every step the database is checked against a model of what the moderator expects:
- a label key gives the review an active flag with that corrected label (one, never two);
- a dialog save gives exactly the kind, label and note typed;
- a bulk flag gives all three the kind and note, keeps the labels they had, and is one step;
- an undo puts back exactly what the three reviews held before the command it undoes, a redo
  exactly what they held after it; a new command drops what could still be redone;
- nothing ever reports a conflict with ourselves (no error dialog).
"""
from __future__ import annotations

import random

import pytest
from waits import WAIT  # noqa: E402

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialogButtonBox

from gui.flag_ops import _MODEL_KINDS as MODEL_KINDS
from gui.widgets.qt_flag_dialog import NO_LABEL
from storage.ranking import AGREES_KIND
from storage import repository as repo

STEPS = 200
DERIVED_KINDS = (*MODEL_KINDS, AGREES_KIND)  # what a label key makes: as the model's ranking calls for
KINDS = ("spam", "off-topic", "model too high", "model too low", "other")


def _state(db, pks):
    """What the store holds for each review: its active flag's (kind, label, note), or None."""
    with db.begin() as s:
        flags = repo.list_flags(s)
    out = []
    for pk in pks:
        active = [f for f in flags if f.review_pk == pk]
        assert len(active) <= 1, f"review #{pk} has {len(active)} active flags"
        out.append((active[0].kind, active[0].corrected_label, active[0].note) if active else None)
    return tuple(out)


@pytest.mark.parametrize("seed", [18])
def test_a_random_200_step_session_keeps_window_and_database_in_step(make_window, catalogue, open_db, qtbot, focus,
                                                                     message_boxes, seed):
    rng = random.Random(seed)
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # J / K move explicitly: the model knows where it is
    view = w.review_table.view
    pks = [w.review_model.review(i).id for i in range(3)]
    position = 0
    assert w.app_state.current_review_pk == pks[0]
    stack: list[tuple[tuple, tuple]] = []  # (state before, state after) of each command
    index = 0  # commands done; stack[index:] can be redone
    counts = {"label": 0, "flag": 0, "bulk": 0, "undo": 0, "redo": 0, "move": 0}

    def press(key, modifiers=Qt.KeyboardModifier.NoModifier):
        focus(view)
        with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
            qtbot.keyClick(view, key, modifiers)

    for step in range(STEPS):
        before = _state(open_db, pks)
        current = before[position]
        choice = rng.choices(["label", "flag", "bulk", "undo", "redo", "move"], weights=[4, 2, 1, 3, 4, 2])[0]
        if choice == "undo" and index == 0 or choice == "redo" and index == len(stack):
            choice = "move"
        counts[choice] += 1
        if choice == "move":
            delta = 1 if position == 0 else -1 if position == 2 else rng.choice([1, -1])  # the first three rows
            focus(view)
            qtbot.keyClick(view, Qt.Key.Key_J if delta > 0 else Qt.Key.Key_K)
            position += delta
            qtbot.waitUntil(lambda: w.app_state.current_review_pk == pks[position], timeout=WAIT)
            assert _state(open_db, pks) == before, f"step {step}: moving changed the store"
            continue
        if choice in ("undo", "redo"):
            # a single flag's undo signals flag_changed, a batch's bulk_changed: wait on the store
            focus(view)
            if choice == "undo":
                index -= 1
                qtbot.keyClick(view, Qt.Key.Key_U)
                expected = stack[index][0]
            else:
                qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
                expected = stack[index][1]
                index += 1
            qtbot.waitUntil(lambda: _state(open_db, pks) == expected and not w.store.busy, timeout=WAIT)
            assert message_boxes == [], f"step {step} ({choice}): {message_boxes}"
            continue
        if choice == "label":
            label = rng.choice([v for v in range(5) if current is None or v != current[1]])
            press(getattr(Qt.Key, f"Key_{label}"))
            after = _state(open_db, pks)
            assert after[position] is not None and after[position][1] == label, f"step {step}: label {label} not set"
            if current is not None:  # the active flag is edited: its note stays, a content kind stays,
                assert after[position][2] == current[2], f"step {step}"  # a model kind follows the label
                if current[0] in MODEL_KINDS:
                    assert after[position][0] in DERIVED_KINDS, f"step {step}"
                else:
                    assert after[position][0] == current[0], f"step {step}"
            else:
                assert after[position][0] in DERIVED_KINDS, f"step {step}"
        elif choice == "bulk":
            model, selection = w.review_model, view.selectionModel()
            flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
            for row in range(3):
                selection.select(model.index(row, 0), flags)
            assert set(w.review_table.selected_review_pks()) == set(pks)
            kind, note = rng.choice(KINDS), f"bulk {step}"
            w.actions_.bulk_selected.trigger()
            qtbot.waitUntil(lambda: w._bulk_dialog is not None and w._bulk_dialog.preview is not None, timeout=WAIT)
            dialog = w._bulk_dialog
            dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
            dialog.note.setPlainText(note)
            with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
                dialog.apply_button.click()
            after = _state(open_db, pks)
            assert after == tuple((kind, b[1] if b else None, note) for b in before), f"step {step}: bulk"
            selection.select(model.index(position, 0),
                             QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            assert w.app_state.current_review_pk == pks[position]
        else:
            kind = rng.choice(KINDS)
            label = rng.choice([None, 0, 1, 2, 3, 4])
            note = f"step {step}"  # always a change
            focus(view)
            qtbot.keyClick(view, Qt.Key.Key_F)
            qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
            dialog = w._flag_dialog
            if current is not None:  # F on a flagged review opens that flag, filled in
                assert dialog.draft().kind == current[0] and dialog.draft().corrected_label == current[1]
            dialog.kind.setCurrentText(kind)
            dialog.labels.button(NO_LABEL if label is None else label).setChecked(True)
            dialog.note.setPlainText(note)
            with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
                dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
            qtbot.waitUntil(lambda: w._flag_dialog is None, timeout=WAIT)
            after = _state(open_db, pks)
            assert after[position] == (kind, label, note), f"step {step}: the dialog's values were not stored"
        if choice != "bulk":
            assert all(a == b for i, (a, b) in enumerate(zip(before, after)) if i != position), \
                f"step {step}: another review changed"
        del stack[index:]
        stack.append((before, after))
        index += 1
        assert message_boxes == [], f"step {step}: {message_boxes}"

    assert message_boxes == []
    assert min(counts.values()) >= 5, counts  # every kind of step was exercised
    # the window shows what the store holds: the table's flag cells
    from gui.state.columns import COLUMN_INDEX
    final = _state(open_db, pks)
    for i, pk in enumerate(pks):
        cell = w.review_model.index(w.review_model.row_of(pk), COLUMN_INDEX["flag"])
        qtbot.waitUntil(lambda: (cell.data() == "") == (final[i] is None), timeout=WAIT)
        if final[i] is not None:
            assert final[i][0] in cell.data()
