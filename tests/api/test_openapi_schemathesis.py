"""The API against its own OpenAPI document (schemathesis, a fixed number of examples).

For each operation, schemathesis generates requests from the document (valid bodies and
invalid ones), sends them with a valid token, and checks that the API never fails with a
server error and answers with a documented status code, content type and body.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import bearer


@pytest.fixture
def api_schema(app, session):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_conforms_to_its_openapi_document(case, token):  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers=bearer(token()),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
