"""Run ``python -m engine ...`` in a QProcess and hand its output over line by line.

Training and scoring never run in the GUI process: the engine is a child process whose
stdout carries JSON lines (``--json-progress``). Reading is event driven (no thread, no
blocking wait); Cancel sends SIGTERM, which the engine honours after its current step,
and a process that has not stopped after a grace period is killed.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections import deque
from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from .state import KILLED_NOTE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENGINE_COMMAND: tuple[str, ...] = (sys.executable, "-m", "engine")
STDERR_TAIL_LINES = 200
# Training saturates every core; at a lower priority the engine still gets all idle CPU, but
# the scheduler serves the GUI first, so the window stays responsive on a small laptop.
# REVIEWSCOPE_ENGINE_NICE overrides it (0: the engine's share of busy cores is the app's).
ENGINE_NICENESS = int(os.environ.get("REVIEWSCOPE_ENGINE_NICE", "10"))
# The database URL travels to the engine in its environment, never on its command line:
# `ps` shows every local user the arguments, and a server URL may carry a password.
DB_ENV = "REVIEWSCOPE_DB"


def split_db_url(args: Sequence[str]) -> tuple[list[str], Optional[str]]:
    """``args`` without ``--db URL`` (or ``--db=URL``), and that URL (None when absent)."""
    out: list[str] = []
    url: Optional[str] = None
    it = iter(args)
    for a in it:
        if a == "--db":
            url = next(it, None)
        elif a.startswith("--db="):
            url = a.split("=", 1)[1]
        else:
            out.append(a)
    return out, url


def engine_environment() -> QProcessEnvironment:
    """The app's environment, plus the project root on PYTHONPATH (source checkouts) and
    unbuffered, offline Python (the progress must arrive as it happens)."""
    env = QProcessEnvironment.systemEnvironment()
    path = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", str(PROJECT_ROOT) + (os.pathsep + path if path else ""))
    env.insert("PYTHONUNBUFFERED", "1")
    env.insert("HF_HUB_OFFLINE", env.value("HF_HUB_OFFLINE", "1"))
    env.insert("TRANSFORMERS_OFFLINE", env.value("TRANSFORMERS_OFFLINE", "1"))
    return env


class QtEngineProcess(QObject):
    """One engine command at a time.

    Parameters
    ----------
    command : sequence of str, optional
        The program and its leading arguments (default ``python -m engine``); tests pass
        a fake engine here.
    kill_after_ms : int
        After :meth:`cancel`, how long to wait for a clean stop before killing.
    niceness : int
        Scheduling priority offset of the child on POSIX (``nice``; 0: as the app).

    Signals
    -------
    line(str)
        One line of stdout (JSON events and anything else), in order.
    stderr_line(str)
        One line of stderr (a progress bar's redraws are reduced to their last state).
    started()
    finished(int, str)
        Exit code (-1 when the process crashed, was killed or could not start) and the
        last lines of stderr.
    """

    line = Signal(str)
    stderr_line = Signal(str)
    started = Signal()
    finished = Signal(int, str)

    def __init__(self, command: Optional[Sequence[str]] = None, parent: QObject | None = None,
                 kill_after_ms: int = 30_000, niceness: Optional[int] = None) -> None:
        super().__init__(parent)
        self.command = tuple(command or ENGINE_COMMAND)
        self.kill_after_ms = kill_after_ms
        self.niceness = ENGINE_NICENESS if niceness is None else niceness
        self._proc: Optional[QProcess] = None
        self._out = b""
        self._err = b""
        self._tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._on_kill_timeout)
        self._cancelled = False

    # ------------------------------------------------------------ control

    @property
    def running(self) -> bool:
        return self._proc is not None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def command_line(self, args: Sequence[str]) -> str:
        args, _url = split_db_url(args)
        shown = ["python" if a == sys.executable else a for a in (*self.command, *args)]
        return shlex.join(shown)

    def start(self, args: Sequence[str]) -> None:
        """Start ``command + args``; raises RuntimeError while another one runs."""
        if self._proc is not None:
            raise RuntimeError("an engine command is already running")
        self._out, self._err, self._cancelled = b"", b"", False
        self._tail.clear()
        args, db_url = split_db_url(args)
        env = engine_environment()
        if db_url is not None:
            env.insert(DB_ENV, db_url)
        proc = QProcess(self)
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(PROJECT_ROOT))
        proc.readyReadStandardOutput.connect(self._on_stdout)
        proc.readyReadStandardError.connect(self._on_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        proc.started.connect(self.started)
        self._proc = proc
        program, argv = self.command[0], [*self.command[1:], *args]
        nice = shutil.which("nice") if (self.niceness and os.name == "posix") else None
        if nice:  # nice execs the program: the pid (and SIGTERM) stay the engine's
            program, argv = nice, ["-n", str(self.niceness), program, *argv]
        proc.start(program, argv)

    def cancel(self) -> bool:
        """Ask the process to stop (SIGTERM: it finishes its current step); kill it if it
        has not stopped after ``kill_after_ms``. False when nothing runs."""
        if self._proc is None:
            return False
        self._cancelled = True
        self._proc.terminate()
        self._kill_timer.start(self.kill_after_ms)
        return True

    def kill(self, grace_ms: int = 2000) -> None:
        """Stop now (the window is closing): SIGTERM, up to ``grace_ms`` for a clean stop
        (a trainer then records its run as cancelled), else SIGKILL. No ``finished`` is
        emitted: whoever would react to it (dialogs, reloads) is going away."""
        proc = self._proc
        if proc is None:
            return
        self._cancelled = True
        self._proc = None
        self._kill_timer.stop()
        for signal in (proc.finished, proc.errorOccurred, proc.readyReadStandardOutput, proc.readyReadStandardError):
            signal.disconnect()
        proc.terminate()
        if not proc.waitForFinished(grace_ms):
            proc.kill()
            proc.waitForFinished(1000)
        proc.deleteLater()

    # ------------------------------------------------------------ output

    def _on_stdout(self) -> None:
        if self._proc is None:
            return
        self._out += bytes(self._proc.readAllStandardOutput())
        *lines, self._out = self._out.split(b"\n")
        for raw in lines:
            self.line.emit(raw.decode("utf-8", "replace").rstrip("\r"))

    def _on_stderr(self) -> None:
        if self._proc is None:
            return
        self._err += bytes(self._proc.readAllStandardError())
        *lines, self._err = self._err.split(b"\n")
        for raw in lines:
            self._stderr(raw)

    def _stderr(self, raw: bytes) -> None:
        # A progress bar redraws itself with carriage returns: keep its last state only.
        text = raw.decode("utf-8", "replace").split("\r")
        last = next((t for t in reversed(text) if t.strip()), "")
        if last.strip():
            self._tail.append(last.rstrip())
            self.stderr_line.emit(last.rstrip())

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            message = f"could not start {self.command[0]}: {self._proc.errorString()}"
            self._tail.append(message)
            self._done(-1)

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if self._proc is None:
            return
        self._on_stdout()
        self._on_stderr()
        if self._out.strip():
            self.line.emit(self._out.decode("utf-8", "replace").rstrip("\r"))
        if self._err.strip():
            self._stderr(self._err)
        self._out = self._err = b""
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._done(-1 if crashed else int(exit_code))

    def _done(self, code: int) -> None:
        proc, self._proc = self._proc, None
        self._kill_timer.stop()
        if proc is not None:
            proc.deleteLater()
        self.finished.emit(code, "\n".join(self._tail))

    def _on_kill_timeout(self) -> None:
        if self._proc is not None:
            self._tail.append(KILLED_NOTE.format(seconds=f"{self.kill_after_ms / 1000:g} s"))
            self._proc.kill()
