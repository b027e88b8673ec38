"""Plain dataclasses that cross the storage boundary (never ORM objects)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

SUBSCORE_NAMES = ("p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v")
"""The five interaction sub-scores of MMSS.md, in order."""

TOO_HIGH = "too_high"
TOO_LOW = "too_low"
DISPUTE_DIRECTIONS = (TOO_HIGH, TOO_LOW)
"""Which way a moderator says the model's sub-score is wrong (``flag_interactions.direction``)."""

Disputes = tuple[tuple[str, str], ...]
"""A flag's disputed interactions: ``((interaction, direction), ...)`` in SUBSCORE_NAMES order,
each interaction at most once (see :func:`disputes_of`)."""


def disputes_of(items: Any) -> Disputes:
    """The canonical form of disputed interactions: from a mapping ``{interaction: direction}`` or
    pairs; a direction of None (or "") leaves that interaction out. ValueError on an unknown name
    or direction, or an interaction named twice."""
    pairs = list(items.items()) if isinstance(items, dict) else list(items or ())
    out: dict[str, str] = {}
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"a disputed interaction is (interaction, direction), got {pair!r}")
        name, direction = pair
        if name not in SUBSCORE_NAMES:
            raise ValueError(f"unknown interaction {name!r}; one of {', '.join(SUBSCORE_NAMES)}")
        if name in out:
            raise ValueError(f"interaction {name!r} disputed twice")
        if not direction:
            continue
        if direction not in DISPUTE_DIRECTIONS:
            raise ValueError(f"a dispute is {' or '.join(DISPUTE_DIRECTIONS)}, got {direction!r}")
        out[name] = direction
    return tuple((n, out[n]) for n in SUBSCORE_NAMES if n in out)


def disputes_text(disputes: Disputes) -> str:
    """The export form: ``"p_t r_t:too_high;r_t r_v:too_low"`` ("" for none)."""
    return ";".join(f"{name}:{direction}" for name, direction in disputes)


def dispute_words(name: str, direction: str) -> str:
    """``"p_t r_t is too high"``: a dispute as the menus and the audit log say it."""
    return f"{name} is {direction.replace('_', ' ')}"

class RunStatus(str, Enum):
    """Where a training run stands (``training_runs.status``; a CHECK constraint holds the set)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its trainer was killed; marked by the next one


FLAG_KINDS = (
    "model too high",
    "model too low",
    "sub-score wrong",
    "spam",
    "off-topic",
    "promotional",
    "private information",
    "profanity",
    "other",
)
"""Default flag kinds: model disagreement first, then marketplace content rules. The kinds in
use live in the ``flag_kinds`` table (seeded with these; see storage.repository.flag_kinds)."""

SUBSCORE_WRONG = FLAG_KINDS[2]
"""The kind that says "the model's sub-score is wrong": a flag of this kind names at least one
disputed interaction (any other flag may name some too). Disputing a sub-score of a review
without a flag creates one of this kind."""


def label_from_votes(votes: int) -> Optional[int]:
    """MMSS.md label rule: 0 votes -> unlabelled (None); v >= 1 -> min(floor(log2 v), 4)."""
    if votes is None or votes <= 0:
        return None
    return min(int(math.floor(math.log2(votes))), 4)


@dataclass(frozen=True)
class ProductSummary:
    id: int
    product_id: str
    title: str
    category: str
    split: str
    n_reviews: int
    n_labeled: int
    n_flagged: int
    n_scored: int


@dataclass(frozen=True)
class ReviewRow:
    """One row of the review table: the review, its prediction under a model, its flag state."""

    id: int
    review_id: str
    product_pk: int
    title: str
    text: str
    rating: Optional[float]
    helpful_votes: int
    label: Optional[int]
    time: Optional[int]
    n_images: int
    score: Optional[float] = None
    sub_scores: tuple[Optional[float], ...] = (None,) * 5
    flag_kind: Optional[str] = None
    flag_id: Optional[int] = None
    corrected_label: Optional[int] = None
    reasons: tuple[tuple[str, float], ...] = ()
    """The score's largest parts ``(plain label, value)``, at most two, largest first (empty when
    no explanation is stored): :meth:`ScoreParts.ranked` of it, stored beside the prediction."""
    has_product_text: bool = True
    """The product has a name or a description (what the ``p_t`` interactions read)."""
    n_product_images: int = 0
    """Images of the review's product (what the ``p_v`` interactions read)."""


