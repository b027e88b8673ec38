"""MM-SS model: config, text and vision feature extractors, layers and the model itself."""

from engine.model.config import SUBTASKS, TEXT_SUBTASKS, ImageSource, MarginMode, MMSSConfig
from engine.model.batch import MMSSBatch, ReviewExample, collate, pad_regions, pad_states
from engine.model.mmss import MMSSModel, MMSSOutput
from engine.model.text import TextEncoder, encoder_identity

__all__ = [
    "SUBTASKS",
    "TEXT_SUBTASKS",
    "ImageSource",
    "MarginMode",
    "MMSSConfig",
    "MMSSBatch",
    "MMSSModel",
    "MMSSOutput",
    "ReviewExample",
    "collate",
    "pad_regions",
    "pad_states",
    "TextEncoder",
    "encoder_identity",
]
