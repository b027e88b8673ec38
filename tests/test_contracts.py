"""The structure checks a machine can do: import-linter's layer contracts (pyproject.toml,
``[tool.importlinter]``) and ruff's lint rules (``[tool.ruff]``), run on the whole tree."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True)


def test_import_contracts_hold():
    out = _run("lint-imports", "--no-cache")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_ruff_finds_nothing():
    out = _run("ruff", "check", "gui", "engine", "storage", "benchmarks", "tests")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
