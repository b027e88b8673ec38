"""Headless jobs behind ``reviewscope-engine`` (their commands: :mod:`engine.cli.jobs`):
``train``, ``score``, ``evaluate``, and ``models export`` / ``import`` (:mod:`.model_folders`).

Each job is a function that takes an open database and returns a result; it reports progress
through an ``on_event`` callback and never parses arguments or prints.
"""
