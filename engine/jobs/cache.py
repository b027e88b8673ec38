"""On-disk cache of frozen-encoder outputs.

Keys are ``sha256(encoder identity, content)``: a changed text, image or encoder gives a
new key, so stale entries are never read (they are simply unused).

Layout (per namespace, i.e. per encoder): entries are stored in *shards*, one safetensors
file per batch of computed entries (``root/<namespace>/shards/<unique>.safetensors``, the
tensor names are the keys). A shard is written to a temporary name and renamed, so a killed
job never leaves a half-written shard that a later run would trust, and two processes that
fill the cache at once never write the same file. The index (key -> shard) is the union of
the shards' safetensors headers, read once per process and topped up with new shards when a
key is missing. Reading a 2,000-review chunk thus opens a handful of files instead of 2,000
(benchmarks/ measures it: docs/performance.md).

Entries of the earlier one-file-per-entry layout (``root/<namespace>/<key[:2]>/<key>.safetensors``)
are still read, so an existing cache stays valid.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Sequence

import torch
from safetensors.torch import load_file, save_file

SHARDS = "shards"
_MAX_HEADER = 100 * 2**20  # a shard header larger than this is taken for corrupt


def content_key(identity: str, content: str | bytes) -> str:
    h = hashlib.sha256()
    h.update(identity.encode("utf-8"))
    h.update(b"\0")
    h.update(content.encode("utf-8") if isinstance(content, str) else content)
    return h.hexdigest()


_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
           "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def _shard_entries(path: Path) -> dict[str, tuple]:
    """``key -> (dtype, shape, first byte, end byte)`` of a safetensors file, from its header
    only (no tensor data read)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("truncated")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER:
            raise ValueError("header too large")
        header = json.loads(fh.read(n))
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        begin, end = v["data_offsets"]
        out[k] = (v["dtype"], tuple(v["shape"]), base + begin, base + end)
    return out


def _read_entries(path: Path, wanted: list[tuple[int, tuple]]) -> list[tuple[int, torch.Tensor]]:
    """Read the given ``(slot, entry)`` tensors of one shard with plain reads (no mmap: the
    pages stay in the OS cache, not in this process's resident memory): the whole file in one
    read when most of it is wanted (a rescoring reads shards whole), else entry by entry."""
    out = []
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        need = sum(e[3] - e[2] for _, e in wanted)
        if need * 2 >= size:
            buf = bytearray(size)
            if fh.readinto(buf) != size:
                raise ValueError("truncated shard")
            for slot, (dtype, shape, begin, end) in wanted:
                dt = _DTYPES[dtype]
                if end > size or (end - begin) % dt.itemsize:
                    raise ValueError("entry outside the shard")
                n = (end - begin) // dt.itemsize
                t = torch.frombuffer(buf, dtype=dt, count=n, offset=begin) if n else torch.empty(0, dtype=dt)
                out.append((slot, t.reshape(shape)))
            return out
        for slot, (dtype, shape, begin, end) in sorted(wanted, key=lambda w: w[1][2]):
            fh.seek(begin)
            buf = bytearray(end - begin)
            if fh.readinto(buf) != len(buf):
                raise ValueError("truncated shard")
            t = torch.frombuffer(buf, dtype=_DTYPES[dtype]) if buf else torch.empty(0, dtype=_DTYPES[dtype])
            out.append((slot, t.reshape(shape)))
    return out


