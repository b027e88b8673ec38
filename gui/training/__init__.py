"""The training panel: retrain MM-SS from the app in an engine subprocess (issue 7).

Qt-free state (:mod:`.state`, :mod:`.setup`, :mod:`.scoring_state`) parses the engine's
JSON progress lines; :mod:`.process` runs ``python -m engine ...`` in a ``QProcess`` (never
in the GUI process); the ``qt_*`` modules are the panel's controls, one per file.
"""
