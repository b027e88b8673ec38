"""Drift between two model versions on the unflagged reviews (pure logic, no Qt): inputs whose
shift is known by construction."""
from __future__ import annotations

import pytest

from gui.models_view.drift import NO_CATEGORY, SERIES, compute_drift, share_text

# (review_pk, product_pk, category, score, p_t r_t, p_v r_v, p_t r_v, p_v r_t, r_t r_v) under A, then B
A = [
    (101, 1, "Kitchen", 0.0, 0.0, 0.0, 1.0, 1.0, 2.0),
    (102, 1, "Kitchen", 1.0, 0.25, 0.0, 2.0, 1.5, 2.5),
    (103, 2, "Books", 2.0, 0.5, 0.0, 3.0, 2.0, 3.0),
    (104, 2, "Books", 3.0, 0.75, 0.0, None, 2.5, 3.5),
]
# p_t r_t: + 1.5 on exactly the second half; p_v r_t: + 0.5 everywhere; the rest unchanged
B_PT_RT = [0.0, 0.25, 2.0, 2.25]


def rows(b_score=None, a_override=None, b_override=None):
    out = []
    for i, (pk, ppk, cat, *a) in enumerate(A):
        a = list(a)
        b = list(a)
        b[1] = B_PT_RT[i]
        b[4] = a[4] + 0.5
        if b[3] is None:
            b[3] = 3.0  # B has a value where A has none: not a pair of that series
        if b_score is not None:
            b[0] = b_score[i]
        for k, values in (a_override or {}).items():
            a[k] = values[i]
        for k, values in (b_override or {}).items():
            b[k] = values[i]
        out.append((pk, ppk, cat, *a, *b))
    return out


def test_a_known_shift_an_unchanged_series_and_a_flat_one():
    drift = compute_drift(rows(), 1, 2)
    assert drift.n == 4 and [s.name for s in drift.series] == list(SERIES)

    pt_rt = drift.get("p_t r_t")
    assert pt_rt.n == 4 and pt_rt.moved == 2 and pt_rt.moved_share == 0.5
    assert pt_rt.ks_d == pytest.approx(0.5) and pt_rt.ks_at == 0.75  # A's CDF reaches 1 at 0.75, B's is at 0.5
    assert (pt_rt.mean_a, pt_rt.mean_b) == (pytest.approx(0.375), pytest.approx(1.125))
    assert pt_rt.quantiles_a[0] == 0.0 and pt_rt.quantiles_a[-1] == 0.75 and pt_rt.quantiles_b[-1] == 2.25
    assert len(pt_rt.quantiles_a) == len(drift.quantiles) == 21
    assert [(m.review_pk, m.product_pk, m.category, m.delta) for m in pt_rt.movers] == [
        (103, 2, "Books", 1.5), (104, 2, "Books", 1.5)]  # only reviews that moved; ties by review
    assert not pt_rt.flat
    text = pt_rt.sentence
    assert text.startswith("p_t r_t: 50% of 4 unflagged reviews moved by more than a label step")
    assert "B's values run higher (mean 0.38 \u2192 1.12)" in text and "near 0.75 (KS D = 0.50)" in text

    score = drift.get("score")  # unchanged
    assert score.ks_d == 0 and score.moved == 0 and score.movers == ()
    assert score.mean_a == score.mean_b == 1.5
    assert "the same (KS D = 0)" in score.sentence and "standard deviation of A's scores (1.12)" in score.sentence

    flat = drift.get("p_v r_v")
    assert flat.flat and flat.moved == 0 and flat.ks_d == 0
    assert flat.sentence == ("p_v r_v: flat \u2014 all 4 unflagged reviews score 0.00 under both models, "
                             "so there is no distribution to compare.")

    pt_rv = drift.get("p_t r_v")  # A has no value for review 104
    assert pt_rv.n == 3 and pt_rv.ks_d == 0 and pt_rv.moved == 0

    pv_rt = drift.get("p_v r_t")  # everything up half a step: no review moved a whole step
    assert pv_rt.moved == 0 and pv_rt.mean_b - pv_rt.mean_a == pytest.approx(0.5)
    assert pv_rt.ks_d == pytest.approx(0.25) and "B's values run higher" in pv_rt.sentence
    assert len(pv_rt.movers) == 4

    cats = {c.category: c for c in drift.categories}
    assert set(cats) == {"Kitchen", "Books"} and cats["Books"].n == 2
    i = SERIES.index("p_t r_t")
    assert cats["Books"].moved_share[i] == 1.0 and cats["Kitchen"].moved_share[i] == 0.0
    assert cats["Books"].moved_share[SERIES.index("p_t r_v")] == 0.0  # one of Books' two has a p_t r_v pair


def test_the_score_moves_by_a_standard_deviation_of_a_and_flat_series_that_shift():
    drift = compute_drift(rows(b_score=[0.0, 1.0, 2.0, 5.0], b_override={1: [4.0] * 4}), 1, 2)
    score = drift.get("score")
    assert score.threshold == pytest.approx(1.118, abs=1e-3)
    assert score.moved == 1 and "25% of 4 unflagged reviews moved by more than one standard deviation" in score.sentence
    pt_rt = drift.get("p_t r_t")  # flat under B only: compared, and said
    assert pt_rt.flat_b and not pt_rt.flat_a and "under B it is flat (every review 4.00)" in pt_rt.sentence

    # a flat A against a flat B at another value: flat, and every review moved
    both_flat = compute_drift(rows(a_override={2: [1.0] * 4}, b_override={2: [3.0] * 4})).get("p_v r_v")
    assert both_flat.flat and both_flat.moved_share == 1.0 and both_flat.ks_d == 1.0
    assert both_flat.sentence.startswith("p_v r_v: flat under each model (all 4 unflagged reviews score 1.00 under A "
                                         "and 3.00 under B); 100% moved")


def test_one_category_no_rows_and_shares():
    one = [(pk, ppk, None, *rest) for pk, ppk, _cat, *rest in rows()]
    drift = compute_drift(one)
    assert drift.categories == ()  # a single (missing) category: no per-category table
    assert drift.get("p_t r_t").movers[0].category == NO_CATEGORY
    empty = compute_drift([])
    assert empty.n == 0 and all(s.n == 0 and "no unflagged review" in s.sentence for s in empty.series)
    assert [share_text(x) for x in (0.0, 0.004, 0.23, 0.995, 1.0, None)] == ["0%", "0.4%", "23%", "99.5%", "100%", ""]
