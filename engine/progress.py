"""Progress reporting for headless jobs: tqdm on a terminal, JSON lines for the GUI."""
from __future__ import annotations

import json
import sys
import time
from typing import Any


class Progress:
    """Report ``update(done, total)`` and named events.

    With ``json_lines`` every report is one JSON object per line on stdout
    (``{"event": "progress", "stage": ..., "done": .., "total": .., "elapsed": ..}``),
    flushed at once: the GUI's QProcess reads them. Otherwise a tqdm bar on stderr.
    """

    def __init__(self, stage: str, *, json_lines: bool = False, unit: str = "it", min_interval: float = 0.2):
        self.stage = stage
        self.json_lines = json_lines
        self.unit = unit
        self.min_interval = min_interval
        self._bar = None
        self._t0 = time.monotonic()
        self._last = 0.0

    def update(self, done: int, total: int | None = None) -> None:
        if self.json_lines:
            now = time.monotonic()
            if now - self._last < self.min_interval and (total is None or done < total):
                return
            self._last = now
            self.event("progress", done=done, total=total)
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.stage, unit=self.unit, file=sys.stderr, disable=not sys.stderr.isatty())
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def event(self, name: str, **fields: Any) -> None:
        if self.json_lines:
            payload = {"event": name, "stage": self.stage, "elapsed": round(time.monotonic() - self._t0, 3), **fields}
            sys.stdout.write(json.dumps(payload, default=str) + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
