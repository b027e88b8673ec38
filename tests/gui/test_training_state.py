"""Qt-free training state: engine events in, plain records and evented attributes out."""
from __future__ import annotations

import json

import pytest

from gui.training.scoring_state import ScoreJobState
from gui.training.setup import (
    BUILTIN_CATALOG, ActivatePolicy, DeviceChoice, FieldSpec, PastRun, RecipeCatalog, TrainingSetup, estimate_seconds,
)
from gui.training.state import RunStatus, TrainingRunState, format_duration

START = {"event": "start", "run_id": 4, "device": "cpu", "config": {"epochs": 2, "hidden": 16},
         "train_products": 8, "dev_products": 2, "parent": None}
STEP = {"event": "step", "epoch": 1, "step": 2, "steps": 4, "loss": 0.75, "samples_per_s": 30.0, "eta_s": 12.5}
EPOCH = {"event": "epoch", "epoch": 1, "epochs": 2,
         "losses": {"target": 0.61, "subtasks": 0.2, "subtask/p_t r_t": 0.1, "subtask/r_t r_v": 0.3, "total": 0.81},
         "dev": {"MAP": 55.5, "NDCG@3": 40.0, "NDCG@5": 45.0},
         "pseudo_labels": {"y_g": {"mean": 1.2, "std": 1.1}, "p_t r_t": {"mean": 1.5, "std": 1.3}},
         "samples_per_s": 33.0, "eta_s": 6.0}
DONE = {"event": "done", "model": "mmss-v2", "model_version_id": 2, "checkpoint": "/m/mmss-v2", "activated": True,
        "metrics": {"dev": {"MAP": 57.0}, "test": {"MAP": 50.0}, "best_epoch": 2}}


def _lines(*events) -> list[str]:
    return [json.dumps(e) for e in events]


def test_events_become_progress_records_and_a_registered_outcome():
    state = TrainingRunState()
    seen = {"steps": [], "epochs": [], "status": []}
    state.events.step_added.connect(seen["steps"].append)
    state.events.epoch_added.connect(seen["epochs"].append)
    state.events.status.connect(seen["status"].append)
    state.begin("python -m engine train")
    for line in _lines(START, STEP, EPOCH, DONE):
        state.apply_line(line)
    assert state.finish(0) is RunStatus.SUCCEEDED
    assert seen["status"] == [RunStatus.STARTING, RunStatus.RUNNING, RunStatus.SUCCEEDED]
    assert state.device == "cpu" and state.run_id == 4
    (step,) = seen["steps"]
    assert step.x == pytest.approx(0.5) and step.loss == 0.75
    (epoch,) = state.epochs
    assert epoch.target_loss == 0.61 and epoch.subtask_losses == {"p_t r_t": 0.1, "r_t r_v": 0.3}
    assert epoch.dev["MAP"] == 55.5 and epoch.pseudo_labels["y_g"] == (1.2, 1.1)
    assert epoch.pseudo_offset("p_t r_t") == pytest.approx(0.3)
    assert state.outcome.model == "mmss-v2" and state.outcome.activated and state.outcome.dev_map == 57.0
    assert state.progress.fraction == 1.0 and state.best_epoch is epoch
    assert any("registered model mmss-v2" in line for line in state.log)


def test_step_progress_counts_steps_of_all_epochs_and_keeps_the_eta():
    state = TrainingRunState()
    state.begin()
    state.apply(START)
    state.apply(STEP)
    assert (state.progress.done, state.progress.total) == (2, 8)
    assert state.eta_s == 12.5 and state.samples_per_s == 30.0


@pytest.mark.parametrize("code, stderr, status, error", [
    (3, "", RunStatus.CANCELLED, ""),
    (2, "error: attention_heads: hidden=15 is not divisible by 4", RunStatus.FAILED,
     "attention_heads: hidden=15 is not divisible by 4"),
    (1, "Traceback (most recent call last):\n  File x\nRuntimeError: CUDA out of memory", RunStatus.FAILED,
     "RuntimeError: CUDA out of memory"),
    (-1, "", RunStatus.FAILED, "the trainer stopped unexpectedly (it crashed or was killed)"),
    (0, "", RunStatus.FAILED, "the trainer exited without registering a model"),
])
def test_exit_codes_close_the_run(code, stderr, status, error):
    state = TrainingRunState()
    state.begin()
    state.apply(START)
    assert state.finish(code, stderr) is status
    assert state.error == error
    assert not state.status.active


