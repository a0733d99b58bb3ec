"""Schemathesis against /schema/openapi.json, in-process on the ASGI app: no 5xx, and every
error answers the envelope with the request id."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from schemathesis.python import asgi

from center_api.bootstrap.app import create_app

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def fuzz_app(make_settings) -> Iterator[Litestar]:
    # Generous limits: the fuzz is one client address sending hundreds of requests a minute.
    settings = make_settings(rate_limit={"per_address_per_minute": 1_000_000})
    yield create_app(settings)
    asgi.shutdown_lifespans()


def envelope_problem(response: Any) -> str | None:
    """Why ``response`` breaks the contract (a 5xx, or an error outside the envelope)."""
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:200]}"
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} without a JSON body"
    error = body.get("error") if isinstance(body, dict) else None
    if body.get("success") is not False or not isinstance(error, dict) or not error.get("code"):
        return f"{response.status_code} outside the envelope: {response.text[:200]}"
    echoed = response.headers.get("x-request-id") or response.headers.get("X-Request-ID")
    if isinstance(echoed, list):  # schemathesis keeps every value of a header
        echoed = echoed[0]
    if body.get("request_id") != echoed:
        return "request_id of the body differs from X-Request-ID"
    return None


def removebg_problem(response: Any) -> str | None:
    """The remove.bg-compatible routes answer errors in remove.bg's shape instead."""
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:200]}"
    if response.status_code < 400:
        return None
    errors = response.json().get("errors")
    if not (isinstance(errors, list) and errors and {"title", "detail", "code"} <= set(errors[0])):
        return f"{response.status_code} outside remove.bg's error shape: {response.text[:200]}"
    return None


def test_openapi_fuzz_finds_no_server_errors_and_only_enveloped_errors(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_app)
    calls, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            nonlocal calls
            response = case.call()
            calls += 1
            is_removebg = case.operation.path.startswith("/v1.0/")
            problem = (removebg_problem if is_removebg else envelope_problem)(response)
            if problem:
                failures.append(f"{case.operation.label}: {problem}")

        exercise()
    print(
        f"\nopenapi fuzz: {calls} requests over the schema's operations, {len(failures)} failures"
    )
    assert calls > 0
    assert failures == [], "\n".join(failures[:10])
