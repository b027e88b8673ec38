"""Checkpoints: safetensors + JSON round trip, atomic writes, and refusal of pickles."""

import hashlib
import json
import os
import pickle

import pytest
import torch
from safetensors.torch import load_file

from engine.checkpoint import CARD_FILE, card_configs, load_checkpoint, read_card, save_checkpoint
from engine.config import MMSSConfig, TrainConfig, flat_settings
from engine.model import MMSSBatch, MMSSModel
from resources import STARTER_MODEL_DIR


class _Exploit:
    """Unpickling this runs code: it creates the file named by ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _batch(cfg, model):
    g = torch.Generator().manual_seed(0)
    return MMSSBatch.build(
        cfg,
        [0, 0, 1],
        review_texts=["great kettle", "it broke after a day", "love the album"],
        product_texts=["kettle", "music album"],
        text_encoder=model.text_encoder,
        product_images=[[torch.randn(3, 2048, generator=g)], None],
        review_images=[None, [torch.randn(2, 2048, generator=g)], None],
        metadata=torch.randn(3, cfg.n_metadata, generator=g),
    )


def _trained_model(cfg):
    torch.manual_seed(0)
    model = MMSSModel(cfg)
    with torch.no_grad():  # move every weight off its initial value
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    model.set_metadata_normalization(torch.arange(cfg.n_metadata).float(), torch.full((cfg.n_metadata,), 2.0))
    return model


@pytest.mark.parametrize("finetune", [0, 1])
def test_round_trip_gives_identical_outputs(tmp_path, tiny_config, finetune):
    cfg = tiny_config(text_finetune_layers=finetune)
    model = _trained_model(cfg)
    model.eval()
    batch = _batch(cfg, model)
    ref = model(batch)
    card = {"metrics": {"MAP": 61.2}, "data_summary": {"products": 2}, "note": "unit test"}
    sha = save_checkpoint(tmp_path / "v1", model, cfg, card)

    assert sorted(os.listdir(tmp_path / "v1")) == ["model.json", "model.safetensors"]
    assert sha == hashlib.sha256((tmp_path / "v1" / "model.safetensors").read_bytes()).hexdigest()
    keys = load_file(str(tmp_path / "v1" / "model.safetensors")).keys()
    assert any(k.startswith("text_encoder.") for k in keys) == bool(finetune)

    loaded, cfg2, meta = load_checkpoint(tmp_path / "v1")
    assert cfg2 == cfg and not loaded.training
    out = loaded(batch)
    assert torch.equal(out.score, ref.score)
    assert torch.equal(out.sub_scores, ref.sub_scores)
    assert meta["weights_sha256"] == sha
    assert meta["metrics"] == {"MAP": 61.2} and meta["data_summary"] == {"products": 2}
    assert meta["card"] == {"note": "unit test"}
    assert meta["config"] == cfg.to_dict()
    assert meta["text_encoder_identity"] == model.text_encoder.encoder_identity()
    assert meta["code_version"] and meta["weights_include_text_encoder"] == bool(finetune)
    assert read_card(tmp_path / "v1") == meta


def test_overwrite_is_atomic_and_leaves_no_temporaries(tmp_path, tiny_config):
    cfg = tiny_config()
    model = _trained_model(cfg)
    save_checkpoint(tmp_path / "ckpt", model, cfg, {"metrics": {"MAP": 1.0}})
    with torch.no_grad():
        model.score_head.bias.add_(1.0)
    sha2 = save_checkpoint(tmp_path / "ckpt", model, cfg, {"metrics": {"MAP": 2.0}})
    assert os.listdir(tmp_path) == ["ckpt"]
    meta = read_card(tmp_path / "ckpt")
    assert meta["metrics"] == {"MAP": 2.0} and meta["weights_sha256"] == sha2
    with pytest.raises(ValueError, match="JSON"):
        save_checkpoint(tmp_path / "bad", model, cfg, {"metrics": {"x": object()}})
    assert os.listdir(tmp_path) == ["ckpt"]
    with pytest.raises(ValueError, match="differs"):
        save_checkpoint(tmp_path / "bad", model, cfg.replace(dropout=0.5), {})


def test_pickle_files_are_refused_without_running_them(tmp_path, tiny_config):
    marker = tmp_path / "pwned"
    for name in ("model.pt", "model.pth", "pytorch_model.bin"):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_bytes(pickle.dumps(_Exploit(str(marker))))
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            load_checkpoint(d)
        assert not marker.exists()
    # a pickle passed directly as the checkpoint path
    with pytest.raises(ValueError, match="model.pt"):
        load_checkpoint(tmp_path / "model_pt" / "model.pt")

    # a pickle renamed to model.safetensors inside an otherwise valid checkpoint
    cfg = tiny_config()
    save_checkpoint(tmp_path / "ok", _trained_model(cfg), cfg, {})
    torch.save({"x": _Exploit(str(marker))}, tmp_path / "ok" / "model.safetensors")
    with pytest.raises(ValueError, match="model.safetensors"):
        load_checkpoint(tmp_path / "ok")
    assert not marker.exists()


def test_tampered_weights_and_cards_are_refused(tmp_path, tiny_config):
    cfg = tiny_config()
    model = _trained_model(cfg)
    save_checkpoint(tmp_path / "c", model, cfg, {})
    weights = tmp_path / "c" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_checkpoint(tmp_path / "c")

    save_checkpoint(tmp_path / "d", model, cfg, {})
    card = json.loads((tmp_path / "d" / "model.json").read_text())
    card["text_encoder_identity"] = "minilm@0000000000000000/t24"
    (tmp_path / "d" / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="text encoder"):
        load_checkpoint(tmp_path / "d")
    card["config"]["no_such_switch"] = True
    (tmp_path / "d" / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="no_such_switch"):
        load_checkpoint(tmp_path / "d", verify_encoder=False)
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing")


def test_load_without_text_encoder_for_cached_states(tmp_path, tiny_config):
    cfg = tiny_config()
    model = _trained_model(cfg)
    model.eval()
    save_checkpoint(tmp_path / "c", model, cfg, {})
    bare, _, _ = load_checkpoint(tmp_path / "c", load_text_encoder=False)
    assert bare.text_encoder is None
    states = model.text_encoder.encode_text_states(["great kettle", "kettle"])
    batch = MMSSBatch.build(cfg, [0], review_states=states[:1], product_states=states[1:],
                            metadata=torch.zeros(1, cfg.n_metadata))
    assert torch.equal(bare(batch).score, model(batch).score)


def test_the_card_keeps_the_model_config_and_the_training_config_apart(tmp_path, tiny_config):
    cfg, train = tiny_config(), TrainConfig(epochs=3, lr_rest=3e-3)
    save_checkpoint(tmp_path / "m", _trained_model(cfg), cfg, {}, train)
    meta = read_card(tmp_path / "m")
    assert meta["config"] == cfg.to_dict() and meta["train_config"] == train.to_dict()
    assert card_configs(meta) == (cfg, train)
    save_checkpoint(tmp_path / "untrained", _trained_model(cfg), cfg)  # no training to record
    assert card_configs(read_card(tmp_path / "untrained")) == (cfg, TrainConfig())


def test_a_card_with_the_old_flat_config_still_loads(tmp_path, tiny_config):
    """model.json written before the split: one flat ``config`` of both, no ``train_config``."""
    cfg, train = tiny_config(), TrainConfig(epochs=3, lr_rest=3e-3, alpha_1=0.5)
    model = _trained_model(cfg)
    model.eval()
    ref = model(_batch(cfg, model))
    save_checkpoint(tmp_path / "old", model, cfg, {}, train)
    card = json.loads((tmp_path / "old" / CARD_FILE).read_text())
    del card["train_config"]
    card["config"] = flat_settings(cfg, train)
    (tmp_path / "old" / CARD_FILE).write_text(json.dumps(card))
    loaded, cfg2, meta = load_checkpoint(tmp_path / "old")
    assert cfg2 == cfg and card_configs(meta) == (cfg, train)
    assert torch.equal(loaded(_batch(cfg, loaded)).score, ref.score)


@pytest.mark.skipif(not (STARTER_MODEL_DIR / "model.safetensors").is_file(), reason="no bundled starter model")
def test_the_bundled_starter_model_still_loads():
    config, train = card_configs(read_card(STARTER_MODEL_DIR))
    assert isinstance(config, MMSSConfig) and config.hidden == 64 and train.epochs == 12
    model, loaded, _meta = load_checkpoint(STARTER_MODEL_DIR, load_text_encoder=False)
    assert loaded == config and model.config == config
