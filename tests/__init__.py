"""Test suite of guideline-qa (a package so that tests/ingest never shadows the ingest package)."""
