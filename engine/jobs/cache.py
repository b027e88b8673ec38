"""On-disk cache of frozen-encoder outputs.

Keys are ``sha256(encoder identity, content)``: a changed text, image or encoder gives a
new key, so stale entries are never read (they are simply unused). Each entry is one small
safetensors file written to a temporary name and renamed, so a killed job never leaves a
half-written entry that a later run would trust.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import torch
from safetensors.torch import load_file, save_file


def content_key(identity: str, content: str | bytes) -> str:
    h = hashlib.sha256()
    h.update(identity.encode("utf-8"))
    h.update(b"\0")
    h.update(content.encode("utf-8") if isinstance(content, str) else content)
    return h.hexdigest()


class FeatureCache:
    """Tensor cache under ``root/<namespace>/<key[:2]>/<key>.safetensors``.

    Parameters
    ----------
    root : folder of the cache (created on demand); ``None`` disables caching.
    dtype : storage dtype (float16 halves the disk use; values come back as float32).
    """

    def __init__(self, root: Path | str | None, dtype: torch.dtype = torch.float16):
        self.root = Path(root) if root is not None else None
        self.dtype = dtype
        self.hits = 0
        self.misses = 0

    def _path(self, namespace: str, key: str) -> Path:
        assert self.root is not None
        return self.root / namespace / key[:2] / f"{key}.safetensors"

    def get(self, namespace: str, key: str) -> torch.Tensor | None:
        if self.root is None:
            return None
        p = self._path(namespace, key)
        try:
            t = load_file(str(p))["x"]
        except (FileNotFoundError, OSError, KeyError, ValueError, Exception):  # corrupt entry: recompute
            return None
        return t.float()

    def put(self, namespace: str, key: str, value: torch.Tensor) -> None:
        if self.root is None:
            return
        p = self._path(namespace, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        os.close(fd)
        try:
            save_file({"x": value.detach().to("cpu", self.dtype).contiguous()}, tmp)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_many(
        self,
        namespace: str,
        keys: Sequence[str],
        compute: Callable[[list[int]], list[torch.Tensor]],
        batch_size: int = 64,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[torch.Tensor]:
        """Return one tensor per key; ``compute(indices)`` fills the misses, in batches."""
        out: list[torch.Tensor | None] = [self.get(namespace, k) for k in keys]
        missing = [i for i, v in enumerate(out) if v is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        done = len(keys) - len(missing)
        for start in range(0, len(missing), batch_size):
            idx = missing[start : start + batch_size]
            values = compute(idx)
            for i, v in zip(idx, values):
                v = v.detach().cpu()
                self.put(namespace, keys[i], v)
                out[i] = v.to(self.dtype).float() if self.root is not None else v.float()
            done += len(idx)
            if on_progress:
                on_progress(done, len(keys))
        return out  # type: ignore[return-value]
