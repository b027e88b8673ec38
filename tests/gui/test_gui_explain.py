"""The detail pane's "why this score": the stored parts of a review scored in-process, as a
waterfall (base, parts largest first, score), and the note for a score stored without parts."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from gui.state.score_waterfall import NO_EXPLANATION, fmt_part, waterfall
from storage import open_database
from storage import repository as repo
from storage.records import ScorePart, ScoreParts


def _show_review(qtbot, w, product_pk, review_pk):
    w.product_list.select_product(product_pk)
    qtbot.waitUntil(lambda: w.app_state.current_product_pk == product_pk and not w.review_model.is_loading,
                    timeout=WAIT)
    w.app_state.current_review_pk = review_pk
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == review_pk, timeout=WAIT)


def test_a_scored_review_shows_its_parts_as_a_waterfall(make_window, qtbot, training_db, tiny_encoder_path, tmp_path):
    from engine.jobs.score import run_score
    from helpers.tiny_engine import write_tiny_checkpoint

    db = open_database(training_db)
    sha = write_tiny_checkpoint(tmp_path / "ckpt", tiny_encoder_path)
    with db.begin() as s:
        repo.register_model_version(s, "tiny", str(tmp_path / "ckpt"), sha, activate=True)
    assert run_score(db, device="cpu").scored > 0  # in-process, as the engine command does
    with db.begin() as s:
        product = repo.list_products(s)[0]
        review = repo.page_reviews(s, product.id, model_version_id=repo.get_active_model(s).id, limit=None)[0]
    db.dispose()

    w = make_window(training_db)
    _show_review(qtbot, w, product.id, review.id)
    d = w.detail
    parts = d.bundle.detail.explanation
    assert parts is not None and d.waterfall.isVisible() and d.why_title.isVisible()
    rows = d.waterfall.waterfall.rows
    assert rows[0].kind == "base" and rows[-1].kind == "score"
    middle = rows[1:-1]
    assert [abs(r.value) for r in middle if r.kind == "part"] == sorted(
        (abs(r.value) for r in middle if r.kind == "part"), reverse=True)  # largest first
    assert abs(rows[0].value + sum(r.value for r in middle) - review.score) < 1e-4  # adds up to the score
    assert rows[-1].value == review.score and f"score {review.score:.3f}" in d.meta.text()
    # plain words and signed values, as drawn
    texts = d.waterfall.row_texts
    labels = {r.label for r in middle}
    assert "review length" in labels or any(r.kind == "group" for r in middle)
    assert all("_" not in r.label for r in middle)
    for r, text in zip(middle, texts[1:-1]):
        assert text == f"{r.label} {fmt_part(r.value)}" and text.split(" ")[-1][0] in "+\u2212"
    # the untrained tiny checkpoint stores no training means: the note says what "absent" was
    assert parts.reference.startswith("fallback") and "fallback" in d.why_note.text()
    # once the pane has laid out (layout runs from the event loop; a vertical scroll bar may narrow
    # the viewport first): every row has its height, and the waterfall fits the pane's width
    qtbot.waitUntil(lambda: d.waterfall.height() >= len(rows) * 10 and d.waterfall.width() <= d.viewport().width(),
                    timeout=WAIT)


def test_a_score_stored_without_parts_says_rescore(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    _show_review(qtbot, w, catalogue.product_pks["P-TREES"], catalogue.image_review_pk)
    d = w.detail
    assert d.bundle.detail.row.score is not None and d.bundle.detail.explanation is None
    assert d.why_note.isVisible() and d.why_note.text() == NO_EXPLANATION
    assert not d.waterfall.isVisible()
    # an unscored review shows neither
    w.app_state.current_review_pk = None
    qtbot.waitUntil(lambda: not d.why_note.isVisible(), timeout=WAIT)


def test_tiny_parts_are_grouped_only_when_tiny():
    parts = ScoreParts(score=1.0, base=0.5, reference="training mean", parts=(
        ScorePart("meta:a", "review length", 0.4), ScorePart("meta:b", "star rating", -0.2),
        ScorePart("meta:c", "title length", 0.302), ScorePart("meta:d", "has a date", -0.001),
        ScorePart("meta:e", "has a star rating", -0.001)))
    w = waterfall(parts)
    assert [r.text for r in w.rows] == ["base 0.50", "review length +0.40", "title length +0.30",
                                        "star rating \u22120.20", "2 other parts \u22120.00", "score 1.00"]
    one_tiny = ScoreParts(1.0, 0.5, parts.parts[:4], "training mean")  # a single tiny part stays itself
    assert [r.label for r in waterfall(one_tiny).parts][-1] == "has a date"


def test_a_block_whose_side_has_no_data_is_named_for_what_it_read():
    """A review without images: the blocks with an image side read its text and a learned empty
    slot, so their parts say "no review image" instead of naming an interaction that did not happen."""
    parts = ScoreParts(score=0.3, base=0.5, reference="training mean", parts=(
        ScorePart("block:r_t r_v", "review text \u00d7 review images", -0.13),
        ScorePart("block:p_v r_v", "product images \u00d7 review images", 0.06),
        ScorePart("block:p_t r_t", "product text \u00d7 review text", -0.13)))
    missing = {"r_t r_v": ("review image",), "p_v r_v": ("product image", "review image"), "p_t r_t": ()}
    labels = [r.label for r in waterfall(parts, missing=missing).parts]
    assert labels == ["product text \u00d7 review text", "review text \u00d7 no review image",
                      "no product image \u00d7 no review image"]
    assert sum(r.value for r in waterfall(parts, missing=missing).parts) == sum(p.value for p in parts.parts)
