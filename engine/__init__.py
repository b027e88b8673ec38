"""ReviewScope engine: the MM-SS model, SSP-Label, losses, metrics and checkpoints.

Pure PyTorch + transformers. Nothing here imports Qt, storage or a database layer;
only :mod:`engine.checkpoint` touches files.
"""

__version__ = "0.1.0"
