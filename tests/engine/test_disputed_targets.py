"""Disputed sub-scores in training (engine.pseudolabels, "Disputed sub-scores"): a moderator's
dispute of sub-score s on review i leaves its target out of L_s (eq. 14) and A_s (eq. 17) and
freezes y_s(i); and the training job reads the disputes from the store."""
from __future__ import annotations

import pytest
import torch

from engine.config import SUBTASKS
from engine.jobs.train import TrainOptions, run_train
from engine.losses import subtask_loss
from engine.model import MMSSModel
from engine.pseudolabels import SSPLabeler
from storage import open_database
from storage import repository as repo
from storage.models import Product

from test_jobs import make_catalogue, tiny_job_config  # noqa: F401  (fixture)
from test_model import _batch

N, D = 10, 4


def test_a_left_out_review_gives_no_gradient_and_the_mean_runs_over_the_rest():
    pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    pseudo, human = torch.tensor([0.0, 0.5, 1.0]), torch.tensor([2.0, 2.0, 2.0])
    keep = torch.tensor([True, False, True])
    loss = subtask_loss(pred, pseudo, human, keep)
    loss.backward()
    assert pred.grad[1] == 0.0 and pred.grad[0] != 0.0 and pred.grad[2] != 0.0
    w = torch.tanh((pseudo - human).abs())
    expected = (w[0] * 1.0 + w[2] * 2.0) / 2  # the mean over the two kept reviews
    assert loss.item() == pytest.approx(expected.item())
    none = subtask_loss(pred, pseudo, human, torch.zeros(3, dtype=torch.bool))
    assert none.item() == 0.0 and none.requires_grad  # nothing kept: zero, still in the graph
    assert subtask_loss(pred, pseudo, human).item() == pytest.approx(subtask_loss(pred, pseudo, human,
                                                                                  torch.ones(3, dtype=torch.bool)).item())


def _labeler(disputed):
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 5, (N,), generator=g).double()
    lab = SSPLabeler(labels, D, disputed=disputed)
    f_g, f_s = torch.randn(N, D, generator=g), torch.randn(N, len(SUBTASKS), D, generator=g)
    lab.step(torch.arange(N), f_g, f_s, epoch=1)
    return lab, labels, f_g, f_s


def test_a_disputed_target_stays_frozen_and_leaves_its_anchor():
    disputed = [()] * N
    disputed[2] = ("p_t r_t",)
    disputed[5] = ("p_t r_t", "r_t r_v")
    lab, labels, f_g, f_s = _labeler(disputed)
    plain, *_ = _labeler(None)
    s = SUBTASKS.index("p_t r_t")
    # eq. 17 without reviews 2 and 5 for p_t r_t; every other head as before
    lab.refresh()
    plain.refresh()
    rows = [i for i in range(N) if i not in (2, 5)]
    w = torch.sigmoid(labels[rows])
    expected = (w[:, None] * f_s[rows, s].double()).sum(0) / w.sum()
    assert torch.allclose(lab.anchors["p_t r_t"], expected)
    assert not torch.allclose(plain.anchors["p_t r_t"], expected)
    assert torch.allclose(lab.anchors["p_v r_v"], plain.anchors["p_v r_v"])
    # epochs 2 and 3 move every pseudo-label but the disputed ones
    for epoch in (2, 3):
        lab.step(torch.arange(N), f_g * 1.5, f_s * 0.5, epoch=epoch)
    assert lab.y_s[s, 2] == labels[2] and lab.y_s[s, 5] == labels[5]
    assert lab.y_s[SUBTASKS.index("r_t r_v"), 5] == labels[5]
    assert lab.y_s[SUBTASKS.index("p_v r_v"), 5] != labels[5]  # not disputed there: it moves
    moved = [i for i in rows if lab.y_s[s, i] != labels[i]]
    assert moved, "the undisputed pseudo-labels should move"
    keep = lab.keep([5, 2, 0])
    assert keep.shape == (3, len(SUBTASKS))
    assert keep[0].tolist() == [s_ not in ("p_t r_t", "r_t r_v") for s_ in SUBTASKS]
    assert keep[2].all()
    assert lab.disputed_counts() == {"p_t r_t": 2, "p_v r_v": 0, "p_t r_v": 0, "p_v r_t": 0, "r_t r_v": 1}
    with pytest.raises(ValueError):
        SSPLabeler(labels, D, disputed=[("p_t",)] + [()] * (N - 1))


