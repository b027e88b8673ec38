"""Qt-free training setup: recipe, start point, epochs, activation policy, advanced options.

The GUI never imports torch, so the config fields (MMSSConfig's and TrainConfig's) come from
``python -m engine recipes --json`` (:class:`RecipeCatalog`); values the user changes are
checked here once, against the field's type, and become a JSON config file for ``train
--config``. Which fields a run that continues from a model keeps is the engine's
:data:`engine.config.ARCHITECTURE_FIELDS` (a torch-free module).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional, Sequence

from ..state.evented import EventedState, evented
from .state import SUBTASKS, format_duration

CPU_RECIPE, GPU_RECIPE = "cpu-quick", "gpu-full"

# Set by their own controls in the panel, not among the advanced options.
MAIN_FIELDS = frozenset({"epochs", "seed"})

# Throughput for the first estimate, before this database has a run of its own: training
# reviews per second including feature caching, measured with the cpu-quick recipe on the
# bundled sample (2 CPU cores, cold feature cache: 44 s for 10 epochs); a GPU fine-tune is assumed ~5x faster.
FALLBACK_REVIEWS_PER_S = {CPU_RECIPE: 40.0, GPU_RECIPE: 200.0}
STARTUP_S = 8.0


class ActivatePolicy(Enum):
    NEVER = "never"
    ALWAYS = "always"
    IF_BETTER = "if-better"


class DeviceChoice(Enum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


@dataclass(frozen=True)
class FieldSpec:
    """One MMSSConfig field as the engine describes it.

    Parameters
    ----------
    name : str
    kind : str
        ``int``, ``float``, ``bool``, ``str``, ``choice`` (one of ``choices``) or
        ``subset`` (a list drawn from ``choices``).
    default : object
    doc : str
    choices : tuple
    """

    name: str
    kind: str
    default: Any
    doc: str = ""
    choices: tuple = ()

    def coerce(self, value: Any) -> Any:
        """``value`` as this field's type, or ValueError naming the field."""
        try:
            if self.kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(str(value).strip()) if isinstance(value, str) else int(value)
            if self.kind == "float":
                out = float(str(value).strip()) if isinstance(value, str) else float(value)
                if not math.isfinite(out):
                    raise ValueError
                return out
            if self.kind == "bool":
                if isinstance(value, str):
                    if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    return value.strip().lower() in ("true", "1", "yes")
                return bool(value)
            if self.kind == "choice":
                if value not in self.choices:
                    raise ValueError
                return value
            if self.kind == "subset":
                items = list(value)
                if any(v not in self.choices for v in items):
                    raise ValueError
                return [c for c in self.choices if c in items]
            text = str(value).strip()
            if not text:
                raise ValueError
            return text
        except (TypeError, ValueError):
            expected = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
                self.kind, f"one of {', '.join(map(str, self.choices))}" if self.choices else "a text")
            raise ValueError(f"{self.name}: expected {expected}, got {value!r}") from None


