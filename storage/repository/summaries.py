"""Counts of the catalogue as a whole: what the status bar and the training panel show."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Flag, Product, Review
from ..records import ProductSummary
from ._chunks import in_chunks
from .catalogue import corrected_labels

__all__ = ["catalogue_summary", "training_data_summary"]


def catalogue_summary(session: Session, products: Sequence[ProductSummary] | None = None) -> dict[str, Any]:
    """Counts of the catalogue: products, reviews, labelled reviews, products by split, active
    corrections. ``products``: the whole product list (:func:`list_products`, unfiltered) read in
    the same transaction, counted instead of the tables."""
    if products is not None:
        by_split: dict[Any, int] = defaultdict(int)
        for p in products:
            by_split[p.split] += 1
        return {"products": len(products), "reviews": sum(p.n_reviews for p in products),
                "labeled": sum(p.n_labeled for p in products), "products_by_split": dict(by_split),
                "corrections": len(corrected_labels(session))}
    n_products = session.scalar(select(func.count()).select_from(Product))
    n_reviews = session.scalar(select(func.count()).select_from(Review))
    n_labeled = session.scalar(select(func.count()).select_from(Review).where(Review.label.is_not(None)))
    by_split = dict(session.execute(select(Product.split, func.count()).group_by(Product.split)).all())
    n_corr = len(corrected_labels(session))
    return {"products": n_products, "reviews": n_reviews, "labeled": n_labeled, "products_by_split": by_split, "corrections": n_corr}


def training_data_summary(session: Session, since: dt.datetime | None = None) -> dict[str, Any]:
    """What a training run would use: labelled reviews per split (moderators' corrected labels
    count as labels), all active corrections, and those made after ``since`` (e.g. the active
    model's creation).

    Counted in SQL (one ``GROUP BY split`` over the reviews, an index-only count of their
    labels), plus the few corrected reviews that have no vote label."""
    corrections = corrected_labels(session)
    out: dict[str, Any] = {"corrections": len(corrections)}
    splits = ("train", "dev", "test")
    counts = {split: (n, nl) for split, n, nl in session.execute(
        select(Product.split, func.count(), func.count(Review.label))
        .select_from(Review).join(Product, Product.id == Review.product_pk)
        .where(Product.split.in_(splits))
        .group_by(Product.split)
    )}
    # a correction labels a review the votes left unlabelled (one with a vote label is counted already)
    unlabelled_corrected: dict[str, int] = defaultdict(int)
    for cond in in_chunks(Review.id, sorted(corrections)):
        for split, n in session.execute(
            select(Product.split, func.count()).select_from(Review).join(Product, Product.id == Review.product_pk)
            .where(cond, Review.label.is_(None)).group_by(Product.split)
        ):
            unlabelled_corrected[split] += n
    products = dict(session.execute(
        select(Product.split, func.count()).where(Product.split.in_(splits)).group_by(Product.split)).all())
    for split in splits:
        n, nl = counts.get(split, (0, 0))
        out[f"{split}_reviews"] = n
        out[f"{split}_labelled"] = nl + unlabelled_corrected.get(split, 0)
        out[f"{split}_products"] = products.get(split, 0)
    q = select(func.count(func.distinct(Flag.review_pk))).where(Flag.undone.is_(False), Flag.corrected_label.is_not(None))
    out["corrections_since"] = session.scalar(q.where(Flag.created_at > since)) if since is not None else len(corrections)
    return out
