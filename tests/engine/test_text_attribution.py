"""The review text highlight's integrated gradients (engine/model/text_attribution.py): completeness
against the zero baseline, the baseline itself, independence of batch companions, the same values
from token ids as from cached states, and every architecture variant."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.model import MMSSModel
from engine.model.text_attribution import BASELINE, integrated_gradients, quadrature

from test_model import _batch  # noqa: E402  (tests/engine is on sys.path)


@pytest.fixture
def model_and_batch(tiny_config):
    def make(scale: float = 1.5, **changes):
        torch.manual_seed(0)
        cfg = tiny_config(**changes)
        model = MMSSModel(cfg).eval()
        with torch.no_grad():  # weights off their init scale, so the text moves the score visibly
            for p in model.parameters():
                p.mul_(scale)
        return model, cfg, _batch(cfg)

    return make


def test_quadrature_rules_integrate_on_the_unit_interval():
    for rule in ("gauss-legendre", "midpoint"):
        a, w = quadrature(8, rule)
        assert a.min() > 0 and a.max() < 1 and w.sum() == pytest.approx(1.0)
    a, w = quadrature(4)  # 4 Gauss-Legendre nodes integrate a degree-7 polynomial exactly
    assert float((w * a**7).sum()) == pytest.approx(1 / 8, abs=1e-12)
    with pytest.raises(ValueError):
        quadrature(0)


@pytest.mark.parametrize("changes", [{}, {"text_only": True}, {"no_module_b": True}, {"use_metadata": False},
                                     {"drop_subtasks": ["p_t r_t"]}])
def test_attributions_add_up_to_the_score_minus_the_zero_baseline_score(model_and_batch, changes):
    """Completeness. Tolerance: 16 Gauss-Legendre nodes integrate a polynomial of degree 31
    exactly, and the integrand (projection, attention, SoftPool, GELU) is analytic along the path,
    so what is left is float32 rounding over the (L x H) products summed: 1e-5 of the largest
    |f(x) - f(0)|."""
    model, cfg, batch = model_and_batch(**changes)
    ig = integrated_gradients(model, batch, 16)
    out = model.predict(batch)
    torch.testing.assert_close(ig.score, out.score, rtol=0, atol=1e-5)  # f(x) is the model's score
    zero = model.predict(dataclasses.replace(batch, review_text_states=torch.zeros_like(batch.review_text_states)))
    torch.testing.assert_close(ig.delta, out.score - zero.score, rtol=0, atol=1e-5)  # baseline: zero states
    assert BASELINE == "zeros"
    scale = float(ig.delta.abs().max())
    assert scale > 1e-3  # the text matters: the check below is not trivially 0 == 0
    assert float(ig.gap.abs().max()) < 1e-5 * max(1.0, scale)
    assert bool((ig.values[~ig.mask] == 0).all())  # padding gets nothing
    assert ig.lengths() == [7, 3, 1, 4, 6]


def test_more_nodes_shrink_the_midpoint_error(model_and_batch):
    """The midpoint rule's error falls as 1/n^2: 4x the nodes, well under half the gap."""
    model, _cfg, batch = model_and_batch()
    coarse = integrated_gradients(model, batch, 2, rule="midpoint").gap.abs().max()
    fine = integrated_gradients(model, batch, 8, rule="midpoint").gap.abs().max()
    assert float(coarse) > 1e-5 and float(fine) < 0.5 * float(coarse)


def test_reviews_that_miss_the_tolerance_get_more_nodes(model_and_batch):
    """A sharp model (attention logits ~27x the init's): 4 nodes miss completeness by far; the
    reviews that miss it are integrated again with 8, 16, ... nodes until they meet it, the
    others keep their 4 and their values."""
    model, _cfg, batch = model_and_batch(scale=3.0)
    plain = integrated_gradients(model, batch, 4)
    assert plain.steps.tolist() == [4] * 5 and float(plain.gap.abs().max()) > 0.1
    refined = integrated_gradients(model, batch, 4, max_steps=1024, rtol=1e-3, atol=1e-5)
    assert bool((refined.gap.abs() <= 1e-5 + 1e-3 * refined.delta.abs()).all())
    assert refined.steps.max() > 4 and (refined.steps & (refined.steps - 1) == 0).all()  # doubled: powers of 2
    kept = refined.steps == 4
    torch.testing.assert_close(refined.values[kept], plain.values[kept])
    torch.testing.assert_close(refined.delta, plain.delta)


def test_a_review_gets_the_same_values_alone_or_with_others(model_and_batch, tiny_config):
    model, cfg, _ = model_and_batch()
    from test_model import _data

    data = _data(0, cfg.n_metadata)
    full = integrated_gradients(model, _batch(cfg), 8, max_rows=7)  # several chunks of nodes
    one = {k: (v[2:3] if isinstance(v, list) and len(v) == 5 else v) for k, v in data.items()}
    one.update(review_product=[0], product_states=data["product_states"][:1], product_images=data["product_images"][:1],
               metadata=data["metadata"][2:3])
    from engine.model import MMSSBatch

    alone = integrated_gradients(model, MMSSBatch.build(cfg, **one), 8)
    torch.testing.assert_close(alone.values[0, :1], full.values[2, :1], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(alone.delta[0], full.delta[2], rtol=1e-4, atol=1e-6)


def test_token_ids_give_the_values_of_their_states(tiny_config):
    """A model that reads token ids (a fine-tuned encoder) is attributed on its encoder's states."""
    from engine.model import MMSSBatch, TextEncoder

    torch.manual_seed(0)
    cfg = tiny_config(text_only=True, use_metadata=False, text_finetune_layers=1)
    model = MMSSModel(cfg).eval()
    texts = ["great kettle boils water fast", "bad", "the tea is good but the price is not"]
    with_ids = MMSSBatch.build(cfg, [0, 0, 1], review_texts=texts, product_texts=["kettle", "tea"],
                               text_encoder=model.text_encoder)
    enc: TextEncoder = model.text_encoder
    states = enc.encode_text_states(texts)
    with_states = MMSSBatch.build(cfg, [0, 0, 1], review_states=states, product_texts=["kettle", "tea"],
                                  text_encoder=enc)
    a, b = integrated_gradients(model, with_ids, 8), integrated_gradients(model, with_states, 8)
    torch.testing.assert_close(a.values, b.values, rtol=1e-4, atol=1e-6)
    assert float(a.gap.abs().max()) < 1e-5


def test_it_needs_autograd(model_and_batch):
    model, _cfg, batch = model_and_batch()
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        integrated_gradients(model, batch)
    assert not model.training  # left as found
    assert np.isfinite(integrated_gradients(model, batch).values.numpy()).all()
