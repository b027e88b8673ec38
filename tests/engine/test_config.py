"""engine.config: MMSSConfig (what the model is) and TrainConfig (how it is trained), their
JSON round trips, the flat settings both split from, and which fields are architecture."""

import dataclasses
import json
import subprocess
import sys

import pytest

from engine.config import (
    ARCHITECTURE_FIELDS,
    SUBTASKS,
    ImageSource,
    MarginMode,
    MMSSConfig,
    TrainConfig,
    flat_settings,
    split_settings,
)


def test_config_round_trips_exactly():
    cfg = MMSSConfig(
        image_source="roi",
        margin_mode="adaptive",
        negatives_per_positive=7,
        drop_subtasks=["p_v r_t"],
        text_finetune_layers=2,
    )
    assert cfg.image_source is ImageSource.ROI and cfg.margin_mode is MarginMode.ADAPTIVE
    assert cfg.drop_subtasks == ("p_v r_t",) and cfg.image_feat_dim == 2048 and cfg.text_finetune
    assert MMSSConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.to_dict()["image_source"] == "roi" and cfg.to_dict()["drop_subtasks"] == ["p_v r_t"]
    assert MMSSConfig().image_feat_dim == 1280 and not MMSSConfig().text_finetune
    assert MMSSConfig().hidden == 128 and MMSSConfig().max_tokens == 128
    assert MMSSConfig().active_subtasks == SUBTASKS


def test_train_config_round_trips_exactly():
    train = TrainConfig(lr_rest=3e-3, weight_decay=1, epochs=4, alpha_1=0.5, clamp_min=-2, seed=7)
    assert train.weight_decay == 1.0 and isinstance(train.weight_decay, float) and train.clamp_min == -2.0
    assert TrainConfig.from_dict(json.loads(json.dumps(train.to_dict()))) == train
    assert TrainConfig().lr_text == 5e-5 and TrainConfig().lr_rest == 1e-4 and TrainConfig().batch_size == 32


def test_flat_settings_split_into_both_configs_and_back():
    cfg, train = MMSSConfig(hidden=64, dropout=0.3), TrainConfig(epochs=12, lr_rest=3e-4)
    flat = flat_settings(cfg, train)
    assert set(flat) == MMSSConfig.field_names() | TrainConfig.field_names()
    assert split_settings(json.loads(json.dumps(flat))) == (cfg, train)
    assert split_settings({"hidden": 64, "epochs": 3}) == (MMSSConfig(hidden=64), TrainConfig(epochs=3))
    with pytest.raises(ValueError, match=r"my.json: unknown field 'hiden'"):
        split_settings({"hiden": 64}, where="my.json")
    with pytest.raises(ValueError, match="epochs"):
        split_settings({"epochs": 0})


def test_the_two_configs_share_no_field_and_the_architecture_is_the_models():
    assert not MMSSConfig.field_names() & TrainConfig.field_names()
    assert ARCHITECTURE_FIELDS < MMSSConfig.field_names()
    # what a run that continues from a model may still change in MMSSConfig: dropout, which
    # encoder layers train, the losses
    assert MMSSConfig.field_names() - ARCHITECTURE_FIELDS == {
        "dropout", "text_finetune_layers", "margin_mode", "margin", "negatives_per_positive", "subtask_loss_weight",
        "subtask_rank_weight", "subtask_rank_adaptive"}


@pytest.mark.parametrize(
    "cls, bad, field",
    [
        (MMSSConfig, {"image_source": "rgb"}, "image_source"),
        (MMSSConfig, {"margin_mode": "huge"}, "margin_mode"),
        (MMSSConfig, {"drop_subtasks": ["p_t x"]}, "drop_subtasks"),
        (MMSSConfig, {"drop_subtasks": "p_t r_t"}, "drop_subtasks"),
        (MMSSConfig, {"hidden": 130}, "attention_heads"),
        (MMSSConfig, {"hidden": "128"}, "hidden"),
        (MMSSConfig, {"use_metadata": 1}, "use_metadata"),
        (MMSSConfig, {"dropout": 1.0}, "dropout"),
        (MMSSConfig, {"max_regions_per_image": 200}, "max_regions_per_image"),
        (MMSSConfig, {"text_finetune_layers": -2}, "text_finetune_layers"),
        (MMSSConfig, {"negatives_per_positive": -1}, "negatives_per_positive"),
        (MMSSConfig, {"text_encoder": ""}, "text_encoder"),
        (TrainConfig, {"clamp_min": 3.0, "clamp_max": 2.0}, "clamp_min"),
        (TrainConfig, {"lr_rest": 0}, "lr_rest"),
        (TrainConfig, {"batch_size": 2.0}, "batch_size"),
        (TrainConfig, {"grad_clip": -1.0}, "grad_clip"),
        (TrainConfig, {"ssp_shrinkage": 0.0}, "ssp_shrinkage"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(cls, bad, field):
    with pytest.raises(ValueError, match=field):
        cls(**bad)


def test_config_rejects_unknown_keys_and_is_frozen():
    with pytest.raises(ValueError, match="unknown MMSSConfig field.*hiden"):
        MMSSConfig.from_dict({"hiden": 64})
    with pytest.raises(ValueError, match="unknown TrainConfig field.*hidden"):
        TrainConfig.from_dict({"hidden": 64})
    cfg = MMSSConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hidden = 3
    assert cfg.replace(hidden=64).hidden == 64
    with pytest.raises(ValueError, match="hidden"):
        cfg.replace(hidden=0)


def test_the_config_module_is_torch_free():
    """The app reads ARCHITECTURE_FIELDS from it."""
    code = "import sys, engine.config; print(sorted(m for m in ('torch', 'PySide6', 'sqlalchemy') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
