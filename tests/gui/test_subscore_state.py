"""The sub-scores as a reader judges them (gui/state/subscores.py): Qt-free, no window."""
from __future__ import annotations

from gui.state.subscores import (
    FLAT_SPREAD,
    SubScoreView,
    label_fraction,
    missing_inputs,
    ordinal,
    subscore_views,
)
from storage.records import ProductSubScores, ReviewRow, SubScoreSpread


def _row(pk=1, product_pk=7, subs=(3.9, 1.7, 2.5, 3.0, 4.3), *, n_images=0, n_product_images=1,
         has_product_text=True, text="A review", title="") -> ReviewRow:
    return ReviewRow(pk, f"r{pk}", product_pk, title, text, 4.0, 3, 1, None, n_images, 0.5, subs,
                     has_product_text=has_product_text, n_product_images=n_product_images)


def test_values_sit_on_the_fixed_label_scale_with_overflow_marked():
    assert label_fraction(0.0) == (0.0, 0) and label_fraction(2.0) == (0.5, 0) and label_fraction(4.0) == (1.0, 0)
    assert label_fraction(4.4) == (1.0, 1)  # pseudo-labels may pass 4: clamped to the end, marked
    assert label_fraction(-1.3) == (0.0, -1)
    view = SubScoreView(4, 4.41)
    assert view.position == (1.0, 1)
    assert "helpfulness-label scale 0\u20134" in view.tooltip and "may go past 0 or 4" in view.tooltip
    assert "above 4, past the end of the label scale" in view.tooltip


def test_missing_sides_follow_the_inputs_each_interaction_reads():
    no_review_image = _row(n_images=0, n_product_images=1)
    assert [missing_inputs(i, no_review_image) for i in range(5)] == [
        (), ("review image",), ("review image",), (), ("review image",)]
    bare = _row(n_images=0, n_product_images=0, has_product_text=False)
    assert missing_inputs(0, bare) == ("product text",)
    assert missing_inputs(1, bare) == ("product image", "review image")
    assert missing_inputs(3, bare) == ("product image",)
    full = _row(n_images=2, n_product_images=1)
    assert all(missing_inputs(i, full) == () for i in range(5))
    assert missing_inputs(0, _row(text="  ", title="")) == ("review text",)


def test_a_missing_side_is_greyed_with_the_reason_and_no_confident_value():
    views = subscore_views(_row(n_images=0, n_product_images=0), None)
    pv_rv = views[1]
    assert pv_rv.greyed and pv_rv.short_text == "no img"
    assert pv_rv.missing_note == "no product image and no review image: this interaction only sees the empty slot"
    assert pv_rv.tooltip.startswith("p_v r_v \u00b7 product image / review image\n")
    assert "stand-in" in pv_rv.tooltip and "helpfulness-label" not in pv_rv.tooltip
    assert views[3].missing_note == "no product image: this interaction only sees the empty slot"
    assert not views[0].greyed and views[0].missing_note == ""
    no_text = subscore_views(_row(has_product_text=False, n_images=1), None)[0]
    assert no_text.greyed and no_text.short_text == "no text"
    assert no_text.missing_note == "no product text: this interaction only sees the empty input"
    unscored = subscore_views(_row(subs=(None,) * 5), None)[1]
    assert not unscored.greyed and unscored.tooltip.endswith("not scored")


def test_percentile_and_product_range_from_the_products_sub_scores():
    spread = SubScoreSpread(8, 1.0, 1.2, 3.4, 3.9)
    product = ProductSubScores(7, 1, (spread,) * 5, {1: (83.4, 50.0, 12.5, 2.0, 99.9)})
    views = subscore_views(_row(n_images=1), product)
    assert [v.percentile_text for v in views] == ["83rd", "50th", "12th", "2nd", "99th"]
    assert views[0].band == (0.3, 0.85) and views[0].range == (0.25, 0.975)
    tip = views[0].tooltip
    assert "Percentile within this product: 83rd" in tip
    assert "This product (8 reviews): 1.00 to 3.90, 10th\u201390th percentile 1.20 to 3.40" in tip
    assert not views[0].flat and "Flat" not in tip
    other = subscore_views(_row(product_pk=99), product)[0]  # another product's numbers are not used
    assert other.percentile is None and other.spread is None and other.band is None


def test_a_flat_sub_score_says_so_and_keeps_its_band_thin():
    flat = SubScoreSpread(8, 1.66, 1.67, 1.68, 1.69)
    assert flat.high - flat.low < FLAT_SPREAD
    view = SubScoreView(1, 1.67, 50.0, flat)
    a, b = view.band
    assert view.flat and b - a < 0.01  # a hairline on the 0-4 axis, not a stretched one
    assert "Flat within this product: every review lies within 0.03" in view.tooltip
    assert not SubScoreView(1, 1.67, 50.0, SubScoreSpread(8, 1.0, 1.2, 2.0, 2.5)).flat
    assert not SubScoreView(1, 1.67, 50.0, SubScoreSpread(1, 1.67, 1.67, 1.67, 1.67)).flat  # one review: not "flat"


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 83, 100, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "83rd", "100th", "101st", "111th"]
