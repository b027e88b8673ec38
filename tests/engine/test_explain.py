"""A score's explanation (engine/model/explain.py, MMSS.md "Explaining a score"): the parts add up
to the score; the fused parts are exact Shapley values (efficiency, symmetry, null player, and
the permutation definition); the metadata parts are the linear path's terms exactly."""
from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

from engine.checkpoint import CARD_FILE, WEIGHTS_FILE, load_checkpoint, save_checkpoint, store_fusion_reference
from engine.metadata import METADATA_FEATURES, METADATA_LABELS
from engine.model import MMSSBatch, MMSSModel
from engine.model.explain import (
    REFERENCE_FALLBACK,
    REFERENCE_TRAINING_MEAN,
    _head,
    explain,
    fusion_block_means,
    shapley_matrix,
)

from test_model import _batch, _data  # noqa: E402  (tests/engine is on sys.path)


@pytest.fixture
def model_and_batch(tiny_config):
    torch.manual_seed(0)
    cfg = tiny_config()
    model = MMSSModel(cfg).eval()
    with torch.no_grad():  # move the linear path and biases off their init so every part matters
        for p in (model.metadata_score.weight, model.metadata_score.bias, model.score_head.bias, model.fusion.bias):
            p.add_(0.3 * torch.randn_like(p))
    return model, cfg, _batch(cfg)


def _sum(why, i):
    return why.base[i] + why.blocks[i].sum() + (why.metadata[i].sum() if why.metadata is not None else 0.0)


@pytest.mark.parametrize("with_means", [True, False])
def test_parts_add_up_to_the_score(model_and_batch, with_means):
    model, cfg, batch = model_and_batch
    out = model.predict(batch)
    if with_means:
        model.fusion_reference = fusion_block_means(model, [out])
    why = explain(model, out)
    assert why.reference == (REFERENCE_TRAINING_MEAN if with_means else REFERENCE_FALLBACK)
    assert why.block_names == ("p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v", "metadata")
    assert why.blocks.shape == (5, 6) and why.metadata.shape == (5, cfg.n_metadata)
    for i in range(5):
        assert abs(float(_sum(why, i)) - float(out.score[i])) < 1e-4
        assert abs(float(why.score[i]) - float(out.score[i])) < 1e-4
        record = why.record(i)
        assert abs(record["base"] + sum(v for _, _, v in record["parts"]) - float(out.score[i])) < 1e-4
        assert json.loads(json.dumps(record)) == record  # stored as JSON


def test_metadata_parts_are_the_linear_path_terms(model_and_batch):
    model, cfg, batch = model_and_batch
    out = model.predict(batch)
    why = explain(model, out)
    m_norm = (batch.metadata - model.metadata_mean) / model.metadata_std
    torch.testing.assert_close(why.metadata, m_norm * model.metadata_score.weight[0], rtol=0, atol=1e-6)
    # the base carries the linear path's bias and g(all absent), the same for every review
    g_absent = _head(model, model.fusion_reference if model.fusion_reference is not None else
                     torch.cat([torch.zeros(5, cfg.hidden), model.metadata_proj.bias[None]]).reshape(-1))
    torch.testing.assert_close(why.base, (g_absent + model.metadata_score.bias[0]).expand(5), rtol=0, atol=1e-6)
    labels = [label for _, label, _ in why.parts(0)]
    assert labels[-len(METADATA_FEATURES):] == [METADATA_LABELS[f] for f in METADATA_FEATURES]
    assert "review length" in labels and "older than most reviews" in labels
    assert all("_" not in label for label in labels)  # plain words, no feature names


def test_fused_parts_are_the_shapley_values_of_the_permutation_definition(model_and_batch):
    """phi_k = mean over the 720 orders of the six blocks of k's marginal contribution."""
    model, cfg, batch = model_and_batch
    out = model.predict(batch)
    model.fusion_reference = 0.5 * torch.randn(6, cfg.hidden)
    why = explain(model, out)
    ref, blocks = model.fusion_reference, out.fused_blocks
    for i in (0, 3):
        def v(present):
            x = torch.stack([blocks[i, k] if k in present else ref[k] for k in range(6)])
            with torch.no_grad():
                return float(_head(model, x.reshape(-1)))

        phi = [0.0] * 6
        for order in itertools.permutations(range(6)):
            present: set[int] = set()
            for k in order:
                before = v(present)
                present.add(k)
                phi[k] += v(present) - before
        phi = [p / math.factorial(6) for p in phi]
        assert why.blocks[i].tolist() == pytest.approx(phi, abs=1e-5)


