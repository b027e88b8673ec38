"""Keep a PySide6 reference-count bug from aborting the interpreter.

The PySide6 6.12.0 wheels return ``None`` from every void method (``setText``,
``resize``, ``beginInsertRows``...) and ``True`` from ``SignalInstance.emit`` without the
reference they owe the caller. Each such call takes one reference from the singleton;
after some tens of thousands of calls, on Python < 3.12, the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None" (or ``bool_dealloc``). From Python
3.12 these singletons are immortal and the bug is harmless.

:func:`install` probes for the bug and, only when it is present on a mortal-singleton
Python, does what Python 3.12 does: gives ``None``, ``True`` and ``False`` a reference
count so large that they can never reach zero. Imported by every module of ``gui`` that
uses Qt, before anything calls into Qt.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

PIN = 1 << 40  # references added: ~10^12 lost references before it could matter
_installed = False


class _Probe(QObject):
    fired = Signal()


def _loses_references(obj, call, trials: int = 32) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(trials):
        call()
    return before - sys.getrefcount(obj) >= trials


def pyside_loses_references() -> bool:
    """True when void calls or signal emits take references they do not own."""
    probe = _Probe()
    probe.fired.connect(lambda: None)
    return _loses_references(None, lambda: probe.setObjectName("probe")) or _loses_references(True, probe.fired.emit)


def install() -> bool:
    """Pin the singletons if this PySide6 needs it; True when they were pinned (once)."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not pyside_loses_references():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(singleton)).value += PIN
    _installed = True
    return True


install()
