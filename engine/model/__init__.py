"""MM-SS model: text and vision feature extractors, layers and the model itself (its
configuration, torch-free, is :mod:`engine.config`)."""

from engine.model.batch import MMSSBatch, ReviewExample, collate, pad_regions, pad_states
from engine.model.mmss import MMSSModel, MMSSOutput
from engine.model.text import TextEncoder, encoder_identity

__all__ = [
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
