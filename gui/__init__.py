"""ReviewScope's desktop app (PySide6). Only this package knows Qt.

``gui.state`` holds Qt-free view state; ``gui.models`` the item models; ``gui.widgets``
one control per file; database work runs in workers through :class:`gui.store.Store`.
"""