def test_a_disputed_review_gives_its_subtask_head_no_gradient_in_the_model(tiny_config):
    """On a tiny MM-SS: with review 1's p_t r_t target left out, the loss gradient of the
    p_t r_t head is exactly that of the batch without review 1 in L_(p_t r_t)."""
    torch.manual_seed(0)
    cfg = tiny_config()
    model = MMSSModel(cfg)
    model.train()
    batch = _batch(cfg)
    pseudo = torch.tensor([[0.5] * 5, [3.5] * 5, [0.0] * 5, [1.0] * 5, [2.5] * 5])  # all far from y_g
    s = SUBTASKS.index("p_t r_t")

    def grad_of_loss(keep):  # d L (eq. 16) / d y_hat_s(i), for every review and subtask
        out = model(batch, pseudo_labels=pseudo, subtask_keep=keep)
        return torch.autograd.grad(out.loss, [out.sub_scores])[0]

    keep = torch.ones(5, len(SUBTASKS), dtype=torch.bool)
    keep[1, s] = False
    g = grad_of_loss(keep)
    assert g[1, s] == 0.0 and (g[[0, 2, 3, 4], s] != 0).all()
    assert (g[1, [i for i in range(len(SUBTASKS)) if i != s]] != 0).all()  # its other sub-scores still learn
    assert grad_of_loss(None)[1, s] != 0  # not disputed: it does pull


def test_the_training_job_reads_disputes_from_the_store(tmp_path, tiny_job_config, monkeypatch):  # noqa: F811
    """DB -> TrainingReview.disputed -> Prepared -> SSPLabeler -> each batch's subtask_keep."""
    db = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    make_catalogue(db)
    with db.begin() as s:
        train_reviews = [r for r in repo.page_reviews(s, None, limit=None, order_by="id")
                         if r.label is not None and s.get(Product, r.product_pk).split == "train"]
        a, b, gone = train_reviews[:3]
        repo.add_flag(s, a.id, "sub-score wrong", "mod", interactions={"p_t r_t": "too_high"})
        repo.add_flag(s, b.id, "spam", "mod", interactions={"p_t r_t": "too_low", "r_t r_v": "too_high"})
        f = repo.add_flag(s, gone.id, "sub-score wrong", "mod", interactions={"p_v r_t": "too_low"})
        repo.undo_flag(s, f.id, "mod")  # withdrawn: it disputes nothing any more
    seen: list[torch.Tensor] = []
    original = MMSSModel.forward

    def spy(self, batch, pseudo_labels=None, **kw):
        if kw.get("subtask_keep") is not None:
            keep = kw["subtask_keep"]
            seen.append(torch.stack([torch.as_tensor(batch.review_index), (~keep).sum(dim=1)], dim=1))
        return original(self, batch, pseudo_labels, **kw)

    monkeypatch.setattr(MMSSModel, "forward", spy)
    run_train(db, TrainOptions(config_file=tiny_job_config, epochs=1, name="m"))
    with db.begin() as s:
        (mv,) = repo.list_model_versions(s)
    assert mv.card["data"]["disputed_targets"] == {"p_t r_t": 2, "p_v r_v": 0, "p_t r_v": 0, "p_v r_t": 0,
                                                   "r_t r_v": 1}
    left_out = sum(int(t[:, 1].sum()) for t in seen)
    assert left_out == 3  # each disputed (review, s) left out once in the epoch's batches
    db.dispose()
