"""The models view: list model versions, compare two, activate, delete, export, import.

:mod:`.compare` and :mod:`.queries` are Qt-free (plain functions, run in workers);
:mod:`.operations` starts the store jobs and engine commands; ``qt_*`` are the controls.
"""
