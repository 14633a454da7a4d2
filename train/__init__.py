"""Offline training scripts (not part of the served package)."""