@dataclass(frozen=True)
class ImageRecord:
    id: int
    sha256: str
    path: str  # absolute path of the stored file
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class FlagRecord:
    id: int
    review_pk: int
    model_version_id: Optional[int]
    kind: str
    corrected_label: Optional[int]
    note: str
    author: str
    created_at: dt.datetime
    undone: bool
    resolution: Optional[str]
    version: int
    interactions: Disputes = ()
    """The interactions this flag disputes and which way (``flag_interactions``)."""


@dataclass(frozen=True)
class DisputeCount:
    """How many reviews moderators disputed one interaction on (active flags, one model)."""

    interaction: str
    reviews: int
    too_high: int
    too_low: int


@dataclass(frozen=True)
class ReviewDetail:
    row: ReviewRow
    product_id: str
    product_title: str
    product_description: str
    product_images: tuple[ImageRecord, ...]
    review_images: tuple[ImageRecord, ...]
    flags: tuple[FlagRecord, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    explanation: Optional[ScoreParts] = None  # the score's parts, when its scoring stored them


KEEP_LABEL = -1
"""A bulk flag's ``corrected_label`` meaning "an edited flag keeps its own" (as in ``edit_flag``)."""

FlagValuesTuple = tuple[str, Optional[int], str]
"""A flag's (kind, corrected label, note)."""


@dataclass(frozen=True)
class BulkFlagChange:
    """What one bulk flag (storage.repository.bulk_flags) wrote, so that it can be undone.

    ``items`` holds ``(flag id, review pk, before)`` per review: ``before`` is None for a flag
    the batch created, else the (kind, corrected label, note) the edited flag had. The values
    it got are ``kind``, ``corrected_label`` (:data:`KEEP_LABEL`: its own) and ``note`` (None:
    its own): see :meth:`after`. ``versions``: each flag's version once written.
    """

    items: tuple[tuple[int, int, Optional[FlagValuesTuple]], ...]
    kind: str
    corrected_label: Optional[int]
    note: Optional[str]
    versions: dict[int, int]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def created(self) -> int:
        return sum(1 for _f, _r, before in self.items if before is None)

    @property
    def edited(self) -> int:
        return self.count - self.created

    def after(self, before: Optional[FlagValuesTuple]) -> FlagValuesTuple:
        """The values the batch gave a flag that had ``before`` (None: a flag it created)."""
        old_label, old_note = (before[1], before[2]) if before is not None else (None, "")
        label = old_label if self.corrected_label == KEEP_LABEL else self.corrected_label
        return self.kind, label, old_note if self.note is None else self.note


@dataclass(frozen=True)
class BulkFlagStep:
    """What an undo or redo of a bulk flag wrote: the flags changed (id -> version now), their
    reviews, and the flags left alone because someone else changed them since (``conflicts``:
    how many; ``conflict_text``: who changed which, how, for the user)."""

    versions: dict[int, int]
    review_pks: frozenset[int]
    conflicts: int = 0
    conflict_text: str = ""


@dataclass(frozen=True)
class FlagKindRecord:
    """A flag kind (``flag_kinds``): offered for new flags unless retired."""

    id: int
    name: str
    position: int
    retired_at: Optional[dt.datetime]
    created_at: dt.datetime
    built_in: bool = False
    """Set by the corrected-label keys ("model too high", "model too low", "other"): it cannot
    be renamed or retired."""

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass(frozen=True)
class ModelVersionRecord:
    id: int
    name: str
    parent_id: Optional[int]
    checkpoint_path: str
    checkpoint_sha256: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    card: dict[str, Any]
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class AuditRecord:
    """One audit event. ``target_id`` is the database key; the fields after ``details`` say
    what it refers to in words a user knows (empty where the event names nothing of the kind,
    or the thing was deleted since)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    details: dict[str, Any]
    review_id: str = ""
    """Catalogue id of the review the event is about (the target, or the review of a flag)."""
    product_id: str = ""
    product_title: str = ""
    flag_kind: str = ""
    """Kind of the flag the event names, as the flag is now (older events did not record it)."""
    flag_corrected_label: Optional[int] = None
    model_names: dict[int, str] = field(default_factory=dict)
    """id -> name of each model version the event names (its target, a parent, the model a run made)."""


@dataclass(frozen=True)
class TrainingRunRecord:
    id: int
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    parent_model_id: Optional[int]
    model_version_id: Optional[int]
    started_at: dt.datetime
    finished_at: Optional[dt.datetime]
    log: str = ""
    epochs: int = 0
    """How many epochs it finished (rows of ``training_epochs``)."""


@dataclass(frozen=True)
class TrainingEpochRecord:
    """One finished epoch of a training run (``training_epochs``)."""

    training_run_id: int
    epoch: int
    loss: Optional[float]
    dev_map: Optional[float]
    samples_per_s: Optional[float]
    losses: dict[str, Any]
    dev: dict[str, Any]
    pseudo_labels: dict[str, Any]
    finished_at: dt.datetime

    def as_history(self) -> dict[str, Any]:
        """The epoch as the engine's ``epoch`` event and the model card's history carry it."""
        return {"epoch": self.epoch, "losses": dict(self.losses), "dev": dict(self.dev),
                "pseudo_labels": dict(self.pseudo_labels), "samples_per_s": self.samples_per_s}


@dataclass(frozen=True)
class TrainingReview:
    """A review as the engine sees it: content, effective label, images."""

    id: int
    review_id: str
    title: str
    text: str
    rating: Optional[float]
    time: Optional[int]
    label: Optional[int]  # effective: a moderator's corrected label overrides the vote label
    vote_label: Optional[int]
    image_paths: tuple[str, ...]
    disputed: tuple[str, ...] = ()
    """Interactions (SUBSCORE_NAMES) that a moderator's active flag disputes for this review:
    training leaves their pseudo-labels out (engine.pseudolabels, "Disputed sub-scores")."""


@dataclass(frozen=True)
class TrainingProduct:
    id: int
    product_id: str
    title: str
    description: str
    category: str
    split: str
    image_paths: tuple[str, ...]
    reviews: tuple[TrainingReview, ...]


@dataclass(frozen=True)
class PredictionIn:
    """One review's prediction to store. ``explanation``: the JSON of the score's parts
    (``engine.model.explain.ScoreExplanation.record``), None when scoring made none."""

    review_pk: int
    score: float
    sub_scores: tuple[Optional[float], ...]
    explanation: Optional[dict[str, Any]] = None


@dataclass(frozen=True)
class ScorePart:
    """One named part of a score (MMSS.md, "Explaining a score"): ``key`` is the engine's name
    (``meta:rating``, ``block:p_t r_t``), ``label`` the plain words shown, ``value`` in score units."""

    key: str
    label: str
    value: float


WordValue = tuple[int, int, float]
"""``(start, end, value)``: a word's characters in the stored title or text, and its value."""


@dataclass(frozen=True)
class TextHighlight:
    """Which words of a review pushed its score up or down (``engine/jobs/highlight.py``, MMSS.md
    "Explaining a score"): integrated gradients of the score over the review token states the
    model read, from ``baseline``, summed per word, in score units.

    ``title`` and ``text`` hold the words in the coordinates of the review's stored title and text;
    ``read_to`` is where in the stored text the model stopped reading (None: it read all of it);
    ``delta`` = score minus the score at the baseline, what the values add up to (with ``other``,
    the share of the tokens of no word) up to ``gap``, the integral's completeness error."""

    title: tuple[WordValue, ...]
    text: tuple[WordValue, ...]
    read_to: Optional[int]
    baseline: str
    steps: int
    delta: float
    gap: float
    other: float

    @property
    def largest(self) -> float:
        """The largest |value| of a word (0.0 without words)."""
        return max((abs(v) for _s, _e, v in self.title + self.text), default=0.0)

    @classmethod
    def from_json(cls, data: Any) -> Optional["TextHighlight"]:
        """From the explanation's ``"highlight"`` entry; None for none or a shape not read here."""
        if not isinstance(data, dict):
            return None
        try:
            def words(key: str) -> tuple[WordValue, ...]:
                out = tuple((int(s), int(e), float(v)) for s, e, v in data[key])
                if any(s < 0 or e <= s or not math.isfinite(v) for s, e, v in out):
                    raise ValueError(key)
                return out

            read_to = data.get("read_to")
            return cls(words("title"), words("text"), None if read_to is None else int(read_to),
                       str(data.get("baseline", "")), int(data.get("steps", 0)), float(data["delta"]),
                       float(data.get("gap", 0.0)), float(data.get("other", 0.0)))
        except (KeyError, TypeError, ValueError):
            return None


def product_order(title: str | None, product_id: str, pk: int) -> tuple:
    """Sort key of the product list: title (else product id) case-insensitively (``casefold``,
    beyond ASCII: SQL ``lower()`` is not the same), then pk."""
    return ((title or product_id).casefold(), pk)


def part_order(label: str, value: float) -> tuple:
    """Sort key of a score's parts: largest ``|value|`` first, ties by label."""
    return (-abs(value), label)


@dataclass(frozen=True)
class ScoreParts:
    """A stored score's explanation: ``base + sum(part.value) == score`` (to 1e-4).

    ``reference``: what "absent" meant for the fused blocks (the training mean, or the stated
    fallback of a checkpoint that stores no means). ``highlight``: the review text highlight,
    when the scoring stored one."""

    score: float
    base: float
    parts: tuple[ScorePart, ...]
    reference: str
    highlight: Optional[TextHighlight] = None

    def ranked(self) -> tuple[ScorePart, ...]:
        """The parts largest ``|value|`` first, ties by label: the order the waterfall, the
        exports and the review table's reasons share."""
        return tuple(sorted(self.parts, key=lambda p: part_order(p.label, p.value)))

    @classmethod
    def from_json(cls, data: Any) -> Optional["ScoreParts"]:
        """From the stored JSON; None for none or a shape this version does not read."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return None
        try:
            parts = tuple(ScorePart(str(k), str(label), float(v)) for k, label, v in data["parts"])
            return cls(float(data["score"]), float(data["base"]), parts, str(data.get("reference", "")),
                       TextHighlight.from_json(data.get("highlight")))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ReviewFilter:
    """Filters of the review table; all optional."""

    text: str = ""
    only_flagged: bool = False
    only_disagreements: bool = False
    has_images: bool = False
    only_labeled: bool = False


@dataclass(frozen=True)
class SearchHit:
    """A review that matched a full-text search (storage/repository/search.py)."""

    review_pk: int
    review_id: str
    review_title: str
    product_pk: int
    product_id: str
    product_title: str
    snippet: tuple[tuple[str, bool], ...]
    """The best-matching passage as ``(text, matched)`` pieces: matched words are their own pieces."""
    score: float
    """Relevance, larger is better (only comparable within one search)."""

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet)


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, best first."""

    query: str
    hits: tuple[SearchHit, ...]
    offset: int
    has_more: bool
    """Another page follows (ask again with ``offset + len(hits)``)."""


def reason_text(label: str, value: float) -> str:
    """A part in words, as exports write it: ``review length +0.42`` (ASCII sign, two decimals)."""
    return f"{label} {value:+.2f}"


@dataclass(frozen=True)
class SubScoreSpread:
    """How one sub-score is spread over a product's scored reviews (values rounded to
    :data:`SUBSCORE_DECIMALS` first, so that float noise is not read as spread).

    ``n``: scored reviews with a value; ``low``/``high``: smallest and largest; ``p10``/``p90``:
    the 10th and 90th percentiles (nearest rank)."""

    n: int
    low: float
    p10: float
    p90: float
    high: float


SUBSCORE_DECIMALS = 2
"""Sub-scores are compared at this many decimals for a product's spread and percentiles: values
that read the same on screen are ties, not a ranking."""


@dataclass(frozen=True)
class ProductSubScores:
    """The five sub-scores of one product's reviews under one model (``catalogue.product_subscores``).

    ``spreads``: one :class:`SubScoreSpread` per sub-score (None where no review has a value);
    ``percentiles``: review pk -> each sub-score's percentile rank within the product, 0-100, the
    mid-rank definition (below + half the ties) so that a product whose values all tie puts
    every review at the 50th, not at the top or the bottom."""

    product_pk: int
    model_version_id: int
    spreads: tuple[Optional[SubScoreSpread], ...]
    percentiles: dict[int, tuple[Optional[float], ...]] = field(default_factory=dict)