def test_an_error_event_is_the_message_and_non_json_output_is_logged():
    state = TrainingRunState()
    state.begin()
    assert state.apply_line("warming up the encoder") is None
    state.apply_line(json.dumps({"event": "error", "message": "no labelled training reviews"}))
    state.apply_line("{not json")
    state.finish(2, "error: no labelled training reviews")
    assert state.error == "no labelled training reviews"
    assert "warming up the encoder" in state.log and "{not json" in state.log


def test_a_killed_run_after_cancel_counts_as_cancelled():
    state = TrainingRunState()
    state.begin()
    state.apply(START)
    assert state.request_cancel() and state.status is RunStatus.CANCELLING
    assert not state.request_cancel()
    assert state.finish(-1) is RunStatus.CANCELLED


def test_begin_clears_the_previous_run():
    state = TrainingRunState()
    resets = []
    state.events.reset.connect(resets.append)
    state.begin()
    for line in _lines(START, STEP, EPOCH):
        state.apply_line(line)
    state.finish(3)
    state.begin()
    assert state.epochs == [] and state.steps == [] and state.outcome is None and len(resets) == 2


def test_score_job_state_reports_progress_and_failure():
    state = ScoreJobState()
    state.begin("m")
    state.apply_line(json.dumps({"event": "start", "model": "m", "reviews": 10, "device": "cpu"}))
    state.apply_line(json.dumps({"event": "progress", "done": 4, "total": 10, "reviews_per_s": 8.0, "eta_s": 0.7}))
    assert (state.progress.done, state.progress.total, state.eta_s) == (4, 10, 0.7)
    state.apply_line(json.dumps({"event": "done", "model": "m", "scored": 10, "seconds": 1.2}))
    assert state.finish(0) is RunStatus.SUCCEEDED and state.outcome.scored == 10
    state.begin()
    assert state.finish(2, "error: no model to score with: train one") is RunStatus.FAILED
    assert state.error == "no model to score with: train one"


# ---------------------------------------------------------------- setup


def _catalog() -> RecipeCatalog:
    return RecipeCatalog.from_json({
        "recipes": {"cpu-quick": {"hidden": 64, "epochs": 10}, "gpu-full": {"text_finetune_layers": -1}},
        "fields": [
            {"name": "hidden", "type": "int", "default": 128, "doc": "d"},
            {"name": "lr_rest", "type": "float", "default": 1e-4},
            {"name": "use_metadata", "type": "bool", "default": True},
            {"name": "margin_mode", "type": "choice", "default": "fixed", "choices": ["fixed", "adaptive"]},
            {"name": "drop_subtasks", "type": "subset", "default": [], "choices": ["p_t r_t", "p_v r_v"]},
            {"name": "epochs", "type": "int", "default": 10},
        ],
    })


def test_engine_args_from_scratch_and_continuing():
    setup = TrainingSetup(catalog=_catalog())
    setup.epochs, setup.seed, setup.name = 3, 7, " mine "
    setup.activate, setup.device = ActivatePolicy.ALWAYS, DeviceChoice.CPU
    args = setup.engine_args("sqlite:///x.db", config_file="/tmp/c.json")
    assert args[:3] == ["train", "--db", "sqlite:///x.db"] and "--json-progress" in args
    joined = " ".join(args)
    for part in ("--recipe cpu-quick", "--epochs 3", "--seed 7", "--name mine", "--activate always", "--device cpu",
                 "--config /tmp/c.json"):
        assert part in joined
    cont = setup.engine_args("u", from_model="mmss-v1")
    assert "--from-model mmss-v1" in " ".join(cont) and "--recipe" not in cont


