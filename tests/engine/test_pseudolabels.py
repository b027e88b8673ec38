"""SSP-Label against direct numpy formulas (MMSS.md, "SSP-Label")."""

import math

import numpy as np
import pytest
import torch

from engine.config import SUBTASKS, MMSSConfig, TrainConfig
from engine.pseudolabels import SSPLabeler, offset_label, shrunk_covariance

N, D = 12, 4


def _filled_labeler(seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 5, (N,), generator=g).double()
    lab = SSPLabeler(labels, D, **kw)
    f_g = torch.randn(N, D, generator=g)
    f_s = torch.randn(N, len(SUBTASKS), D, generator=g)
    lab.step(torch.arange(N), f_g, f_s, epoch=1)
    return lab, labels, f_g, f_s


def _np_chi(feats, labels_for_anchor, query, shrinkage):
    w = 1 / (1 + np.exp(-labels_for_anchor))
    anchor = (w[:, None] * feats).sum(0) / w.sum()
    cov = np.cov(feats, rowvar=False)  # unbiased, as documented
    mu = np.trace(cov) / feats.shape[1]
    cov = (1 - shrinkage) * cov + shrinkage * mu * np.eye(feats.shape[1])
    inv = np.linalg.inv(cov)
    diff = query - anchor
    return anchor, np.sqrt(np.einsum("nd,de,ne->n", diff, inv, diff)) / math.sqrt(feats.shape[1])


def test_pseudo_labels_start_at_the_human_label():
    lab, labels, _, _ = _filled_labeler()
    assert torch.equal(lab.y_s, labels[None].repeat(5, 1))
    assert torch.allclose(lab.pseudo_labels(range(N)), labels[:, None].float().expand(N, 5))


def test_anchors_and_distances_match_numpy():
    lab, labels, f_g, f_s = _filled_labeler(shrinkage=0.3)
    lab.refresh()
    q = torch.randn(5, D)
    anchor, chi = _np_chi(f_g.double().numpy(), labels.numpy(), q.double().numpy(), 0.3)
    np.testing.assert_allclose(lab.anchors["g"].numpy(), anchor, rtol=1e-10)
    np.testing.assert_allclose(lab.distance("g", q).numpy(), chi, rtol=1e-6)
    # subtask anchors weight by the current pseudo-label y_s (here still y_g)
    s = SUBTASKS[3]
    anchor_s, chi_s = _np_chi(f_s[:, 3].double().numpy(), labels.numpy(), q.double().numpy(), 0.3)
    np.testing.assert_allclose(lab.anchors[s].numpy(), anchor_s, rtol=1e-10)
    np.testing.assert_allclose(lab.distance(s, q).numpy(), chi_s, rtol=1e-6)


def test_shrunk_covariance_inverts_with_fewer_rows_than_dims():
    x = torch.randn(3, 10)  # rank-deficient sample covariance
    cov = shrunk_covariance(x, 0.1)
    assert torch.linalg.matrix_rank(cov) == 10
    assert torch.isfinite(torch.linalg.inv(cov)).all()
    single = shrunk_covariance(torch.randn(1, 4), 0.1)  # no spread at all: floor * I
    assert torch.isfinite(torch.linalg.inv(single)).all()


def test_offset_algebra_alpha_one_matches_closed_form():
    y_g = torch.tensor([0.0, 1.0, 3.0, 4.0], dtype=torch.float64)
    chi_s = torch.tensor([0.2, 1.5, 0.7, 0.1], dtype=torch.float64)
    chi_g = torch.tensor([0.5, 0.3, 0.7, 2.0], dtype=torch.float64)
    closed = y_g + (chi_s - chi_g) * (y_g + chi_g) / (2 * chi_g)
    assert torch.allclose(offset_label(y_g, chi_s, chi_g, 1.0, 1.0, eps=0.0), closed, rtol=1e-12)
    assert torch.allclose(offset_label(y_g, chi_s, chi_g, 1.0, 1.0, eps=1e-8), closed, rtol=1e-6)
    # equal distances leave the human label unchanged
    assert torch.allclose(offset_label(y_g, chi_g, chi_g, eps=0.0), y_g)


def test_offset_algebra_other_alphas():
    y_g, chi_s, chi_g = torch.tensor([3.0]), torch.tensor([0.5]), torch.tensor([0.25])
    # 0.5 (3 + 0.5 * 0.25) + 0.5 * 2 * 0.5 * 3 / 0.25 = 1.5625 + 6
    assert offset_label(y_g, chi_s, chi_g, alpha_1=2.0, alpha_2=0.5, eps=0.0).item() == pytest.approx(7.5625)
    # alpha_1 = 0: only the additive half remains
    assert offset_label(y_g, chi_s, chi_g, alpha_1=0.0, alpha_2=1.0, eps=0.0).item() == pytest.approx(
        0.5 * (3 + 0.25)
    )