class FeatureCache:
    """Tensor cache under ``root/<namespace>/`` (sharded; see the module docstring).

    Parameters
    ----------
    root : folder of the cache (created on demand); ``None`` disables caching.
    dtype : storage dtype (float16 halves the disk use; values come back as float32
        unless ``as_float=False`` is asked for).
    """

    def __init__(self, root: Path | str | None, dtype: torch.dtype = torch.float16):
        self.root = Path(root) if root is not None else None
        self.dtype = dtype
        self.hits = 0
        self.misses = 0
        self._index: dict[str, dict[str, tuple[Path, tuple]]] = {}  # namespace -> key -> (shard, entry)
        self._seen: dict[str, set[str]] = {}  # namespace -> shard file names already indexed

    # ---------------------------------------------------------------- layout
    def _path(self, namespace: str, key: str) -> Path:
        """Where the earlier one-file-per-entry layout kept ``key`` (still read)."""
        assert self.root is not None
        return self.root / namespace / key[:2] / f"{key}.safetensors"

    def _shard_dir(self, namespace: str) -> Path:
        assert self.root is not None
        return self.root / namespace / SHARDS

    def _scan(self, namespace: str) -> None:
        """Index shards of ``namespace`` not seen yet (new ones from other processes too)."""
        index = self._index.setdefault(namespace, {})
        seen = self._seen.setdefault(namespace, set())
        try:
            names = os.listdir(self._shard_dir(namespace))
        except OSError:
            return
        for name in names:
            if name in seen or not name.endswith(".safetensors"):
                continue
            seen.add(name)
            path = self._shard_dir(namespace) / name
            try:
                entries = _shard_entries(path)
            except (OSError, ValueError, KeyError, TypeError):  # corrupt shard: its entries are recomputed
                continue
            for k, e in entries.items():
                if e[0] in _DTYPES:
                    index.setdefault(k, (path, e))

    # ---------------------------------------------------------------- reading
    def _lookup(self, namespace: str, keys: Sequence[str]) -> list[torch.Tensor | None]:
        """Stored values (in the cache dtype) or None, one per key."""
        out: list[torch.Tensor | None] = [None] * len(keys)
        if self.root is None or not keys:
            return out
        if namespace not in self._index:
            self._scan(namespace)
        index = self._index[namespace]
        if any(k not in index for k in keys):
            self._scan(namespace)  # another process may have added shards since
        by_shard: dict[Path, list[tuple[int, tuple]]] = {}
        for i, k in enumerate(keys):
            hit = index.get(k)
            if hit is not None:
                by_shard.setdefault(hit[0], []).append((i, hit[1]))
        for shard, wanted in by_shard.items():
            try:
                for i, t in _read_entries(shard, wanted):
                    out[i] = t
            except Exception:  # corrupt or vanished shard: forget it, recompute its entries
                for i, _e in wanted:
                    out[i] = None
                    index.pop(keys[i], None)
        legacy: list[int] = []
        for i, k in enumerate(keys):
            if out[i] is None and k not in index:
                p = self._path(namespace, k)
                if p.is_file():
                    try:
                        out[i] = load_file(str(p))["x"]
                        legacy.append(i)
                    except Exception:  # corrupt legacy entry: recompute
                        out[i] = None
        if legacy:  # move them into a shard once: the next read opens one file, not many
            try:
                self.put_many(namespace, [keys[i] for i in legacy], [out[i] for i in legacy])
            except OSError:
                pass
        return out

    # ---------------------------------------------------------------- writing
    def put_many(self, namespace: str, keys: Sequence[str], values: Sequence[torch.Tensor]) -> None:
        """Store ``values`` under ``keys`` as ONE new shard (atomically: temp file + rename)."""
        if self.root is None or not keys:
            return
        tensors: dict[str, torch.Tensor] = {}
        for k, v in zip(keys, values):
            tensors[k] = v.detach().to("cpu", self.dtype).contiguous()
        d = self._shard_dir(namespace)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{uuid.uuid4().hex}.safetensors"
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._seen.setdefault(namespace, set()).add(path.name)
        index = self._index.setdefault(namespace, {})
        try:
            entries = _shard_entries(path)
        except (OSError, ValueError):
            return
        for k, e in entries.items():
            index[k] = (path, e)

    def get_many(
        self,
        namespace: str,
        keys: Sequence[str],
        compute: Callable[[list[int]], list[torch.Tensor]],
        batch_size: int = 64,
        on_progress: Callable[[int, int], None] | None = None,
        *,
        as_float: bool = True,
    ) -> list[torch.Tensor]:
        """Return one tensor per key; ``compute(indices)`` fills the misses, in batches
        (each batch is stored as one shard). Values are float32, or the cache dtype with
        ``as_float=False`` (a computed value then equals what a later read returns)."""
        out = self._lookup(namespace, keys)
        missing = [i for i, v in enumerate(out) if v is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        done = len(keys) - len(missing)
        for start in range(0, len(missing), batch_size):
            idx = missing[start : start + batch_size]
            values = [v.detach().cpu() for v in compute(idx)]
            if self.root is not None:
                self.put_many(namespace, [keys[i] for i in idx], values)
                for i, v in zip(idx, values):
                    out[i] = v.to(self.dtype)  # what a later read gives back
            else:
                for i, v in zip(idx, values):
                    out[i] = v
            done += len(idx)
            if on_progress:
                on_progress(done, len(keys))
        if as_float:
            return [v.float() for v in out]  # type: ignore[union-attr]
        return out  # type: ignore[return-value]
