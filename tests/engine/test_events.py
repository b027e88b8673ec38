"""The engine <-> app protocol (engine/events.py): what is valid, and what is refused."""
from __future__ import annotations

import pytest

from engine import events
from engine.events import ProtocolError, decode, encode


def test_train_and_score_events_decode_to_their_own_classes():
    start = decode("train", {"event": "start", "stage": "train", "elapsed": 0.1, "run_id": 7, "device": "cpu",
                             "config": {"epochs": 2}, "train_products": 3, "dev_products": 1, "parent": None})
    assert start == events.TrainStart(7, "cpu", {"epochs": 2}, 3, 1, None)
    assert decode("score", {"event": "start", "model": "m", "reviews": 5, "device": "cpu"}) == events.ScoreStart("m", 5, "cpu")
    # the same kind means another event for another command
    assert isinstance(decode("score", {"event": "done", "model": "m", "scored": 5, "seconds": 1}), events.ScoreDone)
    stage = decode("train", {"event": "stage", "stage": "evaluate", "message": "dev and test"})
    assert stage == events.Stage("evaluate", "dev and test")  # "stage" is a field here, not the envelope


def test_integers_are_accepted_as_floats_and_newer_fields_are_ignored():
    step = decode("train", {"event": "step", "epoch": 1, "step": 2, "steps": 4, "loss": 1, "future_field": "x"})
    assert step.loss == 1.0 and isinstance(step.loss, float) and step.samples_per_s is None


@pytest.mark.parametrize("obj, message", [
    ({"event": "hello"}, r"unknown event 'hello'"),
    ({"event": "step", "epoch": 1, "step": 2, "loss": 0.5}, r"lacks its field 'steps'"),
    ({"event": "step", "epoch": "1", "step": 2, "steps": 3, "loss": 0.5}, r"field 'epoch' is '1', not int"),
    ({"event": "done", "model": "m", "model_version_id": 1, "metrics": {}, "checkpoint": "c", "activated": "yes"},
     r"field 'activated'"),
    (["not", "an", "object"], r"not a JSON object"),
])
def test_malformed_events_are_refused_with_what_is_wrong(obj, message):
    with pytest.raises(ProtocolError, match=message):
        decode("train", obj)


def test_the_engine_cannot_write_an_event_the_app_would_refuse():
    with pytest.raises(ProtocolError, match="lacks its field 'reviews'"):
        encode("score", "start", {"model": "m", "device": "cpu"})
    assert encode("score", "cancelled", {"scored": 3}) == events.ScoreCancelled(3)


def test_subtasks_and_exit_codes_have_one_definition():
    from engine.config import SUBTASKS

    assert SUBTASKS is events.SUBTASKS and len(SUBTASKS) == 5
    assert (events.EXIT_OK, events.EXIT_USER_ERROR, events.EXIT_CANCELLED) == (0, 2, 3)


def test_the_protocol_module_is_torch_free():
    import subprocess
    import sys

    code = "import sys, engine.events; print(sorted(m for m in ('torch', 'PySide6', 'sqlalchemy') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