def test_shapley_axioms_symmetry_null_player_efficiency(model_and_batch):
    """A head built so that blocks 0 and 1 are interchangeable and block 2 is ignored."""
    model, cfg, batch = model_and_batch
    d = cfg.hidden
    with torch.no_grad():
        w = model.fusion.weight  # (d, 6d)
        w[:, d:2 * d] = w[:, 0:d]  # block 1 enters the head exactly as block 0 does
        w[:, 2 * d:3 * d] = 0.0  # block 2 is ignored
    out = model.predict(batch)
    blocks = out.fused_blocks.clone()
    blocks[:, 1] = blocks[:, 0]  # ... with the same value
    out.fused_blocks = blocks
    ref = torch.randn(6, d)
    ref[1] = ref[0]  # ... and the same reference
    model.fusion_reference = ref
    why = explain(model, out)
    torch.testing.assert_close(why.blocks[:, 0], why.blocks[:, 1], rtol=0, atol=1e-6)  # symmetry
    assert why.blocks[:, 2].abs().max() < 1e-6  # null player
    g_full = _head(model, blocks.reshape(5, -1))
    g_absent = _head(model, ref.reshape(-1))
    torch.testing.assert_close(why.blocks.sum(1), g_full - g_absent, rtol=0, atol=1e-5)  # efficiency


def test_shapley_matrix_on_a_known_game():
    """v(S) = |S|^2 over 3 players: symmetric, so each gets v(N)/3; a dummy player gets 0."""
    masks, coef = shapley_matrix(3)
    size = masks.sum(1)
    phi = (size**2) @ coef
    # float32 weights (1/3, 1/6...): a dummy's 0 comes out as a few 1e-7, whose size depends on
    # the BLAS kernel the CPU picks (it was exactly 0 on some machines, -3.6e-7 on others)
    assert phi.tolist() == pytest.approx([3.0, 3.0, 3.0], abs=1e-5)
    phi = (masks[:, 0] * 2 + masks[:, 1] * 5) @ coef  # additive game, player 2 a dummy
    assert phi.tolist() == pytest.approx([2.0, 5.0, 0.0], abs=1e-5)


def test_ablation_blocks_and_no_metadata(tiny_config):
    torch.manual_seed(1)
    for changes, names in (({"text_only": True, "use_metadata": False}, ("p_t r_t",)),
                           ({"no_module_b": True}, ("p_t", "r_t", "p_v", "r_v", "metadata"))):
        cfg = tiny_config(**changes)
        model = MMSSModel(cfg).eval()
        batch = _batch(cfg)
        if not cfg.use_metadata:
            batch = MMSSBatch.build(cfg, **{**_batch_data(cfg), "metadata": None})
        out = model.predict(batch)
        why = explain(model, out)
        assert why.block_names == names
        assert (why.metadata is None) == (not cfg.use_metadata)
        for i in range(5):
            assert abs(float(_sum(why, i)) - float(out.score[i])) < 1e-4


def _batch_data(cfg):
    return _data(0, cfg.n_metadata)


def test_the_checkpoint_keeps_the_means_and_an_old_one_falls_back(tmp_path, model_and_batch):
    model, cfg, batch = model_and_batch
    out = model.predict(batch)
    model.fusion_reference = fusion_block_means(model, [out])
    save_checkpoint(tmp_path / "new", model, cfg, {})
    loaded, _, meta = load_checkpoint(tmp_path / "new")
    torch.testing.assert_close(loaded.fusion_reference, model.fusion_reference)
    assert meta["fusion_reference"]["blocks"] == list(model.fusion_block_names)
    assert explain(loaded, loaded.predict(batch)).reference == REFERENCE_TRAINING_MEAN
    # a card written before the means were stored
    card = json.loads((tmp_path / "new" / CARD_FILE).read_text())
    del card["fusion_reference"]
    (tmp_path / "new" / CARD_FILE).write_text(json.dumps(card))
    old, _, _ = load_checkpoint(tmp_path / "new")
    assert old.fusion_reference is None
    why = explain(old, old.predict(batch))
    assert why.reference == REFERENCE_FALLBACK
    assert abs(float(_sum(why, 0)) - float(out.score[0])) < 1e-4
    # adding the means to such a checkpoint keeps its weights (and their hash) as they were
    weights = (tmp_path / "new" / WEIGHTS_FILE).read_bytes()
    (tmp_path / "new" / CARD_FILE).chmod(0o644)
    old.fusion_reference = model.fusion_reference
    store_fusion_reference(tmp_path / "new", old)
    again, _, _ = load_checkpoint(tmp_path / "new")
    torch.testing.assert_close(again.fusion_reference, model.fusion_reference)
    assert (tmp_path / "new" / WEIGHTS_FILE).read_bytes() == weights
    assert (tmp_path / "new" / CARD_FILE).stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [CARD_FILE, WEIGHTS_FILE]
