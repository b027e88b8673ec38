"""Top-level test settings: headless Qt and an offline Hugging Face hub for every test."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