def test_overrides_are_typed_and_architecture_is_fixed_when_continuing():
    setup = TrainingSetup(catalog=_catalog())
    setup.set_override("hidden", "32")
    setup.set_override("lr_rest", "3e-3")
    setup.set_override("margin_mode", "adaptive")
    setup.set_override("drop_subtasks", ["p_v r_v"])
    assert setup.overrides == {"hidden": 32, "lr_rest": 0.003, "margin_mode": "adaptive", "drop_subtasks": ["p_v r_v"]}
    with pytest.raises(ValueError, match="hidden: expected a whole number"):
        setup.set_override("hidden", "3.5")
    with pytest.raises(ValueError, match="margin_mode"):
        setup.set_override("margin_mode", "huge")
    setup.set_override("hidden", 64)  # the recipe's own value: no longer an override
    assert "hidden" not in setup.overrides
    setup.set_override("hidden", 32)
    assert setup.config_overrides(continuing=True) == {"lr_rest": 0.003, "margin_mode": "adaptive"}
    assert setup.value("hidden") == 32 and setup.value("hidden", {"hidden": 16}) == 32
    setup.clear_override("hidden")
    assert setup.value("hidden") == 64 and setup.base_value("hidden", {"hidden": 16}) == 16


def test_field_specs_check_values():
    assert FieldSpec("x", "bool", True).coerce("false") is False
    assert FieldSpec("x", "float", 1.0).coerce(2) == 2.0
    with pytest.raises(ValueError):
        FieldSpec("x", "float", 1.0).coerce("nan")
    with pytest.raises(ValueError):
        FieldSpec("x", "str", "a").coerce("  ")


def test_estimate_uses_the_last_comparable_run_else_a_rough_rate():
    past = [PastRun(100.0, 4, True), PastRun(900.0, 2, False)]
    seconds, source = estimate_seconds(8, 200, True, "cpu-quick", past)
    assert seconds == pytest.approx(200.0) and "last run" in source
    seconds, source = estimate_seconds(8, 200, True, "cpu-quick", [])
    assert seconds > 0 and source.startswith("rough")
    assert estimate_seconds(8, 0, True, "cpu-quick")[0] is None
    assert format_duration(75) == "1:15" and format_duration(3725) == "1:02:05" and format_duration(None) == ""


def test_the_engines_recipe_report_parses_into_a_catalog():
    """`python -m engine recipes --json` output (computed in-process here) is what the GUI reads."""
    from engine.cli.recipes import recipes_report

    catalog = RecipeCatalog.from_json(json.loads(json.dumps(recipes_report())))
    assert {"cpu-quick", "gpu-full"} <= set(catalog.recipes)
    names = [f.name for f in catalog.fields]
    assert {"hidden", "lr_rest", "margin_mode", "drop_subtasks", "text_finetune_layers"} <= set(names)
    assert catalog.spec("margin_mode").kind == "choice" and catalog.spec("drop_subtasks").kind == "subset"
    assert catalog.spec("hidden").doc.startswith("d, the width")
    assert catalog.recipe_value("cpu-quick", "hidden") == 64 and catalog.recipe_value("gpu-full", "hidden") == 128
    assert BUILTIN_CATALOG.recipes.keys() == catalog.recipes.keys()


def test_when_continuing_the_gui_offers_what_the_engine_lets_a_fine_tune_change():
    """One definition of the architecture (engine.config): the fields the GUI locks when a run
    continues from a model are those ``train --from-model`` refuses to change."""
    from engine.cli.recipes import recipes_report
    from engine.config import ARCHITECTURE_FIELDS

    setup = TrainingSetup(catalog=RecipeCatalog.from_json(recipes_report()))
    names = {f.name for f in setup.catalog.fields}
    locked = {n for n in names if not setup.editable(n, continuing=True)}
    assert locked == ARCHITECTURE_FIELDS | ({"epochs", "seed"} & names)  # epochs, seed: their own controls
    assert {n for n in names if not setup.editable(n, continuing=False)} == {"epochs", "seed"}


def test_an_unknown_or_malformed_engine_event_is_shown_as_an_error():
    from gui.training.state import RunStatus, TrainingRunState

    state = TrainingRunState()
    state.begin("python -m engine train")
    assert state.apply_line('{"event": "stpe", "epoch": 1}') is None
    assert state.apply_line('{"event": "step", "epoch": 1, "step": 1, "loss": 0.3}') is None  # no "steps"
    errors = [line for line in state.log if line.startswith("error: engine protocol")]
    assert len(errors) == 2 and "unknown event 'stpe'" in errors[0] and "'steps'" in errors[1]
    assert state.steps == []
    assert state.finish(1, "") is RunStatus.FAILED
    assert "unknown event 'stpe'" in state.error
