"""Qt item models (and proxies) over the plain records that storage returns."""
from .. import qt_compat  # noqa: F401  (before any call into Qt: see the module)
