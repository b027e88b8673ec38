"""Checks that the GUI follows the ownership rules of :mod:`gui.workers` (used by conftest.py).

Three probes, reported per test:

- Qt's own messages about threads ("Timers cannot be stopped from another thread", "Cannot create
  children for a parent that is in a different thread", ...): a message handler collects them.
- A QObject of one of ``gui``'s classes whose Python wrapper is finalized on a thread other than
  the GUI thread while it still owns its C++ object: a ``__del__`` probe on every such class.
- A QObject kept alive only by a reference cycle when the test ends: it would be destroyed by
  whichever thread next runs the garbage collector. Found by collecting with
  ``gc.DEBUG_SAVEALL`` on the GUI thread and looking at what the collector would have freed.
"""
from __future__ import annotations

import gc
import importlib
import inspect
import pkgutil
import re
import threading

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QtMsgType, qInstallMessageHandler

THREAD_MESSAGE = re.compile(r"thread", re.IGNORECASE)

off_thread_deaths: list[str] = []
_probed: set[type] = set()


def _owns_cpp(obj: QObject) -> bool:
    try:
        return shiboken6.isValid(obj) and shiboken6.ownedByPython(obj)
    except Exception:  # noqa: BLE001  (a half-dead wrapper: nothing of Qt's is left to destroy)
        return False


def _probe_class(cls: type) -> None:
    if cls in _probed or "__del__" in vars(cls):
        return
    _probed.add(cls)

    def __del__(self) -> None:  # noqa: N807  (no class of gui defines its own: nothing to chain to)
        if threading.current_thread() is not threading.main_thread() and _owns_cpp(self):
            off_thread_deaths.append(f"{type(self).__qualname__} destroyed in thread {threading.current_thread().name!r}")

    cls.__del__ = __del__


def install_del_probes(package: str = "gui") -> int:
    """Put the ``__del__`` probe on every QObject subclass defined in ``package``."""
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, f"{package}."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, QObject) and cls.__module__ == module.__name__:
                _probe_class(cls)
    return len(_probed)


class ThreadMessages:
    """Collects Qt messages that mention threads while installed; chains to the previous handler."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._previous = None

    def __enter__(self) -> "ThreadMessages":
        self._previous = qInstallMessageHandler(self._handle)
        return self

    def __exit__(self, *exc) -> None:
        qInstallMessageHandler(self._previous)

    def _handle(self, kind: QtMsgType, context, message: str) -> None:
        if THREAD_MESSAGE.search(message):
            self.seen.append(message)
        if self._previous is not None:
            self._previous(kind, context, message)


def cyclic_qobjects() -> list[str]:
    """Collect garbage on this (the GUI) thread; name the QObjects that only a cycle kept alive
    and that still own their C++ object. Everything found is freed before returning."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = sorted({type(o).__qualname__ for o in gc.garbage if isinstance(o, QObject) and _owns_cpp(o)})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    gc.collect()
    return found
