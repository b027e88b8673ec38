"""Repository functions that the GUI and the engine call, one module per concept.

Every function takes a :class:`~sqlalchemy.orm.Session` and never commits: the caller owns
the transaction (``with db.begin() as session: ...``). Results are plain dataclasses from
:mod:`storage.records`. Callers import this package (``from storage import repository as
repo``); the modules say where each concept lives:

- :mod:`.catalogue`: products and reviews, pages of the review table, the review detail, and
  the catalogue as training and scoring read it;
- :mod:`.flags`: moderators' flags (add, edit, undo, redo, export, resolution);
- :mod:`.disputes`: the sub-scores a flag disputes (too high / too low), counted per model and
  read by training;
- :mod:`.bulk_flags`: one flag given to many reviews at once, undone and redone as one;
- :mod:`.flag_kinds`: the kinds a flag may have (add, rename, retire, restore, reorder);
- :mod:`.model_versions`: registered models and the active one;
- :mod:`.predictions`: scores and sub-scores per model;
- :mod:`.ranks`: each scored review's place in its product per model, stored as scores are written;
- :mod:`.training_runs`: training runs and the stale ones of killed trainers;
- :mod:`.audit`: the audit log;
- :mod:`.search`: full-text search over every product's reviews.
"""
from __future__ import annotations

from ..errors import ConflictError, NotFoundError, StorageError  # noqa: F401  (raised by the functions)
from ..records import FLAG_KINDS, PredictionIn  # noqa: F401  (their arguments)
from .audit import (  # noqa: F401
    list_audit_events,
    record_audit,
)
from .bulk_flags import (  # noqa: F401
    bulk_apply_flags,
    bulk_flag_counts,
    bulk_redo_flags,
    bulk_undo_flags,
)
from .catalogue import (  # noqa: F401
    corrected_labels,
    count_reviews,
    count_reviews_among,
    get_product_pk,
    first_product_pk,
    product_titles,
    get_review_detail,
    list_categories,
    list_products,
    recount_products,
    load_catalogue,
    load_products,
    iter_reviews,
    page_reviews,
    page_reviews_among,
    product_rank_inputs,
    rank_inputs_by_product,
    review_pks_by_product,
    review_pks_matching,
    review_rows_by_pks,
)
from .summaries import catalogue_summary, training_data_summary  # noqa: F401
from .disputes import (  # noqa: F401
    check_disputes,
    dispute_counts,
    disputed_interactions,
)
from .flag_kinds import (  # noqa: F401
    BUILT_IN_KINDS,
    add_flag_kind,
    check_flag_kind,
    list_flag_kinds,
    move_flag_kind,
    rename_flag_kind,
    restore_flag_kind,
    retire_flag_kind,
)
from .flags import (  # noqa: F401
    active_flag,
    add_flag,
    edit_flag,
    export_flags_rows,
    flag_resolutions,
    get_flag,
    list_flags,
    redo_flag,
    resolve_flags,
    undo_flag,
)
from .model_versions import (  # noqa: F401
    activate_model,
    delete_model_version,
    get_active_model,
    get_model_version,
    list_model_versions,
    previous_model_version,
    register_model_version,
    update_model_metrics,
)
from .fingerprints import product_fingerprints, review_ids_by_pk  # noqa: F401
from .predictions import (  # noqa: F401
    PAIRED_COLUMNS,
    paired_predictions,
    paired_predictions_stamp,
    count_missing_predictions,
    prediction_counts,
    product_subscores,
    score_parts,
    score_parts_by_pks,
    review_pks_missing_prediction,
    scores_by_product,
    iter_scores_by_product,
    write_predictions,
)
from .ranks import (  # noqa: F401
    disagreement_pks,
    product_pks_of_reviews,
    refresh_ranks,
    stored_context,
    stored_score_page,
    stored_disagreements,
)
from .search import catch_up_search_index, parse_search, search_backlog, search_reviews  # noqa: F401
from .training_runs import (  # noqa: F401
    finish_training_run,
    list_training_epochs,
    list_training_runs,
    mark_stale_runs,
    record_training_epoch,
    start_training_run,
)

__all__ = [
    "ConflictError", "NotFoundError", "StorageError", "FLAG_KINDS", "PredictionIn",
    "record_audit",
    "list_audit_events",
    "list_categories",
    "list_products",
    "recount_products",
    "get_product_pk", "first_product_pk", "product_titles",
    "count_reviews",
    "page_reviews",
    "iter_reviews",
    "get_review_detail",
    "product_rank_inputs",
    "rank_inputs_by_product",
    "review_rows_by_pks",
    "page_reviews_among",
    "count_reviews_among",
    "review_pks_matching",
    "corrected_labels",
    "load_catalogue",
    "catalogue_summary",
    "training_data_summary",
    "review_pks_by_product",
    "load_products",
    "add_flag",
    "undo_flag",
    "redo_flag",
    "edit_flag",
    "list_flags",
    "export_flags_rows",
    "resolve_flags",
    "get_flag",
    "active_flag",
    "bulk_flag_counts",
    "bulk_apply_flags",
    "bulk_undo_flags",
    "bulk_redo_flags",
    "flag_resolutions",
    "check_disputes",
    "dispute_counts",
    "disputed_interactions",
    "BUILT_IN_KINDS",
    "list_flag_kinds",
    "add_flag_kind",
    "rename_flag_kind",
    "retire_flag_kind",
    "restore_flag_kind",
    "move_flag_kind",
    "check_flag_kind",
    "register_model_version",
    "list_model_versions",
    "get_model_version",
    "get_active_model",
    "activate_model",
    "delete_model_version",
    "update_model_metrics",
    "previous_model_version",
    "write_predictions",
    "review_pks_missing_prediction",
    "count_missing_predictions",
    "scores_by_product",
    "iter_scores_by_product",
    "product_pks_of_reviews",
    "refresh_ranks",
    "stored_disagreements",
    "stored_context",
    "stored_score_page",
    "disagreement_pks",
    "prediction_counts",
    "product_fingerprints",
    "review_ids_by_pk",
    "score_parts",
    "score_parts_by_pks",
    "product_subscores",
    "start_training_run",
    "record_training_epoch",
    "list_training_epochs",
    "finish_training_run",
    "list_training_runs",
    "mark_stale_runs",
    "parse_search",
    "search_reviews",
    "search_backlog",
    "catch_up_search_index",
]
