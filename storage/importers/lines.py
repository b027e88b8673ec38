"""Bounded UTF-8 line reading for the line-based formats (JSONL, CSV, the Amazon review
files): strict decoding with clear encoding errors, a cap on one line's length, and the line
count for progress. A gzip file (told by its first bytes, not its name) is decompressed as it
is read; a truncated or corrupt stream is an error naming the first line it could not read."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO, Iterator

from ..errors import CatalogueError

__all__ = ["MAX_LINE_BYTES", "MAX_JSON_FILE_BYTES", "GZIP_MAGIC", "is_gzip", "open_binary", "decode_line", "iter_lines",
           "head_lines", "count_lines"]

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)

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


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip; CatalogueError when it cannot be opened."""
    try:
        f = open(path, "rb")
        if f.read(2) == GZIP_MAGIC:
            f.seek(0)
            return gzip.GzipFile(fileobj=f, mode="rb")
        f.seek(0)
        return f
    except OSError as exc:
        raise CatalogueError(path, None, None, f"cannot read the file: {exc.strerror or exc}") from None


def _gzip_problem(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip stream ends early: the file is truncated (an interrupted download?); download it again"
    return f"corrupt gzip data ({exc}); download the file again"


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, decoded line)`` for every line of ``path``, 1-based, newline kept.

    Each line is read with ``readline(limit)`` so an over-long line is refused after at most
    :data:`MAX_LINE_BYTES` + 1 bytes, never read whole into memory. Gzip files are read
    through the decompressor; a truncated stream raises an error naming the line it cut.
    """
    cap = MAX_LINE_BYTES  # read at call time: tests lower it
    f = open_binary(path)
    with f:
        lineno = 0
        while True:
            try:
                raw = f.readline(cap + 1)
            except _GZIP_ERRORS as exc:
                raise CatalogueError(path, lineno + 1, None, _gzip_problem(exc)) from None
            except OSError as exc:
                raise CatalogueError(path, lineno + 1, None, f"cannot read the file: {exc.strerror or exc}") from None
            if not raw:
                return
            lineno += 1
            if len(raw) > cap and not (len(raw) == cap + 1 and raw.endswith(b"\n")):
                raise CatalogueError(
                    path, lineno, None, f"line is longer than {cap:,} bytes; refused (a corrupt or non-catalogue file?)"
                )
            yield lineno, decode_line(raw, path, lineno)


def head_lines(path: Path, n: int = 5, max_bytes: int = 1 << 20) -> list[str]:
    """Up to ``n`` non-blank decoded lines from the start of ``path`` (for telling a format by
    its content); stops quietly at an unreadable or over-long line (the import reports it)."""
    out: list[str] = []
    try:
        f = open_binary(path)
    except CatalogueError:
        return out
    with f:
        lineno = 0
        try:
            while len(out) < n:
                raw = f.readline(max_bytes + 1)
                if not raw or len(raw) > max_bytes:
                    break
                lineno += 1
                text = decode_line(raw, path, lineno)
                if text.strip():
                    out.append(text)
        except (CatalogueError, OSError, *_GZIP_ERRORS):
            pass
    return out


GZIP_SAMPLE_BYTES = 4 * 2**20
"""How much of a gzip file's text :func:`count_lines` decompresses to estimate its line count."""


def count_lines(path: Path) -> int:
    """Newline count (plus an unterminated last line), read in chunks: the progress total.

    A gzip file is not decompressed twice (that was ~0.5 s of a 100,000-review import): its
    count is estimated from the first :data:`GZIP_SAMPLE_BYTES` of text, scaled by how much
    of the compressed file they took (exact when the sample is the whole file). A broken
    stream counts what could be read."""
    n = 0
    last = b""
    try:
        with open_binary(path) as f:
            raw = getattr(f, "fileobj", None)  # the compressed file under a GzipFile
            read = 0
            while chunk := f.read(1 << 20):
                n += chunk.count(b"\n")
                last = chunk
                read += len(chunk)
                if raw is not None and read >= GZIP_SAMPLE_BYTES:
                    used, size = raw.tell(), Path(path).stat().st_size
                    if 0 < used < size:
                        return max(n, round(n * size / used))
    except (OSError, CatalogueError, *_GZIP_ERRORS):
        return n
    return n + (1 if last and not last.endswith(b"\n") else 0)
