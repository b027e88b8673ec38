"""How long GUI tests wait for a condition before calling it a hang (milliseconds).

These are hang detectors, not budgets: a test waits on a condition (``qtbot.waitUntil``, a
signal) and passes as soon as it holds, so the numbers only bound how long a broken test
takes to fail. They are generous because a loaded 2-core machine can be many times slower
than an idle one.
"""
WAIT = 120_000
"""Database jobs, page loads, dialogs: seconds when idle."""

LONG_WAIT = 1_500_000
"""Engine processes (training, scoring, model import and export): tens of seconds when idle, and
several times that when other processes keep the cores busy."""
