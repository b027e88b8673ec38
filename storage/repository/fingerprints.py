"""Content fingerprints of products: what a model reads of a product and its reviews, hashed.

A prediction computed elsewhere (the starter model's scores shipped for the bundled sample)
may be used for a product only when the product's fingerprint matches the one it was computed
on: same product text and images, same reviews (ids, titles, texts, ratings, times, images).
Votes and labels are left out (the model never reads them), so are ``extra`` fields.
"""
from __future__ import annotations

import hashlib
import json
from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Image, ImageLink, Product, Review
from ._chunks import in_chunks

__all__ = ["product_fingerprints", "review_ids_by_pk"]


def product_fingerprints(session: Session, product_pks: Optional[Sequence[int]] = None) -> dict[int, tuple[str, str]]:
    """product pk -> (product id, sha256 hex of its content as the model reads it)."""
    pq = select(Product.id, Product.product_id, Product.title, Product.description, Product.category, Product.image_urls)
    rq = select(Review.product_pk, Review.id, Review.review_id, Review.title, Review.text, Review.rating, Review.time,
                Review.image_urls)
    iq = select(ImageLink.product_pk, ImageLink.review_pk, ImageLink.position, Image.sha256).join(Image, Image.id == ImageLink.image_id)
    if product_pks is None:
        products = list(session.execute(pq))
        reviews = list(session.execute(rq))
        links = list(session.execute(iq))
    else:
        pks = list(dict.fromkeys(product_pks))
        products = [r for cond in in_chunks(Product.id, pks) for r in session.execute(pq.where(cond))]
        reviews = [r for cond in in_chunks(Review.product_pk, pks) for r in session.execute(rq.where(cond))]
        rpks = [r.id for r in reviews]
        links = [r for cond in in_chunks(ImageLink.product_pk, pks) for r in session.execute(iq.where(cond))]
        links += [r for cond in in_chunks(ImageLink.review_pk, rpks) for r in session.execute(iq.where(cond))]
    images: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for ppk, rpk, position, sha in links:
        key = ("p", ppk) if ppk is not None else ("r", rpk)
        images.setdefault(key, []).append((position, sha))
    by_product: dict[int, list] = {}
    for r in reviews:
        by_product.setdefault(r.product_pk, []).append(
            [r.review_id, r.title, r.text, r.rating, r.time, r.image_urls, sorted(images.get(("r", r.id), []))])
    out = {}
    for p in products:
        content = [p.product_id, p.title, p.description, p.category, p.image_urls, sorted(images.get(("p", p.id), [])),
                   sorted(by_product.get(p.id, []), key=lambda r: r[0])]
        digest = hashlib.sha256(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()
        out[p.id] = (p.product_id, digest)
    return out


def review_ids_by_pk(session: Session, review_pks: Sequence[int]) -> dict[int, str]:
    """review pk -> its catalogue id."""
    pks = list(dict.fromkeys(review_pks))
    return {pk: rid for cond in in_chunks(Review.id, pks) for pk, rid in session.execute(select(Review.id, Review.review_id).where(cond))}
