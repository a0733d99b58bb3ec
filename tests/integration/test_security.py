"""Auth modes, API keys, roles, rate limits, quotas, security headers, CORS, log redaction."""

import asyncio
import json
import time
import uuid

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from center_api.auth.key_store import ApiKeyStore, KeySpec
from center_api.auth.rate_limit import MemoryRateLimitStore, RateLimiter
from center_api.auth.rate_limit_redis import RedisRateLimitStore
from center_api.bootstrap.app import create_app
from center_api.bootstrap.cli.main import cli
from center_api.core.logging import get_logger
from center_api.db.config import build_db_config
from center_api.testing.cluster import free_port
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.support.services import redis_url

SEGMENT = "/api/v1/cutout/segment"
USAGE = "/api/v1/tools/usage"
STATS = "/api/v1/tools/stats"
PNG = encode_png(subject_on_background((480, 360))[0])  # 0.1728 MP


def make_key(settings, **spec):
    """Create a key in the test database; return (id, token)."""

    async def create():
        config = build_db_config(settings.database)
        try:
            row, token = await ApiKeyStore(config).create(KeySpec(**spec))
            return str(row.id), token
        finally:
            await config.get_engine().dispose()

    return asyncio.run(create())


def revoke_key(settings, ident):
    async def revoke():
        config = build_db_config(settings.database)
        try:
            return await ApiKeyStore(config).revoke(ident)
        finally:
            await config.get_engine().dispose()

    return asyncio.run(revoke())


@pytest.fixture
def keyed(make_settings):
    """api_key mode with an admin and a user key."""
    settings = make_settings(auth={"mode": "api_key"}, usage={"flush_interval_s": 0.05})
    admin = make_key(settings, name="ops", role="admin")
    user = make_key(settings, name="app", role="user")
    with TestClient(create_app(settings)) as client:
        yield client, settings, admin, user


def segment(client, token=None, data=PNG, header="X-API-Key"):
    headers = {}
    if token:
        headers = {header: token if header == "X-API-Key" else f"Bearer {token}"}
    return client.post(SEGMENT, files={"file": ("a.png", data, "image/png")}, headers=headers)


def test_open_mode_serves_anyone_with_security_and_rate_headers(client):
    response = client.get("/api/v1/tools")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-ratelimit-limit"] == "600"
    assert response.headers["x-ratelimit-remaining"] == "599"
    assert 1 <= int(response.headers["x-ratelimit-reset"]) <= 60
    assert client.get(USAGE).status_code == 200  # open mode: everyone is admin
    schema_ui = client.get("/schema")
    assert schema_ui.status_code == 200
    assert "content-security-policy" not in schema_ui.headers
    assert schema_ui.headers["x-content-type-options"] == "nosniff"
    error = client.get("/nowhere")
    assert error.headers["x-frame-options"] == "DENY"


def test_api_key_mode_without_a_key_is_401(keyed):
    client, *_ = keyed
    response = segment(client)
    assert_error(response, 401, "AUTHENTICATION_ERROR")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert_error(client.get("/api/v1/tasks"), 401, "AUTHENTICATION_ERROR")


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "ck_0123456789ab_" + "A" * 43,  # well-formed, unknown prefix
    ],
)
def test_unknown_or_malformed_key_is_401(keyed, token):
    client, *_ = keyed
    assert_error(segment(client, token), 401, "AUTHENTICATION_ERROR")


def test_right_prefix_wrong_secret_is_401(keyed):
    client, _, _, (_, user_token) = keyed
    forged = user_token[: len("ck_") + 13] + "B" * 43
    assert_error(segment(client, forged), 401, "AUTHENTICATION_ERROR")


def test_revoked_key_is_401_on_the_next_request(keyed):
    client, settings, _, (user_id, user_token) = keyed
    assert client.get("/api/v1/tools", headers={"X-API-Key": user_token}).status_code == 200
    assert revoke_key(settings, user_id)
    response = client.get("/api/v1/tools", headers={"X-API-Key": user_token})
    assert_error(response, 401, "AUTHENTICATION_ERROR")


def test_bearer_is_an_alias_of_x_api_key(keyed):
    client, _, _, (_, user_token) = keyed
    response = segment(client, user_token, header="Authorization")
    assert response.status_code == 200, response.text
    assert response.headers["x-ratelimit-limit"] == "600"


def test_user_key_on_usage_and_stats_is_403_admin_key_is_200(keyed):
    client, _, (_, admin_token), (_, user_token) = keyed
    for path in (USAGE, STATS):
        user = client.get(path, headers={"X-API-Key": user_token})
        assert_error(user, 403, "AUTHORIZATION_ERROR")
        assert user.headers["x-content-type-options"] == "nosniff"
        assert client.get(path, headers={"X-API-Key": admin_token}).status_code == 200


