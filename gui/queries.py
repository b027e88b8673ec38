"""Read jobs of the GUI: plain functions of a Session, run by :class:`gui.store.Store` in workers.

No Qt and no SQL here: each function calls ``storage.repository`` and returns plain data.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Optional

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.models import TRAIN_SPLIT
from storage.records import (
    AuditRecord,
    FlagRecord,
    ModelVersionRecord,
    ProductSubScores,
    ProductSummary,
    ReviewDetail,
    ReviewFilter,
    ReviewRow,
    SearchResult,
    product_order,
)

from storage.ranking import Disagreement, DisagreementMode, RankInfo, RankInput, rank_product
from .state.disagreement_queue import QueueFilter
from .state.review_table import ReviewQuery

PAGE_SIZE = 500


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class StatusSnapshot:
    active_model: Optional[ModelVersionRecord]
    summary: dict[str, Any]
    products: Optional["ProductsSnapshot"] = None  # with ``load_status(with_products=True)``
    first_page: Optional["ReviewPage"] = None  # with ``load_status(first_page=...)``


def load_status(session: Session, with_products: bool = False,
                first_page: Optional[tuple[Optional[str], ReviewQuery]] = None) -> StatusSnapshot:
    """The active model and the catalogue's counts; ``with_products``: also the product list under
    that model; ``first_page``: ``(product_id, query)``, also the review table's most likely first
    page (:func:`first_page_guess`). Opening a database shows these next: one job instead of three
    in a row (or side by side, sharing the GIL: slower than one after the other)."""
    model = repo.get_active_model(session)
    products = load_products(session, model.id if model is not None else None) if with_products else None
    page = None
    if first_page is not None:
        page = first_page_guess(session, *first_page, model=model,
                                products=products.products if products is not None else None)
    summary = repo.catalogue_summary(session, products.products if products is not None else None)
    return StatusSnapshot(model, summary, products, page)


@dataclass(frozen=True)
class Unscored:
    """Reviews the active model has not scored (what ``engine score`` without ``--all`` scores)."""

    model: ModelVersionRecord
    count: int


def unscored_reviews(session: Session) -> Optional[Unscored]:
    """None without an active model."""
    model = repo.get_active_model(session)
    if model is None:
        return None
    return Unscored(model, repo.count_missing_predictions(session, model.id))


# ---------------------------------------------------------------- products


@dataclass(frozen=True)
class ProductsSnapshot:
    products: list[ProductSummary]
    categories: list[str]


def load_products(session: Session, model_version_id: Optional[int]) -> ProductsSnapshot:
    return ProductsSnapshot(repo.list_products(session, model_version_id=model_version_id), repo.list_categories(session))


def load_product(session: Session, product_pk: int, product_id: str, model_version_id: Optional[int]) -> Optional[ProductSummary]:
    """One product's fresh counts (after a flag changed)."""
    for p in repo.list_products(session, search=product_id, model_version_id=model_version_id):
        if p.id == product_pk:
            return p
    return None


def product_metrics(session: Session, model_version_id: Optional[int]) -> dict[str, dict[str, float]]:
    """product_id -> {"AP", "NDCG@3", "NDCG@5"} (x100) of the model against the vote labels,
    over each product's scored, labelled reviews (unlabelled reviews are dropped, MMSS.md)."""
    if model_version_id is None:
        return {}
    from engine.metrics import per_product_metrics  # pure Python; imported lazily, never torch

    out: dict[str, dict[str, float]] = {}
    for pid, rows in repo.iter_scores_by_product(session, model_version_id):  # one product at a time
        kept = [(s, lab) for _pk, s, lab in rows if lab is not None]
        if kept:
            out.update(per_product_metrics({pid: [s for s, _ in kept]}, {pid: [lab for _, lab in kept]}, threshold=1))
    return out


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class ReviewPage:
    """A page of the review table, with what the first page also carries."""

    query: ReviewQuery
    offset: int
    rows: list[ReviewRow]
    total: int
    ranks: dict[int, RankInfo] = field(default_factory=dict)
    subscores: Optional[ProductSubScores] = None  # the product's sub-score spreads and percentiles
    among: Optional[tuple[int, ...]] = None  # restrict to these reviews (only disagreements)
    complete: bool = True
    """``ranks`` and the sub-scores' percentiles cover every review of the product (computed), not
    only the page's rows (read from the stored ranks: each further page brings its own)."""


