"""Top-level test settings: headless Qt and an offline Hugging Face hub for every test."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import signal  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Engine commands run in-process by tests install their SIGTERM/SIGINT stop handlers
    (engine/jobs/train.py install_stop_handlers); put the test runner's back afterwards, so a
    stuck suite still stops on SIGTERM and Ctrl+C."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        if signal.getsignal(sig) is not handler and handler is not None:
            signal.signal(sig, handler)
