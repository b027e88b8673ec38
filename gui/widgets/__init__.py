"""Qt widgets: one control per file, each binding a state object or a model to the screen."""
from .. import qt_compat  # noqa: F401  (before any call into Qt: see the module)
