"""Amazon Fine Food Reviews (SNAP web-FineFoods; Kaggle ``snap/amazon-fine-food-reviews``):
``Reviews.csv`` with ``Id``, ``ProductId``, ``UserId``, ``ProfileName``,
``HelpfulnessNumerator``, ``HelpfulnessDenominator``, ``Score``, ``Time``, ``Summary``,
``Text``. A :mod:`.mapped` preset: review_id <- "ff-" + Id (the ids of the bundled sample),
product_id <- ProductId, helpful_votes <- HelpfulnessNumerator, total_votes <-
HelpfulnessDenominator, rating <- Score, time <- Time (unix seconds), title <- Summary, text
<- Text; extras ``reviewer_id`` <- UserId, ``reviewer_name`` <- ProfileName. The data has no
product metadata: products are created with an empty text, named by their id.

Quirks of the real file, read without hand-editing: a UTF-8 BOM and CRLF line ends (Windows
re-saves), ProfileName with commas, quotes, non-ASCII or empty, HTML in Text, empty Summary,
the same text under several ProductIds (one review each, as the ids differ), and two rows
(Ids 44737, 64422) with HelpfulnessNumerator > HelpfulnessDenominator: the numerator is kept
(it makes the label) and the total raised to it, counted in the report's notes.
"""
from __future__ import annotations

from pathlib import Path

from .mapped import Mapping, read_catalogue as read_mapped
from .rows import Catalogue, Progress

NAME = "finefood"
TITLE = "Amazon Fine Food Reviews (SNAP / Kaggle Reviews.csv)"
MARKERS = frozenset({"ProductId", "HelpfulnessNumerator", "Text"})
MAPPING = Mapping(
    columns={"review_id": "Id", "product_id": "ProductId", "reviewer_id": "UserId", "reviewer_name": "ProfileName",
             "helpful_votes": "HelpfulnessNumerator", "total_votes": "HelpfulnessDenominator", "rating": "Score",
             "time": "Time", "title": "Summary", "text": "Text"},
    id_prefix="ff-",
    notes=("review ids are 'ff-' + Id (as in the bundled sample); the data has no product metadata: products are "
           "stored with an empty text (the app names them by their id)",),
)


def matches(columns) -> bool:
    return MARKERS <= set(columns)


def read_catalogue(path: Path, progress: Progress = None) -> Catalogue:
    return read_mapped(path, MAPPING, progress, fmt=NAME)
