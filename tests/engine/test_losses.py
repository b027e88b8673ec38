"""Losses (MMSS.md, "Losses"): eqs. 13-16."""

import math

import pytest
import torch

from engine.losses import (
    UncertaintyBalance,
    pairwise_hinge_loss,
    ranking_pairs,
    subtask_loss,
    subtask_rank_loss,
    total_loss,
    uncertainty_balance,
)


def test_hinge_is_zero_when_ordered_by_the_margin():
    scores = torch.tensor([3.0, 1.5, 0.0])
    labels = torch.tensor([2.0, 1.0, 0.0])
    groups = torch.zeros(3, dtype=torch.long)
    assert pairwise_hinge_loss(scores, labels, groups, margin=1.0).item() == 0.0
    # a larger margin than the score gaps is violated: pairs (0,1) 0.5, (1,2) 0.5, (0,2) 0
    assert pairwise_hinge_loss(scores, labels, groups, margin=2.0).item() == pytest.approx(1.0 / 3)


def test_pairs_only_within_a_product_and_only_for_higher_labels():
    labels = torch.tensor([3.0, 1.0, 2.0, 2.0])
    groups = torch.tensor([0, 0, 1, 1])
    pairs = ranking_pairs(labels, groups)
    assert pairs.nonzero().tolist() == [[0, 1]]  # equal labels in product 1 make no pair
    scores = torch.zeros(4, requires_grad=True)
    loss = pairwise_hinge_loss(scores, labels, torch.tensor([0, 1, 2, 3]))  # no shared product
    assert loss.item() == 0.0
    loss.backward()  # still in the graph
    assert torch.equal(scores.grad, torch.zeros(4))


def test_gradient_signs_push_the_better_review_up():
    scores = torch.zeros(2, requires_grad=True)
    loss = pairwise_hinge_loss(scores, torch.tensor([1.0, 0.0]), torch.zeros(2, dtype=torch.long))
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert scores.grad[0] < 0 < scores.grad[1]
    assert scores.grad.tolist() == pytest.approx([-1.0, 1.0])


def test_adaptive_margin_is_the_label_gap():
    groups = torch.zeros(2, dtype=torch.long)
    labels = torch.tensor([3.0, 0.0])
    assert pairwise_hinge_loss(torch.zeros(2), labels, groups, adaptive=True).item() == pytest.approx(3.0)
    assert pairwise_hinge_loss(torch.tensor([2.5, 0.0]), labels, groups, adaptive=True).item() == pytest.approx(0.5)
    assert pairwise_hinge_loss(torch.tensor([2.5, 0.0]), labels, groups, adaptive=False).item() == 0.0


