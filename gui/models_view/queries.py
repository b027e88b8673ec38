"""Store jobs of the models view and of the review table's rank-change arrows.

Plain functions of a Session (no Qt, no SQL text), run by :class:`gui.store.Store` in workers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.records import DisputeCount, ModelVersionRecord

from .compare import Comparison, RankMove, compare, rank_moves_in_product
from .drift import TOP_MOVERS, Drift, compute_drift


@dataclass(frozen=True)
class ModelsSnapshot:
    """Every model version, how many reviews each has scored, and the catalogue size."""

    models: list[ModelVersionRecord]
    scored: dict[int, int]
    reviews: int

    def needs_scoring(self, model_id: int) -> bool:
        return self.scored.get(model_id, 0) < self.reviews


def load_models(session: Session) -> ModelsSnapshot:
    return ModelsSnapshot(repo.list_model_versions(session), repo.prediction_counts(session),
                          int(repo.catalogue_summary(session)["reviews"] or 0))


@dataclass(frozen=True)
class DisputeSummary:
    """How many reviews moderators disputed each interaction on, under one model version."""

    model_id: int
    counts: tuple[DisputeCount, ...]

    @property
    def total(self) -> int:
        return sum(c.reviews for c in self.counts)


def load_disputes(session: Session, model_id: int) -> DisputeSummary:
    return DisputeSummary(model_id, repo.dispute_counts(session, model_id))


def load_comparison(session: Session, a_id: int, b_id: int, move_limit: int = 200) -> Comparison:
    """Model ``b_id`` against ``a_id``: metrics, per-product AP deltas, the biggest rank moves."""
    a, b = repo.get_model_version(session, a_id), repo.get_model_version(session, b_id)
    products = {p.product_id: (p.title or p.product_id, p.split) for p in repo.list_products(session)}
    result = compare(a, b, repo.scores_by_product(session, a.id), repo.scores_by_product(session, b.id), products,
                     move_limit)
    rows = {r.id: r for r in repo.review_rows_by_pks(session, [m.review_pk for m in result.moves], b.id)}
    moves = [dataclasses.replace(m, row=rows.get(m.review_pk)) for m in result.moves]
    return dataclasses.replace(result, moves=moves)


def load_drift(session: Session, a_id: int, b_id: int, cached: Optional[Drift] = None, top: int = TOP_MOVERS) -> Drift:
    """Model ``b_id`` against ``a_id`` on the unflagged reviews both scored (:mod:`.drift`).

    ``cached`` (an earlier answer for the same pair) is returned as it is when the pairs have
    not changed since (:func:`storage.repository.paired_predictions_stamp`: no rescoring of
    either model, no flag added, undone or redone), so re-selecting a pair costs one cheap query."""
    stamp = repo.paired_predictions_stamp(session, a_id, b_id)
    if cached is not None and (cached.a_id, cached.b_id, cached.stamp) == (a_id, b_id, stamp):
        return cached
    a, b = repo.get_model_version(session, a_id), repo.get_model_version(session, b_id)
    drift = compute_drift(repo.paired_predictions(session, a_id, b_id), a_id, b_id, top=top)
    rows = {r.id: r for r in repo.review_rows_by_pks(session, [pk for _ppk, pk in drift.reviews], b_id)}
    series = tuple(dataclasses.replace(s, movers=tuple(dataclasses.replace(m, row=rows.get(m.review_pk))
                                                       for m in s.movers)) for s in drift.series)
    return dataclasses.replace(drift, series=series, a_name=a.name, b_name=b.name, stamp=stamp)


def activate(session: Session, model_id: int, actor: str) -> bool:
    """Make ``model_id`` the active model; True when it still has reviews to score."""
    repo.activate_model(session, model_id, actor=actor)
    summary = repo.catalogue_summary(session)
    return repo.prediction_counts(session).get(model_id, 0) < int(summary["reviews"] or 0)


def delete(session: Session, model_id: int, actor: str) -> ModelVersionRecord:
    """Delete a model version and its predictions (never the active one)."""
    model = repo.get_model_version(session, model_id)
    if model.active:
        raise ValueError(f"{model.name} is the active model: activate another one before deleting it")
    return repo.delete_model_version(session, model_id, actor=actor)


@dataclass(frozen=True)
class Deleted:
    model: ModelVersionRecord
    files_removed: bool


def delete_with_files(db, model_id: int, actor: str) -> Deleted:
    """Pool job: :func:`delete` in one transaction, then, once that committed, the model's
    checkpoint folder (only when it lies in the database's models folder)."""
    from storage.files import remove_checkpoint

    model = db.run(lambda session: delete(session, model_id, actor))
    return Deleted(model, remove_checkpoint(db, model.checkpoint_path))


def resolve_flags(session: Session, model_id: int) -> int:
    return repo.resolve_flags(session, model_id)


# ---------------------------------------------------------------- review table


@dataclass(frozen=True)
class TableChanges:
    """What the review table marks for one product under the active model.

    Attributes
    ----------
    previous : str or None
        The model the arrows compare against (the one active before), None when there is none.
    moves : dict
        review_pk -> :class:`RankMove` (old rank under ``previous``, new rank under the active model).
    resolved : dict
        review_pk -> resolution text of its flag, for flags a model resolved.
    """

    product_pk: Optional[int]
    model_version_id: Optional[int]
    previous: Optional[str] = None
    moves: dict[int, RankMove] = field(default_factory=dict)
    resolved: dict[int, str] = field(default_factory=dict)


def table_changes(session: Session, product_pk: Optional[int], model_version_id: Optional[int]) -> TableChanges:
    if product_pk is None:
        return TableChanges(product_pk, model_version_id)
    resolved = repo.flag_resolutions(session, product_pk)
    previous = repo.previous_model_version(session, model_version_id) if model_version_id is not None else None
    if previous is None:
        return TableChanges(product_pk, model_version_id, None, {}, resolved)
    new = repo.product_rank_inputs(session, product_pk, model_version_id)
    old = repo.product_rank_inputs(session, product_pk, previous.id)
    moves = rank_moves_in_product([(r[0], r[1]) for r in old], [(r[0], r[1]) for r in new])
    return TableChanges(product_pk, model_version_id, previous.name, moves, resolved)
