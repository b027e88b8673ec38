"""The ownership probes of conftest.py find what they are meant to find."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer

import ownership


def test_a_parentless_qobject_in_a_reference_cycle_is_named():
    class Leaky(QObject):
        pass

    obj = Leaky()
    obj.me = obj  # a cycle: only the garbage collector frees it, in whatever thread runs it
    del obj
    assert ownership.cyclic_qobjects() == ["test_a_parentless_qobject_in_a_reference_cycle_is_named.<locals>.Leaky"]
    assert ownership.cyclic_qobjects() == []  # and it was freed, here


def test_a_parented_qobject_in_a_cycle_is_not_a_problem():
    parent = QObject()
    child = QObject(parent)
    child.me = child
    del child
    assert ownership.cyclic_qobjects() == []
    del parent


def test_a_gui_qobject_finalized_in_another_thread_is_reported(qapp):
    from gui.models.record_table import RecordTableModel

    ownership.install_del_probes("gui")
    holder = [RecordTableModel()]
    # The probe reports before Qt destroys the object; destroying this one off-thread is harmless
    # (no timer, no children), which lets the test show what the probe says.
    t = threading.Thread(target=holder.clear, name="pool-like")
    t.start()
    t.join()
    found = list(ownership.off_thread_deaths)
    ownership.off_thread_deaths.clear()
    assert found == ["RecordTableModel destroyed in thread 'pool-like'"]


def test_qt_thread_warnings_are_collected(qapp, qt_ownership):
    with ownership.ThreadMessages() as messages:
        timer = QTimer()
        t = threading.Thread(target=lambda: timer.start(1000))  # "Timers cannot be started from another thread"
        t.start()
        t.join()
    timer.deleteLater()
    assert any("thread" in m.lower() for m in messages.seen), messages.seen
    assert messages.seen == qt_ownership.seen  # the fixture saw the same, and would fail the test:
    qt_ownership.seen.clear()  # here the warning was provoked on purpose