@dataclass(frozen=True)
class RecipeCatalog:
    """Recipe presets and config fields, from ``python -m engine recipes --json``."""

    recipes: dict[str, dict[str, Any]]
    fields: tuple[FieldSpec, ...] = ()
    default_recipe: dict[str, str] = field(default_factory=lambda: {"cpu": CPU_RECIPE, "cuda": GPU_RECIPE})
    subtasks: tuple[str, ...] = SUBTASKS

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RecipeCatalog":
        if not isinstance(data, dict) or not isinstance(data.get("recipes"), dict) or not isinstance(data.get("fields"), list):
            raise ValueError("the engine's recipe list is not in the expected form")
        fields = tuple(
            FieldSpec(str(f["name"]), str(f.get("type", "str")), f.get("default"), str(f.get("doc", "")),
                      tuple(f.get("choices") or ()))
            for f in data["fields"] if isinstance(f, dict) and "name" in f
        )
        return cls({str(k): dict(v) for k, v in data["recipes"].items()}, fields,
                   dict(data.get("default_recipe") or {"cpu": CPU_RECIPE, "cuda": GPU_RECIPE}),
                   tuple(data.get("subtasks") or SUBTASKS))

    def spec(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def recipe_value(self, recipe: str, name: str) -> Any:
        preset = self.recipes.get(recipe, {})
        if name in preset:
            return preset[name]
        try:
            return self.spec(name).default
        except KeyError:
            return None


# Until the engine answers (a subprocess start takes seconds), the presets the CLI accepts.
BUILTIN_CATALOG = RecipeCatalog({CPU_RECIPE: {"epochs": 10, "text_finetune_layers": 0},
                                 GPU_RECIPE: {"epochs": 4, "text_finetune_layers": -1}})

RECIPE_TITLES = {
    CPU_RECIPE: "Quick (CPU): frozen text encoder, heads trained",
    GPU_RECIPE: "Full (GPU): whole text encoder fine-tuned",
}


def _recipe(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"recipe: expected a recipe name, got {value!r}")
    return value


def _positive_or_none(value):
    if value in (None, "", 0):
        return None
    out = float(value)
    if out <= 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return out


class TrainingSetup(EventedState):
    """What the next run will do. Widgets set these; :meth:`engine_args` turns them into a
    ``train`` command line and :meth:`config_overrides` into its ``--config`` file."""

    catalog = evented(BUILTIN_CATALOG, "Recipes and config fields known to the engine.")
    recipe = evented(CPU_RECIPE, "Preset of config values for a run from scratch.", coerce=_recipe)
    from_active = evented(True, "Continue from the active model (it becomes the parent) instead of from scratch.",
                          coerce=bool)
    epochs = evented(None, "Epochs (None: the recipe's or the parent model's).")
    seed = evented(0, "Random seed (same seed, same data, CPU: same model).", coerce=int)
    device = evented(DeviceChoice.AUTO, "Where to train.", coerce=DeviceChoice)
    activate = evented(ActivatePolicy.IF_BETTER, "Whether the new model becomes active.", coerce=ActivatePolicy)
    max_minutes = evented(None, "Stop after this long, keeping the best epoch (None: no limit).",
                          coerce=_positive_or_none)
    name = evented("", "Name of the new model version ('' lets the engine choose mmss-vN).",
                   coerce=lambda v: str(v or "").strip())
    overrides = evented({}, "Advanced config fields set by the user: name -> value.")

    def set_override(self, name: str, value: Any, parent_config: Optional[dict] = None) -> None:
        """Set one advanced field (validated); setting the value it has anyway removes it."""
        spec = self.catalog.spec(name)
        value = spec.coerce(value)
        out = dict(self.overrides)
        if value == self.base_value(name, parent_config):
            out.pop(name, None)
        else:
            out[name] = value
        self.overrides = out

    def clear_override(self, name: str) -> None:
        if name in self.overrides:
            self.overrides = {k: v for k, v in self.overrides.items() if k != name}

    def base_value(self, name: str, parent_config: Optional[dict] = None) -> Any:
        """The value a field has without an override: the parent's when continuing, else the recipe's."""
        if self.from_active and parent_config and name in parent_config:
            return parent_config[name]
        return self.catalog.recipe_value(self.recipe, name)

    def value(self, name: str, parent_config: Optional[dict] = None) -> Any:
        if name == "epochs" and self.epochs is not None:
            return self.epochs
        if name in self.overrides:
            return self.overrides[name]
        return self.base_value(name, parent_config)

    def editable(self, name: str, continuing: bool) -> bool:
        """Advanced fields the user may change (architecture is fixed when continuing)."""
        from engine.config import ARCHITECTURE_FIELDS  # here, not at import: it loads numpy (engine.metadata)

        return name not in MAIN_FIELDS and (not continuing or name not in ARCHITECTURE_FIELDS)

    def config_overrides(self, continuing: bool) -> dict[str, Any]:
        """The ``--config`` JSON: the overrides that apply to this kind of run."""
        return {k: v for k, v in self.overrides.items() if self.editable(k, continuing)}

    def engine_args(self, db_url: str, *, from_model: Optional[str] = None, config_file: Optional[str] = None) -> list[str]:
        """``train`` arguments (after ``python -m engine``)."""
        args = ["train", "--db", db_url, "--json-progress", "--device", self.device.value,
                "--activate", self.activate.value, "--seed", str(self.seed)]
        if from_model:
            args += ["--from-model", from_model]
        else:
            args += ["--recipe", self.recipe]
        if self.epochs is not None:
            args += ["--epochs", str(int(self.epochs))]
        if self.max_minutes is not None:
            args += ["--max-minutes", f"{self.max_minutes:g}"]
        if self.name:
            args += ["--name", self.name]
        if config_file:
            args += ["--config", config_file]
        return args


# ---------------------------------------------------------------- estimate


@dataclass(frozen=True)
class PastRun:
    """A finished run of this database, as the estimate needs it."""

    seconds: float
    epochs_run: int
    frozen_encoder: bool


def estimate_seconds(
    epochs: int, train_reviews: int, frozen_encoder: bool, recipe: str, past: Sequence[PastRun] = ()
) -> tuple[Optional[float], str]:
    """Rough wall time of a run and where the figure comes from.

    The last comparable run of this database (same frozen/fine-tuned encoder) gives seconds
    per epoch; without one, :data:`FALLBACK_REVIEWS_PER_S`. Early stopping can end sooner.
    """
    if epochs <= 0 or train_reviews <= 0:
        return None, "no labelled training reviews"
    for run in reversed(past):
        if run.frozen_encoder == frozen_encoder and run.epochs_run > 0 and run.seconds > 0:
            return run.seconds / run.epochs_run * epochs, "from the last run on this database"
    rate = FALLBACK_REVIEWS_PER_S.get(recipe, FALLBACK_REVIEWS_PER_S[CPU_RECIPE])
    return STARTUP_S + train_reviews * epochs / rate, "rough: no earlier run on this database"


def estimate_text(seconds: Optional[float], source: str) -> str:
    if seconds is None:
        return f"estimate: - ({source})"
    return f"\u2248 {format_duration(seconds)} at most ({source})"
