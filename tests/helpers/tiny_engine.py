"""A tiny text encoder and a small labelled catalogue, so real engine jobs run in seconds.

Plain functions (no fixtures): tests/gui builds its fixtures on them. The same recipe as
tests/engine/conftest.py (``tiny_encoder_path``) and tests/engine/test_jobs.py
(``make_catalogue``), shared here so GUI tests need not import engine test modules.
"""
from __future__ import annotations

import inspect
import json
import random
from pathlib import Path

WORDS = (
    "the a this it is was great good bad terrible product works broke after day days week "
    "love hate price quality fast slow shipping kettle water boil tea coffee music album song "
    "card gift easy use would buy again not very really well made cheap strong battery sound "
    "review helpful detailed short long because and but or with for of to in on i my we you"
).split()
CATALOGUE_WORDS = "great good bad product works kettle water tea coffee music album card gift easy price quality".split()


def _vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    return list(dict.fromkeys(specials + sorted(set(WORDS)) + chars + pieces))


def build_tiny_encoder(path: Path) -> str:
    """A random 2-layer BERT (hidden 32) + WordPiece tokenizer saved in ``path``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    else:  # transformers 4.x builds from a vocab file
        (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(str(path))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(path))
    return str(path)


def tiny_config(encoder_path: str) -> dict:
    """MMSSConfig and TrainConfig fields of a model that trains in a second per epoch on CPU."""
    return {"hidden": 16, "attention_heads": 2, "dropout": 0.0, "text_encoder": encoder_path, "max_tokens": 24,
            "text_finetune_layers": 0, "batch_size": 16, "lr_rest": 3e-3, "early_stopping_patience": 0}


def make_catalogue(db, n_products: int = 12, seed: int = 0) -> None:
    """Products with 6-10 reviews each; longer reviews get more votes (a learnable signal)."""
    from storage.models import Product, Review
    from storage.records import label_from_votes

    rng = random.Random(seed)
    splits = ["train", "train", "train", "dev", "test"]
    with db.begin() as s:
        for i in range(n_products):
            p = Product(product_id=f"P{i}", title=f"kettle {i}", description="water tea", category=f"cat{i % 2}",
                        split=splits[i % len(splits)])
            s.add(p)
            s.flush()
            for j in range(rng.randint(6, 10)):
                n_words = rng.randint(2, 40)
                votes = max(0, n_words // 4 + rng.randint(-1, 1))
                s.add(Review(review_id=f"P{i}-R{j}", product_pk=p.id, title=f"review {j} of kettle {i}",
                             rating=rng.randint(1, 5), text=" ".join(rng.choice(CATALOGUE_WORDS) for _ in range(n_words)),
                             helpful_votes=votes, time=1_000_000 + j * 1000, label=label_from_votes(votes)))


def write_tiny_checkpoint(directory: Path, encoder_path: str, metrics: dict | None = None) -> str:
    """Save an untrained tiny MM-SS checkpoint (safetensors + JSON); returns the weights' sha256."""
    from engine.checkpoint import save_checkpoint
    from engine.config import split_settings
    from engine.model import MMSSModel

    config, _train = split_settings({**tiny_config(encoder_path), "image_source": "roi", "max_regions_per_image": 4,
                                     "max_regions_total": 8})
    return save_checkpoint(Path(directory), MMSSModel(config), config, {"metrics": metrics or {}, "recipe": "test"})


def write_json(path: Path, data) -> str:
    Path(path).write_text(json.dumps(data), encoding="utf-8")
    return str(path)