def test_mcr_sampling_keeps_k_negatives_per_positive_reproducibly():
    labels = torch.tensor([4.0, 3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    groups = torch.zeros(10, dtype=torch.long)
    full = ranking_pairs(labels, groups)
    pairs = ranking_pairs(labels, groups, 3, torch.Generator().manual_seed(0))
    assert (pairs & ~full).sum() == 0  # only real candidate pairs
    per_pos = pairs.sum(dim=1)
    assert per_pos.tolist() == [min(3, int(n)) for n in full.sum(dim=1)]
    again = ranking_pairs(labels, groups, 3, torch.Generator().manual_seed(0))
    assert torch.equal(pairs, again)
    draws = {tuple(ranking_pairs(labels, groups, 3, torch.Generator().manual_seed(s))[0].tolist()) for s in range(10)}
    assert len(draws) > 1  # a new seed (a new epoch) resamples
    # MCR's 7: review 5 (label 1) has exactly 7 candidates and keeps them all; review 1 has 8
    mcr = ranking_pairs(labels, groups, 7, torch.Generator().manual_seed(0))
    assert torch.equal(mcr[5], full[5])
    assert int(full[1].sum()) == 8 and int(mcr[1].sum()) == 7


def test_tanh_weighted_subtask_loss():
    pred = torch.tensor([1.0, 2.0, 0.0])
    pseudo = torch.tensor([1.5, 2.0, -1.0])
    human = torch.tensor([1.0, 2.0, 1.0])
    expected = (math.tanh(0.5) * 0.5 + math.tanh(0.0) * 0.0 + math.tanh(2.0) * 1.0) / 3
    assert subtask_loss(pred, pseudo, human).item() == pytest.approx(expected)
    # y_s = y_g (epoch 1): weight 0, loss 0 whatever the prediction
    assert subtask_loss(torch.randn(3), human, human).item() == 0.0


def test_subtask_loss_gradient_flows_to_predictions_only():
    pred = torch.tensor([0.0], requires_grad=True)
    pseudo = torch.tensor([2.0], requires_grad=True)
    loss = subtask_loss(pred, pseudo, torch.tensor([0.0]))
    loss.backward()
    assert pred.grad.item() == pytest.approx(-math.tanh(2.0))
    assert pseudo.grad is None


def test_uncertainty_balance_form():
    losses = torch.tensor([1.0, 2.0])
    log_vars = torch.tensor([0.0, math.log(2.0)])
    expected = 1.0 / 2 + 0.0 + (2.0 / 2) / 2 + math.log(2.0) / 2
    assert uncertainty_balance(losses, log_vars).item() == pytest.approx(expected)
    # equals L / (2 sigma^2) + log sigma
    sigma2 = torch.exp(log_vars)
    assert uncertainty_balance(losses, log_vars).item() == pytest.approx(
        float((losses / (2 * sigma2) + torch.log(sigma2.sqrt())).sum())
    )
    module = UncertaintyBalance(2)
    assert torch.equal(module.log_vars.detach(), torch.zeros(2))
    out = module(losses)
    out.backward()
    # d/dl = -exp(-l) L / 2 + 1/2: negative where L > 1 (sigma grows), zero at l = log L
    assert module.log_vars.grad.tolist() == pytest.approx([0.0, -0.5])
    with pytest.raises(ValueError):
        module(torch.ones(3))


def test_total_loss():
    assert total_loss(torch.tensor(1.0), torch.tensor(2.0)).item() == 3.0
    assert total_loss(torch.tensor(1.0), torch.tensor(2.0), weight=0.5).item() == 2.0
    assert total_loss(torch.tensor(1.0), None).item() == 1.0


def test_subtask_rank_loss_orders_a_products_reviews_by_their_pseudo_labels():
    """Our addition: eq. 13 on y_hat_s against y_s, adaptive margin y_s(i) - y_s(j), within a product."""
    groups = torch.tensor([0, 0, 1, 1])
    pseudo = torch.tensor([2.0, 0.5, 1.0, 1.0])  # product 1: a tie, no pair
    pred = torch.tensor([0.0, 0.0, 5.0, -5.0], requires_grad=True)
    loss = subtask_rank_loss(pred, pseudo, groups)
    assert math.isclose(float(loss.detach()), 1.5)  # one pair (0 over 1), margin 2.0 - 0.5
    loss.backward()
    assert pred.grad.tolist() == [-1.0, 1.0, 0.0, 0.0]
    fixed = subtask_rank_loss(pred.detach(), pseudo, groups, adaptive=False)
    assert math.isclose(float(fixed), 1.0)


def test_subtask_rank_loss_leaves_out_a_disputed_review():
    groups = torch.tensor([0, 0, 0])
    pseudo = torch.tensor([3.0, 2.0, 1.0])
    pred = torch.zeros(3, requires_grad=True)
    loss = subtask_rank_loss(pred, pseudo, groups, keep=torch.tensor([True, False, True]))
    assert math.isclose(float(loss), 2.0)  # only the pair (0 over 2) is left
    loss.backward()
    assert pred.grad[1] == 0.0
    none = subtask_rank_loss(pred, pseudo, groups, keep=torch.tensor([False, False, True]))
    assert float(none) == 0.0