def _rank_items(session: Session, product_pk: int, model_version_id: Optional[int]) -> list[RankInput]:
    return [RankInput(*r) for r in repo.product_rank_inputs(session, product_pk, model_version_id)]


def _computed(session: Session, product_pk: int, model_version_id: Optional[int]):
    """Every review's ranks and the product's sub-scores, computed from its reviews' scores."""
    return (rank_product(_rank_items(session, product_pk, model_version_id)),
            repo.product_subscores(session, product_pk, model_version_id))


def _page(session: Session, query: ReviewQuery, offset: int, limit: int, among) -> list[ReviewRow]:
    if among is not None:
        return repo.page_reviews_among(
            session, among, query.model_version_id, offset, limit, query.order_by, query.descending, query.flt
        )
    return repo.page_reviews(
        session, query.product_pk, query.model_version_id, offset, limit, query.order_by, query.descending, query.flt
    )


def _stored_score_page(session: Session, query: ReviewQuery, offset: int, limit: Optional[int]):
    """``(rows, ranks, sub-scores)`` of a page in the default order (score, descending, no filter)
    read by the stored model ranks (:func:`storage.repository.stored_score_page`); None for any
    other query, or when the product's ranks are not stored."""
    if not (limit is not None and query.order_by == "score" and query.descending and query.flt == ReviewFilter()
            and query.product_pk is not None and query.model_version_id is not None):
        return None
    stored = repo.stored_score_page(session, query.product_pk, query.model_version_id, offset, limit)
    if stored is None:
        return None
    pks, ranks, subscores = stored
    return repo.review_rows_by_pks(session, pks, query.model_version_id), ranks, subscores


def open_reviews(
    session: Session, query: ReviewQuery, limit: Optional[int] = PAGE_SIZE,
    known: Optional[tuple[dict[int, RankInfo], Optional[ProductSubScores]]] = None,
    unfiltered_total: Optional[int] = None,
) -> ReviewPage:
    """First page of a product's reviews, their total, their ranks and the product's sub-scores
    (spreads, and the percentiles of the page's reviews).

    The ranks and percentiles are those stored with the model's scores (``repository.ranks``),
    of the page's rows only (``complete`` False): the first page does not wait for the whole
    product. Where none are stored they are computed for every review (``complete`` True).
    ``known``: every review's ranks and sub-scores read for the same product and model before
    (they do not change with the sort or the filter), used instead. ``unfiltered_total``: the
    product's number of reviews, when read in the same transaction (the total without a filter).
    """
    if query.product_pk is None:
        return ReviewPage(query, 0, [], 0)
    ranks, subscores = known if known is not None else (None, None)
    among = None
    if query.flt.only_disagreements:
        if ranks is None and query.model_version_id is not None:
            among = repo.disagreement_pks(session, query.product_pk, query.model_version_id)
        if among is None:
            if ranks is None:
                ranks, subscores = _computed(session, query.product_pk, query.model_version_id)
            among = tuple(pk for pk, info in ranks.items() if info.is_disagreement)
        total = repo.count_reviews_among(session, among, query.flt)
    elif unfiltered_total is not None and query.flt == ReviewFilter():
        total = unfiltered_total
    else:
        total = repo.count_reviews(session, query.product_pk, query.flt)
    complete = True
    fast = _stored_score_page(session, query, 0, limit) if ranks is None and among is None else None
    if fast is not None:
        rows, ranks, subscores = fast
        return ReviewPage(query, 0, rows, total, ranks, subscores, among, False)
    rows = _page(session, query, 0, limit, among)
    if ranks is None:
        stored = repo.stored_context(session, query.product_pk, query.model_version_id, [r.id for r in rows])
        if stored is not None:
            (ranks, subscores), complete = stored, False
        else:
            ranks, subscores = _computed(session, query.product_pk, query.model_version_id)
    return ReviewPage(query, 0, rows, total, ranks, subscores, among, complete)


