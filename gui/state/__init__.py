"""Qt-free view state: plain evented objects that widgets bind to (see STYLE.md)."""
from .app_state import UNKNOWN_DEVICE, AppState, device_from_card
from .disagreement_queue import DisagreementQueueState
from .evented import EventedState, EventEmitter, evented
from .flag_draft import FlagDraft
from .product_list import ProductListState
from storage.ranking import DisagreementMode, RankInfo, RankInput, correction_kind, find_disagreements, rank_product
from .review_table import ReviewQuery, ReviewTableState

__all__ = [
    "AppState", "UNKNOWN_DEVICE", "device_from_card", "DisagreementQueueState", "EventedState", "EventEmitter",
    "evented", "FlagDraft", "ProductListState", "DisagreementMode", "RankInfo", "RankInput", "correction_kind",
    "find_disagreements", "rank_product", "ReviewQuery", "ReviewTableState",
]
