"""Metrics against hand-computed values (MMSS.md, "Metrics")."""

import math

import pytest

from engine.metrics import average_precision, evaluate_rankings, ndcg_at_k, per_product_metrics


def test_ap_and_ndcg_on_a_hand_computed_ranking():
    # scores rank the reviews in input order: labels [2, 0, 3]; relevant (> 1): ranks 1 and 3
    res = per_product_metrics({"p": [3.0, 2.0, 1.0]}, {"p": [2, 0, 3]}, threshold=1)["p"]
    ap = (1 / 1 + 2 / 3) / 2
    dcg = (2**2 - 1) / math.log(2) + (2**3 - 1) / math.log(4)
    ideal = (2**3 - 1) / math.log(2) + (2**2 - 1) / math.log(3)
    assert res["AP"] == pytest.approx(100 * ap)
    assert res["NDCG@3"] == pytest.approx(100 * dcg / ideal)
    assert res["NDCG@5"] == pytest.approx(100 * dcg / ideal)


def test_ties_keep_input_order():
    # all scores equal: the ranking is the input order [0, 3, 2]
    res = per_product_metrics({"p": [1.0, 1.0, 1.0]}, {"p": [0, 3, 2]})["p"]
    assert res["AP"] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    # partial tie: review 1 first, then reviews 0 and 2 in input order -> labels [0, 3, 2]
    res2 = per_product_metrics({"p": [0.5, 0.9, 0.5]}, {"p": [3, 0, 2]})["p"]
    assert res2["AP"] == pytest.approx(res["AP"])
    # a tie between a relevant and a non-relevant review is broken by input order alone
    assert per_product_metrics({"p": [1.0, 1.0]}, {"p": [0, 3]})["p"]["AP"] == pytest.approx(50.0)
    assert per_product_metrics({"p": [1.0, 1.0]}, {"p": [3, 0]})["p"]["AP"] == pytest.approx(100.0)


def test_product_without_relevant_review_counts_zero():
    scores = {"good": [2.0, 1.0], "none": [0.3, 0.1, 0.2]}
    labels = {"good": [4, 0], "none": [1, 1, 0]}  # "none": nothing above threshold 1
    per = per_product_metrics(scores, labels)
    assert per["none"] == {"AP": 0.0, "NDCG@3": 0.0, "NDCG@5": 0.0}
    assert per["good"]["AP"] == pytest.approx(100.0)
    agg = evaluate_rankings(scores, labels)
    assert agg == pytest.approx({"MAP": 50.0, "NDCG@3": 50.0, "NDCG@5": 50.0})


def test_fewer_reviews_than_k():
    # two reviews, wrong order: relevant label 3 at position 1
    res = per_product_metrics({"p": [0.9, 0.1]}, {"p": [0, 3]})["p"]
    expected = ((2**3 - 1) / math.log(3)) / ((2**3 - 1) / math.log(2))
    assert res["NDCG@3"] == pytest.approx(100 * expected)
    assert res["NDCG@5"] == pytest.approx(100 * expected)
    assert res["AP"] == pytest.approx(50.0)


def test_ndcg3_and_ndcg5_differ_by_cutoff():
    # the only relevant review is ranked 4th (i = 3): outside the top 3, inside the top 5
    labels = [0, 0, 0, 2, 0, 0]
    scores = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    res = per_product_metrics({"p": scores}, {"p": labels})["p"]
    assert res["NDCG@3"] == 0.0
    assert res["NDCG@5"] == pytest.approx(100 * (3 / math.log(5)) / (3 / math.log(2)))
    assert res["AP"] == pytest.approx(100 * 1 / 4)


def test_both_thresholds():
    scores = {"p": [0.0, 1.0]}  # ranking: review 1 (label 0), then review 0 (label 1)
    labels = {"p": [1, 0]}
    lazada = evaluate_rankings(scores, labels, threshold=0)
    assert lazada["MAP"] == pytest.approx(50.0)
    assert lazada["NDCG@3"] == pytest.approx(100 * (1 / math.log(3)) / (1 / math.log(2)))
    amazon = evaluate_rankings(scores, labels, threshold=1)
    assert amazon == {"MAP": 0.0, "NDCG@3": 0.0, "NDCG@5": 0.0}


def test_non_relevant_positive_labels_add_no_gain():
    # with threshold 1, a label-1 review earns no DCG gain even at the top
    assert ndcg_at_k([1, 2], 3, threshold=1) == pytest.approx((3 / math.log(3)) / (3 / math.log(2)))
    assert average_precision([1, 2], threshold=1) == pytest.approx(0.5)


def test_mismatched_lengths_name_the_product():
    with pytest.raises(ValueError, match="B0042"):
        evaluate_rankings({"A1": [1.0], "B0042": [1.0, 2.0]}, {"A1": [1], "B0042": [3]})
    with pytest.raises(ValueError, match="only-in-scores"):
        evaluate_rankings({"only-in-scores": [1.0]}, {})
    with pytest.raises(ValueError, match="nan-prod"):
        evaluate_rankings({"nan-prod": [float("nan"), 1.0]}, {"nan-prod": [2, 3]})