def test_health_live_and_schema_stay_open(keyed):
    client, *_ = keyed
    for path in ("/api/v1/health", "/api/v1/health/live", "/schema/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert "x-ratelimit-limit" not in response.headers


def test_metrics_need_an_admin_key_unless_made_public(keyed, make_settings):
    client, _, (_, admin_token), (_, user_token) = keyed
    assert_error(client.get("/metrics"), 401, "AUTHENTICATION_ERROR")
    assert_error(
        client.get("/metrics", headers={"X-API-Key": user_token}), 403, "AUTHORIZATION_ERROR"
    )
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"})
    assert scraped.status_code == 200 and "http_requests_total" in scraped.text
    public = make_settings(auth={"mode": "api_key", "public_metrics": True})
    with TestClient(create_app(public)) as open_client:
        assert open_client.get("/metrics").status_code == 200


def test_usage_rows_carry_the_key_id_as_caller(keyed):
    client, _, (_, admin_token), (user_id, user_token) = keyed
    assert segment(client, user_token).status_code == 200
    deadline = time.monotonic() + 5
    rows: list = []
    while not rows and time.monotonic() < deadline:
        time.sleep(0.1)
        page = client.get(USAGE, headers={"X-API-Key": admin_token}, params={"caller": user_id})
        rows = page.json()["items"]
    assert [row["caller"] for row in rows] == [user_id]


def test_per_key_rate_limit_answers_429_with_retry_after(make_settings):
    settings = make_settings(auth={"mode": "api_key"})
    _, token = make_key(settings, name="slow", rate_per_minute=3)
    with TestClient(create_app(settings)) as client:
        headers = {"X-API-Key": token}
        remaining = [
            client.get("/api/v1/tools", headers=headers).headers["x-ratelimit-remaining"]
            for _ in range(3)
        ]
        assert remaining == ["2", "1", "0"]
        limited = client.get("/api/v1/tools", headers=headers)
        body = assert_error(limited, 429, "RATE_LIMITED")
        assert body["error"]["details"]["limit"] == 3
        assert limited.headers["x-ratelimit-limit"] == "3"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["retry-after"] == limited.headers["x-ratelimit-reset"]
        # Another key has its own window.
        _, other = make_key(settings, name="other")
        assert client.get("/api/v1/tools", headers={"X-API-Key": other}).status_code == 200


def test_per_address_rate_limit_in_open_mode(make_settings):
    settings = make_settings(rate_limit={"per_address_per_minute": 2})
    with TestClient(create_app(settings)) as client:
        assert [client.get("/api/v1/tools").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/api/v1/tools")
        assert_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/api/v1/health/live").status_code == 200  # never limited


def test_failed_key_guesses_are_rate_limited_per_address(make_settings):
    settings = make_settings(auth={"mode": "api_key"}, rate_limit={"per_address_per_minute": 3})
    with TestClient(create_app(settings)) as client:
        bad = {"X-API-Key": "ck_0123456789ab_" + "A" * 43}
        codes = [client.get("/api/v1/tools", headers=bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def test_rate_limit_window_resets():
    now = [1000.0]
    limiter = RateLimiter(MemoryRateLimitStore(clock=lambda: now[0]))

    async def scenario():
        first = [await limiter.check("k", 2) for _ in range(3)]
        now[0] += 60
        return first, await limiter.check("k", 2)

    first, after = asyncio.run(scenario())
    assert [d.is_allowed for d in first] == [True, True, False]
    assert after.is_allowed and after.remaining == 1


def test_api_processes_on_one_redis_share_rate_limit_counts(make_settings):
    queue = {"url": redis_url(), "name": f"test-{uuid.uuid4().hex[:12]}"}
    settings = make_settings(queue=queue, rate_limit={"per_address_per_minute": 4})
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        first = one.get("/api/v1/tools")
        reset = int(first.headers["x-ratelimit-reset"])
        if reset < 5:  # the five calls must fall in one window: wait for the next one
            time.sleep(reset + 0.2)
            first = one.get("/api/v1/tools")
        rest = [client.get("/api/v1/tools") for client in (two, one, two, one)]
        assert [r.status_code for r in (first, *rest)] == [200, 200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in rest[:3]] == ["2", "1", "0"]


def test_rate_limits_count_in_process_while_redis_is_unreachable():
    store = RedisRateLimitStore(f"redis://127.0.0.1:{free_port()}/0", "test")
    limiter = RateLimiter(store)

    async def scenario():
        try:
            return [await limiter.check("k", 2) for _ in range(3)]
        finally:
            await store.close()

    assert [d.is_allowed for d in asyncio.run(scenario())] == [True, True, False]


def test_call_quota_counts_successes_only_then_402(make_settings):
    settings = make_settings(auth={"mode": "api_key"})
    _, token = make_key(settings, name="trial", quota_calls=2)
    with TestClient(create_app(settings)) as client:
        assert_error(segment(client, token, data=b"not an image"), 422, "INVALID_IMAGE")
        assert segment(client, token).status_code == 200
        assert segment(client, token).status_code == 200
        body = assert_error(segment(client, token), 402, "INSUFFICIENT_QUOTA")
        assert body["error"]["details"]["used_calls"] == 2
        assert body["error"]["details"]["quota_calls"] == 2
        assert body["error"]["details"]["remaining_calls"] == 0
        # Reading the catalog is not a call; the key still works for it.
        assert client.get("/api/v1/tools", headers={"X-API-Key": token}).status_code == 200


def test_megapixel_quota_refuses_an_image_larger_than_what_is_left(make_settings):
    settings = make_settings(auth={"mode": "api_key"})
    _, token = make_key(settings, name="mp", quota_megapixels=0.3)
    small = encode_png(subject_on_background((200, 100))[0])  # 0.02 MP
    with TestClient(create_app(settings)) as client:
        assert segment(client, token).status_code == 200  # 0.1728 MP
        body = assert_error(segment(client, token), 402, "INSUFFICIENT_QUOTA")  # would be 0.3456
        details = body["error"]["details"]
        assert details["used_megapixels"] == pytest.approx(0.1728)
        assert details["remaining_megapixels"] == pytest.approx(0.1272)
        assert details["requested_megapixels"] == pytest.approx(0.1728)
        assert segment(client, token, data=small).status_code == 200  # fits what is left


def test_cors_is_off_by_default_and_follows_config(client, make_settings):
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    plain = client.get("/api/v1/tools", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in plain.headers
    settings = make_settings(
        auth={"mode": "api_key"},
        cors={"enabled": True, "allow_origins": ["https://app.example"]},
    )
    with TestClient(create_app(settings)) as cors_client:
        answer = cors_client.options(SEGMENT, headers=preflight)
        assert answer.status_code in (200, 204)
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-api-key" in answer.headers["access-control-allow-headers"].lower()


def test_logs_never_show_key_secrets_or_bearer_tokens(capfd, make_settings):
    settings = make_settings(auth={"mode": "api_key"})
    _, token = make_key(settings, name="logged")
    secret = token.split("_", 2)[2]
    with TestClient(create_app(settings)) as client:
        get_logger("center_api.test").info(
            "probe", note=f"client sent {token}", headers={"Authorization": f"Bearer {token}"}
        )
        client.get("/api/v1/tools", headers={"X-API-Key": token})
        client.get("/api/v1/tools", headers={"Authorization": f"Bearer {token}x"})
    err = capfd.readouterr().err
    assert "probe" in err and "[REDACTED]" in err
    assert secret not in err


def test_open_mode_beyond_loopback_warns_loudly(make_settings, capfd):
    settings = make_settings(server={"host": "0.0.0.0"})
    with TestClient(create_app(settings)):
        pass
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    warning = next(x for x in lines if x["event"] == "security.open_mode_exposed")
    assert warning["level"] == "warning" and "api_key" in warning["message"]


def test_cli_keys_create_list_revoke(tmp_path, model_dir, migrated_sqlite):
    import shutil

    shutil.copyfile(migrated_sqlite, tmp_path / "app.db")
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/app.db"\n')

    def run(*args):
        result = CliRunner().invoke(cli, ["--config", str(config), "keys", *args])
        assert result.exit_code == 0, result.output
        return result.output

    created = run("create", "--name", "ci", "--role", "admin", "--quota", "10", "--rate", "5/min")
    token = created.strip().splitlines()[-1]
    prefix = token.split("_")[1]
    assert token.startswith("ck_") and prefix in created
    listing = run("list")
    assert prefix in listing and "admin" in listing and "active" in listing
    assert token.split("_", 2)[2] not in listing
    run("revoke", prefix)
    assert "revoked" in run("list")
    bad = CliRunner().invoke(
        cli, ["--config", str(config), "keys", "create", "--name", "x", "--rate", "fast"]
    )
    assert bad.exit_code != 0


def test_public_routes_count_against_the_address_too(make_settings):
    settings = make_settings(auth={"mode": "api_key"}, rate_limit={"per_address_per_minute": 3})
    with TestClient(create_app(settings)) as client:
        guess = {"X-API-Key": "ck_0123456789ab_" + "A" * 43}
        codes = [client.get("/api/v1/health", headers=guess).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/api/v1/health/live").status_code == 200  # probes always get through


def test_two_different_keys_in_one_request_are_refused(keyed):
    client, _, (_, admin_token), (_, user_token) = keyed
    both = {"X-API-Key": user_token, "Authorization": f"Bearer {admin_token}"}
    response = client.get("/api/v1/tools/usage", headers=both)
    assert_error(response, 401, "AUTHENTICATION_ERROR")
    assert "exactly one key" in response.json()["error"]["message"]
    same = {"X-API-Key": user_token, "Authorization": f"Bearer {user_token}"}
    assert client.get("/api/v1/tools", headers=same).status_code == 200
