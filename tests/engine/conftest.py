"""Fixtures for the engine tests: a tiny BERT checkpoint built on the fly, CPU only."""

from __future__ import annotations

import inspect
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tiny tensors: one thread is fastest, and avoids OpenMP spin-waiting when the CPU is shared.
torch.set_num_threads(1)

WORDS = (
    "the a this it is was great good bad terrible product works broke after day days week "
    "love hate price quality fast slow shipping kettle water boil tea coffee music album song "
    "card gift easy use would buy again not very really well made cheap strong battery sound "
    "review helpful detailed short long because and but or with for of to in on i my we you"
).split()


def _vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    return list(dict.fromkeys(specials + sorted(set(WORDS)) + chars + pieces))


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory) -> str:
    """A random 1-layer BERT (hidden 32) + WordPiece tokenizer saved to a temp directory."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny_bert")
    vocab = _vocab()
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    else:  # transformers 4.x builds from a vocab file
        (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(str(path))
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(str(path))
    return str(path)


@pytest.fixture
def tiny_config(tiny_encoder_path):
    """A small MMSSConfig on the tiny encoder: d = 16, 2 heads, no dropout, RoI-size regions."""
    from engine.config import MMSSConfig

    def make(**changes):
        base = dict(
            hidden=16,
            attention_heads=2,
            dropout=0.0,
            text_encoder=tiny_encoder_path,
            max_tokens=24,
            image_source="roi",
            max_regions_per_image=4,
            max_regions_total=8,
        )
        base.update(changes)
        return MMSSConfig(**base)

    return make
