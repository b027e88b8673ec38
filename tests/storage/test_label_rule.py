"""MMSS.md label rule: 0 votes -> unlabelled (stored, NULL); v >= 1 -> min(floor(log2 v), 4)."""
import pytest

from storage.records import label_from_votes


@pytest.mark.parametrize(
    "votes, label",
    [(0, None), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (7, 2), (8, 3), (15, 3), (16, 4), (17, 4), (258, 4), (10**9, 4)],
)
def test_votes_map_to_labels(votes, label):
    assert label_from_votes(votes) == label


def test_no_votes_is_unlabelled_not_zero():
    assert label_from_votes(0) is None
    assert label_from_votes(1) == 0