def first_page_guess(session: Session, product_id: Optional[str], query: ReviewQuery,
                     model: Optional[ModelVersionRecord] = None,
                     products: Optional[list[ProductSummary]] = None) -> Optional[ReviewPage]:
    """The first page the review table will most likely ask for when a database is opened, read
    with the status and the product list instead of after them: of the product ``product_id``
    (None: the product list's first product) under the active model (``model``, read when None),
    in ``query``'s order and filter. None when there is no such product. The table uses it only
    if it asks for exactly this query (:meth:`ReviewTableModel.offer_first_page`).
    ``products``: the whole product list, read in the same transaction (the product and its
    review count are taken from it: no query)."""
    total = None
    if products is None:
        pk = repo.first_product_pk(session, product_id)
    else:
        found = ([p for p in products if p.product_id == product_id] if product_id is not None
                 else [min(products, key=product_list_key)] if products else [])
        pk, total = (found[0].id, found[0].n_reviews) if found else (None, None)
    if pk is None:
        return None
    model = model if model is not None else repo.get_active_model(session)
    return open_reviews(session, replace(query, product_pk=pk, model_version_id=model.id if model is not None else None),
                        unfiltered_total=total)


def product_list_key(p: ProductSummary) -> tuple:
    """The product list's order (:func:`storage.records.product_order`)."""
    return product_order(p.title, p.product_id, p.id)


@dataclass(frozen=True)
class AllRows:
    """Every row of a product (review-id order) with every review's ranks and sub-scores."""

    rows: list[ReviewRow]
    ranks: dict[int, RankInfo]
    subscores: Optional[ProductSubScores]


def all_reviews(session: Session, product_pk: int, model_version_id: Optional[int]) -> AllRows:
    """Every review of a product, unfiltered, in review-id order (the table sorts them in memory),
    with the ranks and sub-scores of them all (stored, else computed)."""
    rows = repo.page_reviews(session, product_pk, model_version_id, 0, None, "id", False)
    stored = repo.stored_context(session, product_pk, model_version_id)
    ranks, subscores = stored if stored is not None else _computed(session, product_pk, model_version_id)
    return AllRows(rows, ranks, subscores)


def review_ranks(session: Session, product_pk: int, model_version_id: Optional[int], review_pks) -> dict[int, RankInfo]:
    """The stored ranks of those of ``review_pks`` that are reviews of the product (none when its
    ranks under the model are not stored)."""
    stored = repo.stored_context(session, product_pk, model_version_id, list(review_pks))
    return stored[0] if stored is not None else {}


def more_reviews(session: Session, query: ReviewQuery, offset: int, among, limit: int = PAGE_SIZE,
                 with_ranks: bool = False) -> ReviewPage:
    """A further page; ``with_ranks``: with the stored ranks and percentiles of its rows (when
    the first page brought only its own)."""
    fast = _stored_score_page(session, query, offset, limit) if among is None else None
    if fast is not None:
        rows, ranks, subscores = fast
        return (ReviewPage(query, offset, rows, -1, ranks, subscores, among, False) if with_ranks
                else ReviewPage(query, offset, rows, -1))
    rows = _page(session, query, offset, limit, among)
    if not (with_ranks and query.product_pk is not None and rows):
        return ReviewPage(query, offset, rows, -1)
    stored = repo.stored_context(session, query.product_pk, query.model_version_id, [r.id for r in rows])
    if stored is None:  # no longer stored (another process changed the product): every review's, computed
        return ReviewPage(query, offset, rows, -1, *_computed(session, query.product_pk, query.model_version_id),
                          among, True)
    return ReviewPage(query, offset, rows, -1, stored[0], stored[1], among, False)


def view_ranks(session: Session, query: ReviewQuery) -> dict[int, RankInfo]:
    """Each review's place in its product under the query's model: of the query's product, or
    of every product when none is selected (one query; ranks are per product either way)."""
    if query.model_version_id is None:
        return {}  # nothing is ranked by the model, nothing disagrees with it
    ranks: dict[int, RankInfo] = {}
    for items in repo.rank_inputs_by_product(session, query.model_version_id, query.product_pk).values():
        ranks.update(rank_product([RankInput(*r) for r in items]))
    return ranks


def view_rows(session: Session, query: ReviewQuery, ranks: dict[int, RankInfo]) -> Iterator[tuple[ReviewRow, str]]:
    """Every row of the view with its product id, in the table's order, streamed (for export):
    the query's product, or all products when none is selected; only-disagreements keeps the
    reviews whose ``ranks`` say so."""
    rows = repo.iter_reviews(session, query.product_pk, query.model_version_id, query.order_by, query.descending,
                             query.flt)
    if not query.flt.only_disagreements:
        yield from rows
        return
    for row, product_id in rows:
        info = ranks.get(row.id)
        if info is not None and info.is_disagreement:
            yield row, product_id


