"""Ask the engine, in a subprocess, what the GUI may not import: the device (``doctor``)
and the training recipes with every config field (``recipes --json``)."""
from __future__ import annotations

import json
from collections import deque
from typing import Optional, Sequence

from PySide6.QtCore import QObject, Signal

from resources import STARTER_MODEL_DIR

from .process import QtEngineProcess
from .setup import RecipeCatalog


def starter_model_exists() -> bool:
    """The bundled starter model ships with this installation (``engine score`` registers it)."""
    return (STARTER_MODEL_DIR / "model.safetensors").is_file()


def device_text(report: dict) -> tuple[str, Optional[bool]]:
    """``("GPU: NVIDIA H200", True)`` / ``("CPU (no CUDA GPU)", False)`` from a doctor report."""
    cuda = report.get("cuda")
    device = str(report.get("device") or "")
    if cuda and device and device != "cpu":
        return f"GPU: {device}", True
    if cuda is False:
        return "CPU (no CUDA GPU)", False
    torch = str(report.get("torch", ""))
    return (f"device unknown (torch {torch})" if torch.startswith("missing") else "device unknown"), None


# The device and the recipes do not change while the app runs: every window of the process
# shares the answers (each engine start imports torch, seconds of CPU).
_KNOWN: dict[tuple[str, tuple[str, ...]], object] = {}


class QtEngineInfo(QObject):
    """Runs ``doctor`` and ``recipes`` one after the other, once per process.

    Signals
    -------
    device_found(str, object)
        Device text for people and whether CUDA is there (None: unknown).
    recipes_loaded(object)
        A :class:`~gui.training.setup.RecipeCatalog`.
    failed(str)
        A command failed (the message for the log).
    """

    device_found = Signal(str, object)
    recipes_loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, command: Optional[Sequence[str]] = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QtEngineProcess(command, self, kill_after_ms=5000)
        self.process.line.connect(self._on_line)
        self.process.finished.connect(self._on_finished)
        self._queue: deque[tuple[str, list[str]]] = deque()
        self._current = ""
        self._payload: Optional[dict] = None
        self.report: dict = {}
        self.catalog: Optional[RecipeCatalog] = None

    def query(self, db_url: Optional[str]) -> None:
        """Ask for the device (about ``db_url``'s database) and the recipes, if not known yet."""
        command = self.process.command
        if not self.report and ("doctor", command) in _KNOWN:
            self.report = _KNOWN[("doctor", command)]
            self.device_found.emit(*device_text(self.report))
        if self.catalog is None and ("recipes", command) in _KNOWN:
            self.catalog = _KNOWN[("recipes", command)]
            self.recipes_loaded.emit(self.catalog)
        if not self.report and not any(k == "doctor" for k, _ in self._queue) and self._current != "doctor":
            self._queue.append(("doctor", ["doctor", "--json-progress"] + (["--db", db_url] if db_url else [])))
        if self.catalog is None and not any(k == "recipes" for k, _ in self._queue) and self._current != "recipes":
            self._queue.append(("recipes", ["recipes", "--json"]))
        if not self.process.running:
            self._next()

    def _next(self) -> None:
        if not self._queue:
            self._current = ""
            return
        self._current, args = self._queue.popleft()
        self._payload = None
        self.process.start(args)

    def _on_line(self, line: str) -> None:
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                return
            if isinstance(data, dict):
                self._payload = data

    def _on_finished(self, code: int, stderr_tail: str) -> None:
        what, data = self._current, self._payload
        if code != 0 or data is None:
            last = next((ln for ln in reversed(stderr_tail.splitlines()) if ln.strip()), f"exit code {code}")
            self.failed.emit(f"engine {what} failed: {last}")
            if what == "doctor":
                self.device_found.emit("device unknown (engine doctor failed)", None)
        elif what == "doctor":
            self.report = data
            _KNOWN[("doctor", self.process.command)] = data
            self.device_found.emit(*device_text(data))
        elif what == "recipes":
            try:
                self.catalog = RecipeCatalog.from_json(data)
            except (ValueError, KeyError, TypeError) as exc:
                self.failed.emit(f"engine recipes: {exc}")
            else:
                _KNOWN[("recipes", self.process.command)] = self.catalog
                self.recipes_loaded.emit(self.catalog)
        self._next()

    def shutdown(self) -> None:
        self._queue.clear()
        self.process.kill()
