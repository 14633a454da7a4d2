"""The benchmark's tests measure the real pipeline over the QA service's small test index."""

from tests.qa_service.conftest import mini_index, mini_index_dir, mini_pipeline

__all__ = ["mini_index", "mini_index_dir", "mini_pipeline"]