def _expected_step(lab, y_g, idx, f_g, f_s, epoch):
    """Direct re-computation of one step's y_s update from the labeler's anchors and the
    human labels ``y_g`` it was given."""
    beta = 2 / (epoch + 1)
    chi_g = lab.distance("g", f_g)
    out = lab.y_s.clone()
    for i, s in enumerate(SUBTASKS):
        chi_s = lab.distance(s, f_s[:, i])
        new = offset_label(y_g[idx], chi_s, chi_g, lab.alpha_1, lab.alpha_2, lab.eps)
        new = new.clamp(lab.clamp_min, lab.clamp_max)
        out[i, idx] = beta * new + (1 - beta) * lab.y_s[i, idx]
    return out


def test_ewma_schedule_and_y_g_never_changes():
    lab, labels, _, _ = _filled_labeler(seed=1)
    y_g_before = lab.summary()["y_g"]
    idx = torch.tensor([0, 3, 5])
    g = torch.Generator().manual_seed(7)
    # epoch 1: banking only, labels untouched
    lab.step(idx, torch.randn(3, D, generator=g), torch.randn(3, 5, D, generator=g), epoch=1)
    assert torch.equal(lab.y_s, labels[None].repeat(5, 1))
    lab.refresh()
    for epoch in (2, 3, 5):
        f_g, f_s = torch.randn(3, D, generator=g), torch.randn(3, 5, D, generator=g)
        expected = _expected_step(lab, labels, idx, f_g, f_s, epoch)  # the labels as given: y_g never changes
        got = lab.step(idx, f_g, f_s, epoch)
        assert torch.allclose(lab.y_s, expected, rtol=1e-12)
        assert torch.allclose(got, expected[:, idx].T.float())
        lab.refresh()
    # only the batch's reviews moved
    others = torch.tensor([i for i in range(N) if i not in idx.tolist()])
    assert torch.equal(lab.y_s[:, others], labels[others][None].repeat(5, 1))
    assert lab.summary()["y_g"] == y_g_before


def test_beta_values():
    # beta = 2 / (i + 1): 2/3 at epoch 2, 1/2 at epoch 3; check through a degenerate case where
    # new_s is constant: clamp range [c, c + tiny] pins new_s ~ c
    lab, labels, f_g, f_s = _filled_labeler(seed=2, clamp_min=-1.0, clamp_max=-1.0 + 1e-12)
    lab.refresh()
    y0 = lab.y_s[0, 0].item()
    lab.step([0], f_g[:1], f_s[:1], epoch=2)
    y1 = lab.y_s[0, 0].item()
    assert y1 == pytest.approx(2 / 3 * -1.0 + 1 / 3 * y0)
    lab.step([0], f_g[:1], f_s[:1], epoch=3)
    assert lab.y_s[0, 0].item() == pytest.approx(0.5 * -1.0 + 0.5 * y1)


def test_clamp_bounds_new_labels():
    lab, labels, f_g, f_s = _filled_labeler(seed=3, clamp_min=-0.5, clamp_max=0.5)
    lab.refresh()
    lab.step(torch.arange(N), f_g * 50, f_s * 50, epoch=2)  # far from the anchors: large offsets
    new = (lab.y_s - (1 / 3) * labels[None]) / (2 / 3)  # undo the EWMA: recovers clamped new_s
    assert new.min() >= -0.5 - 1e-9 and new.max() <= 0.5 + 1e-9
    # no clamp would have produced values outside [-0.5, 0.5]
    raw = offset_label(labels, lab.distance(SUBTASKS[0], f_s[:, 0] * 50), lab.distance("g", f_g * 50))
    assert (raw.abs() > 0.5).any()


def test_inactive_subtasks_keep_the_human_label_and_summary():
    cfg = MMSSConfig(hidden=D, attention_heads=1, drop_subtasks=("p_v r_v",), n_metadata=3)
    labels = torch.arange(N) % 5
    lab = SSPLabeler.from_config(labels, cfg, TrainConfig())
    g = torch.Generator().manual_seed(4)
    lab.step(torch.arange(N), torch.randn(N, D, generator=g), torch.randn(N, 5, D, generator=g), epoch=1)
    lab.refresh()
    lab.step(torch.arange(N), torch.randn(N, D, generator=g), torch.randn(N, 5, D, generator=g), epoch=2)
    assert torch.equal(lab.y_s[1], labels.double())
    assert not torch.equal(lab.y_s[0], labels.double())
    summary = lab.summary()
    assert set(summary) == {"y_g", "p_t r_t", "p_t r_v", "p_v r_t", "r_t r_v"}
    assert summary["y_g"]["mean"] == pytest.approx(float(labels.double().mean()))
    assert summary["p_t r_t"]["mean"] == pytest.approx(float(lab.y_s[0].mean()))
    assert summary["p_t r_t"]["std"] == pytest.approx(float(lab.y_s[0].std(unbiased=False)))


def test_refresh_and_step_errors():
    lab, labels, f_g, f_s = _filled_labeler(seed=5)
    with pytest.raises(RuntimeError, match="empty"):
        SSPLabeler(labels, D).refresh()
    with pytest.raises(ValueError, match="expected f_g"):
        lab.step([0], torch.zeros(1, D + 1), torch.zeros(1, 5, D), epoch=1)
