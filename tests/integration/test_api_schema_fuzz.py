"""Schemathesis over the service's OpenAPI schema, on loopback: no 5xx, and every 2xx reply fits its schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency: pip install -e '.[dev]'")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from qa_service.app import create_app  # noqa: E402
from qa_service.settings import Settings  # noqa: E402
from tests.fakes.service import serve  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_schema(mini_pipeline: Any) -> Iterator[Any]:
    """The schema of a real pipeline's app (hash-embedded mini index) served by uvicorn on loopback."""
    with serve(create_app(Settings(), pipeline=mini_pipeline)) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_no_input_makes_the_service_fail_and_every_success_fits_its_schema(api_schema: Any) -> None:
    # Hypothesis drives each operation directly (schemathesis's pytest plugin does not load under this pytest).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(timeout=30)
            case.validate_response(response, checks=[not_a_server_error])
            if 200 <= response.status_code < 300 and "json" in response.headers.get("content-type", [""])[0]:
                case.validate_response(response, checks=[response_schema_conformance])

        check()
