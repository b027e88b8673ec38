"""Every recorded audit action reads as words (no Qt needed): flags, undo and redo (new and
old rows), models, training, scoring, imports; unknown actions as a compact key: value list."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from gui.models.audit_text import ACTION_NAMES, _DETAILS, audit_line
from storage.records import AuditRecord

AT = dt.datetime(2024, 5, 1, 12, 0)
ROOT = Path(__file__).resolve().parents[2]


def rec(action, details=None, kind="review", target="7", **resolved) -> AuditRecord:
    return AuditRecord(1, AT, "ana", action, kind, target, details or {}, **resolved)


REVIEW = {"review_id": "R1X3", "product_id": "P-9", "product_title": "Kettle"}


def test_every_action_the_code_records_has_words():
    recorded = set()
    for folder in ("storage", "engine", "gui"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            recorded |= set(re.findall(r"record_audit\(\s*[^,]+,\s*[^,]+,\s*\"([\w.]+)\"", text))
            if "f\"train.{status}\"" in text:
                recorded |= {"train.succeeded", "train.failed", "train.cancelled", "train.interrupted"}
    recorded |= {"flag.undo", "flag.redo"}  # chosen by a conditional expression in flags.py
    assert recorded >= {"flag.add", "flag.edit", "model.register", "score", "import", "train.start"}
    assert recorded <= set(ACTION_NAMES)
    assert set(_DETAILS) == set(ACTION_NAMES)


@pytest.mark.parametrize("record, action, target, details", [
    (rec("flag.add", {"flag_id": 3, "kind": "spam", "corrected_label": 1, "note": "buy\nnow", "model_version_id": 2},
         **REVIEW), "Flag", "R1X3 \u00b7 Kettle", "flag 'spam' (corrected label 1) note: buy now"),
    (rec("flag.undo", {"flag_id": 3, "kind": "spam", "corrected_label": None}, **REVIEW),
     "Undo", "R1X3 \u00b7 Kettle", "undo of: flag 'spam'"),
    # an old row: only the flag id; the flag's kind and label come from the flag as it is now
    (rec("flag.redo", {"flag_id": 3}, flag_kind="off-topic", flag_corrected_label=0, **REVIEW),
     "Redo", "R1X3 \u00b7 Kettle", "redo of: flag 'off-topic' (corrected label 0)"),
    (rec("flag.undo", {"flag_id": 3}), "Undo", "review #7 (deleted)", "undo of: flag #3"),
    # disputed sub-scores (flag_interactions): which interaction, which way
    (rec("flag.add", {"flag_id": 3, "kind": "sub-score wrong", "corrected_label": None, "note": "",
                      "interactions": {"p_t r_t": "too_high"}}, **REVIEW),
     "Flag", "R1X3 \u00b7 Kettle", "flag 'sub-score wrong'; disputed p_t r_t as too high"),
    (rec("flag.edit", {"flag_id": 3, "before": {"kind": "spam", "corrected_label": 2, "note": "",
                                                "interactions": {"p_t r_t": "too_high"}},
                       "after": {"kind": "spam", "corrected_label": 2, "note": "",
                                 "interactions": {"p_t r_t": "too_low", "r_t r_v": "too_high"}}}, **REVIEW),
     "Edit flag", "R1X3 \u00b7 Kettle", "disputed p_t r_t as too low (was too high), disputed r_t r_v as too high"),
    (rec("flag.edit", {"flag_id": 3, "undo": True,
                       "before": {"kind": "spam", "corrected_label": None, "note": "", "interactions": {"p_v r_v": "too_low"}},
                       "after": {"kind": "spam", "corrected_label": None, "note": "", "interactions": {}}}, **REVIEW),
     "Undo", "R1X3 \u00b7 Kettle", "undo of: disputed p_v r_v as too low"),
    (rec("flag.edit", {"flag_id": 3, "before": {"kind": "spam", "corrected_label": None, "note": "",
                                                "interactions": {"p_v r_v": "too_low"}},
                       "after": {"kind": "spam", "corrected_label": None, "note": "", "interactions": {}}}, **REVIEW),
     "Edit flag", "R1X3 \u00b7 Kettle", "cleared the dispute of p_v r_v (was too low)"),
    (rec("flag.undo", {"flag_id": 3, "kind": "sub-score wrong", "corrected_label": None,
                       "interactions": {"r_t r_v": "too_low"}}, **REVIEW),
     "Undo", "R1X3 \u00b7 Kettle", "undo of: flag 'sub-score wrong' (disputed r_t r_v as too low)"),
    (rec("flag.edit", {"flag_id": 3, "before": {"kind": "spam", "corrected_label": 2, "note": ""},
                       "after": {"kind": "spam", "corrected_label": 3, "note": ""}}, **REVIEW),
     "Edit flag", "R1X3 \u00b7 Kettle", "label 2 \u2192 3"),
    (rec("flag.edit", {"flag_id": 3, "undo": True, "before": {"kind": "spam", "corrected_label": 3, "note": ""},
                       "after": {"kind": "spam", "corrected_label": 2, "note": ""}}, **REVIEW),
     "Undo", "R1X3 \u00b7 Kettle", "undo of: label 2 \u2192 3"),
    (rec("flag.edit", {"flag_id": 3, "redo": True, "before": {"kind": "spam", "corrected_label": None, "note": "a"},
                       "after": {"kind": "other", "corrected_label": 4, "note": "b"}}, **REVIEW),
     "Redo", "R1X3 \u00b7 Kettle", "redo of: kind 'spam' \u2192 'other', label none \u2192 4, note 'a' \u2192 'b'"),
    (rec("flag.edit", {"flag_id": 3, "before": {"kind": "spam", "corrected_label": 2, "note": ""}},
         review_id="R1", product_id="P-3", product_title=""),
     "Edit flag", "R1 \u00b7 P-3", "changed flag 'spam' (corrected label 2)"),
    (rec("flag_kind.rename", {"from": "spam", "to": "advert", "flags": 12}, kind="flag_kind", target="5"),
     "Rename flag kind", "flag kinds", "'spam' \u2192 'advert' (12 flags renamed)"),
    (rec("flag_kind.retire", {"name": "advert", "flags": 12}, kind="flag_kind", target="5"),
     "Retire flag kind", "flag kinds", "retired 'advert'; its 12 flags keep it"),
    (rec("model.register", {"name": "v3", "parent_id": 2}, kind="model", target="3", model_names={3: "v3", 2: "v2"}),
     "Register model", "model v3", "v3, trained from v2"),
    (rec("model.activate", {}, kind="model", target="3", model_names={3: "v3"}),
     "Activate model", "model v3", "v3 is now the active model"),
    (rec("model.delete", {"name": "v3"}, kind="model", target="3"), "Delete model", "model v3", "deleted v3"),
    (rec("score", {"reviews": 12000, "seconds": 3.25}, kind="model", target="3", model_names={3: "v3"}),
     "Score", "model v3", "12,000 reviews scored in 3.2 s"),
    (rec("import", {"format": "jsonl", "files": ["a"], "products_added": 3, "products_updated": 0, "reviews_added": 120,
                    "reviews_updated": 1, "images": 4, "images_added": 2}, kind="catalogue", target="/data/sample"),
     "Import", "catalogue sample",
     "JSONL; products: 3 added, 0 updated; reviews: 120 added, 1 updated; images: 2 new of 4"),
    (rec("train.start", {"parent_model_id": 2, "host": "box", "pid": 9}, kind="training_run", target="5",
         model_names={2: "v2"}), "Start training", "training run #5", "from v2 on box"),
    (rec("train.succeeded", {"model_version_id": 3}, kind="training_run", target="5", model_names={3: "v3"}),
     "Training succeeded", "training run #5", "made model v3"),
    (rec("train.cancelled", {"model_version_id": None}, kind="training_run", target="5"),
     "Training cancelled", "training run #5", "no model registered"),
    (rec("train.interrupted", {"reason": "stale"}, kind="training_run", target="5"),
     "Training interrupted", "training run #5", "its trainer stopped without finishing (killed or crashed)"),
    (rec("flag.bulk", {"count": 1234, "created": 1178, "edited": 56, "kind": "spam", "corrected_label": "kept",
                       "note": "ads", "scope": "the filter", "flags": [[1, 1234]]}, kind="reviews", target="1234"),
     "Bulk flag", "1,234 reviews", "flag 'spam' (corrected labels kept) note: ads on 1,234 reviews: 1,178 new, 56 edited"),
    (rec("flag.bulk", {"undo": True, "count": 3, "kind": "spam", "corrected_label": 2, "note": None, "conflicts": 1},
         kind="reviews", target="3"),
     "Undo", "3 reviews", "undo of: flag 'spam' (corrected label 2) on 3 reviews; 1 changed by someone else since, "
                          "left as they were"),
    (rec("flag.bulk", {"redo": True, "count": 3, "kind": "spam", "corrected_label": None}, kind="reviews", target="3"),
     "Redo", "3 reviews", "redo of: flag 'spam' on 3 reviews"),
    (rec("queue.bulk_label", {"n": 4, "label": 2, "ids": [1, 2]}, kind="", target=""),
     "queue.bulk_label", "", "ids: [1, 2], label: 2, n: 4"),
])
def test_each_event_reads_as_words(record, action, target, details):
    line = audit_line(record)
    assert (line.action, line.target, line.details) == (action, target, details)
    assert line.when == "2024-05-01 12:00" and line.who == "ana"
    assert '"' in line.details_tip or record.details == {}  # the JSON, for whoever needs it


def test_details_of_an_unexpected_shape_still_read():
    line = audit_line(rec("flag.edit", {"flag_id": 3, "before": "oops", "after": 5}))
    assert line.action == "Edit flag" and "flag_id: 3" in line.details
