"""Bounded UTF-8 line reading for the line-based formats (JSONL, CSV): strict decoding with
clear encoding errors, a cap on one line's length, and the line count for progress."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import CatalogueError

__all__ = ["MAX_LINE_BYTES", "MAX_JSON_FILE_BYTES", "decode_line", "iter_lines", "count_lines"]

MAX_LINE_BYTES = 10 * 2**20
"""A line (JSONL row, CSV physical line) longer than this is refused without reading it whole."""

MAX_JSON_FILE_BYTES = 2 * 2**30
"""Whole-file JSON (MRHP) larger than this is refused before reading."""


def _encoding_problem(raw: bytes, lineno: int) -> str | None:
    if lineno == 1 and (raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff")):
        return "the file is UTF-16 encoded; ReviewScope reads UTF-8 only (save the file as UTF-8)"
    if b"\x00" in raw:
        return "the line contains NUL bytes (a UTF-16 or binary file?); ReviewScope reads UTF-8 only"
    return None


def decode_line(raw: bytes, path: Path, lineno: int) -> str:
    """Strict UTF-8; a UTF-8 BOM on the first line is skipped; clear errors otherwise."""
    problem = _encoding_problem(raw, lineno)
    if problem:
        raise CatalogueError(path, lineno, None, problem)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise CatalogueError(
            path, lineno, None,
            f"not valid UTF-8 (byte 0x{bad} at byte {exc.start + 1} of the line; latin-1 or cp1252?); "
            "ReviewScope reads UTF-8 only (save the file as UTF-8)",
        ) from None
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return text


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, decoded line)`` for every line of ``path``, 1-based, newline kept.

    Each line is read with ``readline(limit)`` so an over-long line is refused after at most
    :data:`MAX_LINE_BYTES` + 1 bytes, never read whole into memory.
    """
    cap = MAX_LINE_BYTES  # read at call time: tests lower it
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CatalogueError(path, None, None, f"cannot read the file: {exc.strerror or exc}") from None
    with f:
        lineno = 0
        while True:
            raw = f.readline(cap + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > cap and not (len(raw) == cap + 1 and raw.endswith(b"\n")):
                raise CatalogueError(
                    path, lineno, None, f"line is longer than {cap:,} bytes; refused (a corrupt or non-catalogue file?)"
                )
            yield lineno, decode_line(raw, path, lineno)


def count_lines(path: Path) -> int:
    """Newline count (plus an unterminated last line), read in chunks: the progress total."""
    n = 0
    last = b""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                n += chunk.count(b"\n")
                last = chunk
    except OSError:
        return 0
    return n + (1 if last and not last.endswith(b"\n") else 0)
