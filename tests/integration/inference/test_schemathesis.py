"""schemathesis against the service's own OpenAPI document, over real HTTP: no 5xx, no schema violations."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import require_tool

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "unsupported_method",
    ]
)


def test_the_api_conforms_to_its_openapi_document(server, tmp_path):
    # From the test tools' own environment: schemathesis pins what it needs apart from the service's packages.
    command = [
        require_tool("schemathesis"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        "60",
        "--workers",
        "1",
        "--seed",
        "20261127",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "8 selected / 8 total" in result.stdout
