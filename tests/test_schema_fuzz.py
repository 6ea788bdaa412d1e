"""Property-based fuzz of the OpenAPI schema: no 5xx, and every response matches what the schema says."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import RunningServer, running, torch_test_settings
from tests.support.waits import WAIT_S

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ENDLESS = {"/api/v1/media/jobs/events"}
"""Streams that never end by themselves (a fuzzer reading one would wait forever): tests/test_files_api.py."""


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, test_model_dir, test_engine) -> RunningServer:
    server = RunningServer(
        torch_test_settings(
            tmp_path_factory.mktemp("fuzz-media"),
            test_model_dir,
            max_text_chars=80,
            max_queued_jobs=1,
            max_upload_mb=1,
            wait_timeout_s=5,
        ),
        running(test_engine),
    )
    yield server
    server.stop()


def test_fuzzing_the_openapi_schema_finds_no_5xx_and_no_schema_violation(fuzz_server: RunningServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in ENDLESS]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fuzz_server.base_url, checks=CHECKS, timeout=WAIT_S)

        check()