def review_rows(session: Session, review_pks, model_version_id: Optional[int]) -> list[ReviewRow]:
    return repo.review_rows_by_pks(session, list(review_pks), model_version_id)


@dataclass(frozen=True)
class FlagDialogData:
    """What the flag dialog opens on: the review's title and its active flag (None: a new one)."""

    title: str
    active: Optional[FlagRecord]
    sub_scores: tuple[Optional[float], ...] = (None,) * 5
    """The model's five sub-scores of the review (shown beside the disputes)."""


def flag_dialog_data(session: Session, review_pk: int, model_version_id: Optional[int]) -> Optional[FlagDialogData]:
    rows = repo.review_rows_by_pks(session, [review_pk], model_version_id)
    if not rows:
        return None
    return FlagDialogData(rows[0].title or rows[0].text, repo.active_flag(session, review_pk), rows[0].sub_scores)


# ---------------------------------------------------------------- detail


@dataclass(frozen=True)
class DetailBundle:
    detail: ReviewDetail
    rank: Optional[RankInfo]
    subscores: Optional[ProductSubScores] = None  # the review's product, for its sub-scores' percentiles


def load_detail(session: Session, review_pk: int, model_version_id: Optional[int], media_dir: Path,
                known: Optional[tuple] = None) -> DetailBundle:
    """The review's detail, its ranks and its product's sub-scores. ``known``: ``(product_pk,
    model_version_id, ranks, sub-scores or None)`` the review table holds (:meth:`ReviewTableModel.known`),
    used instead of recomputing them when they are of the review's product and this model."""
    detail = repo.get_review_detail(session, review_pk, model_version_id, media_dir)
    ranks = subscores = None
    if known is not None and known[0] == detail.row.product_pk and known[1] == model_version_id:
        ranks, subscores = known[2], known[3]
    if ranks is None or subscores is None:
        stored = repo.stored_context(session, detail.row.product_pk, model_version_id, [review_pk])
        if stored is not None:
            ranks, subscores = stored
    if ranks is None:
        ranks = rank_product(_rank_items(session, detail.row.product_pk, model_version_id))
    if subscores is None:
        subscores = repo.product_subscores(session, detail.row.product_pk, model_version_id)
    return DetailBundle(detail, ranks.get(review_pk), subscores)


# ---------------------------------------------------------------- disagreements


@dataclass(frozen=True)
class QueueItem:
    disagreement: Disagreement
    row: ReviewRow
    product_title: str

    @property
    def review_pk(self) -> int:
        return self.disagreement.review_pk


def load_disagreements(
    session: Session, model_version_id: Optional[int], mode: DisagreementMode, limit: int = 500,
    queue_filter: QueueFilter = QueueFilter(held_out_only=False),
) -> list[QueueItem]:
    """The ``limit`` worst disagreements the filter holds (filtered before the limit)."""
    if model_version_id is None:
        return []
    f = queue_filter
    # the ranks stored with the scores (storage/repository/ranks.py): one indexed read, no ranking here
    found = repo.stored_disagreements(session, model_version_id, mode, limit, f.direction or None,
                                      product_pk=f.product_pk, category=f.category,
                                      exclude_split=TRAIN_SPLIT if f.held_out_only else None)
    rows = {r.id: r for r in repo.review_rows_by_pks(session, [d.review_pk for d in found], model_version_id)}
    titles = repo.product_titles(session, [d.product_key for d in found])
    return [QueueItem(d, rows[d.review_pk], titles.get(d.product_key) or d.product_key) for d in found if d.review_pk in rows]


# ---------------------------------------------------------------- audit


def load_audit(session: Session, limit: int = 500) -> list[AuditRecord]:
    return repo.list_audit_events(session, limit=limit)


# ---------------------------------------------------------------- search


def search(session: Session, text: str, limit: int = 50, offset: int = 0) -> SearchResult:
    """Reviews of every product matching ``text`` (storage/repository/search.py), best first.
    Indexes the reviews of recent imports first, when the index is behind (see search_backlog)."""
    return repo.search_reviews(session, text, limit=limit, offset=offset)


def catch_up_search(session: Session, step: int) -> int:
    """Add up to ``step`` imported reviews to the full-text index (one short transaction)."""
    return repo.catch_up_search_index(session, limit=step)


def search_backlog(session: Session) -> int:
    """How many imported reviews the next search must add to the full-text index first."""
    return repo.search_backlog(session)
