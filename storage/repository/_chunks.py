"""``col IN (...)`` over many values, in chunks: SQLite limits the bound parameters of one
statement (999 in older builds)."""
from __future__ import annotations

from typing import Iterator, Sequence

IN_CHUNK = 900
"""Values per chunk: far below SQLite's bound-parameter limit, with room for a query's own."""


def in_chunks(col, values: Sequence) -> Iterator:
    """``col.in_(chunk)`` for consecutive chunks of ``values``."""
    values = list(values)
    for i in range(0, len(values), IN_CHUNK):
        yield col.in_(values[i:i + IN_CHUNK])
