"""Helpers shared by several test folders (importable as ``helpers``: pytest puts tests/ on
sys.path through tests/conftest.py)."""
