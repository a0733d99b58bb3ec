"""Tenants: access decided on the matched route, tasks seen only by their owner, quotas that
concurrency cannot overrun, and nothing leaked to anonymous callers."""

import asyncio
import io
import re
import time
import zipfile

import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient, TestClient

from center_api.auth.access import access_of
from center_api.bootstrap.app import create_app
from center_api.db import migrate
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.integration.test_security import make_key
from tests.integration.test_task_sockets import refused
from tests.support.services import fresh_postgres_database

TASKS = "/api/v1/tasks"
SEGMENT = "/api/v1/cutout/segment"
PNG = encode_png(subject_on_background((160, 120))[0])  # 0.0192 MP
SAMPLE_ID = "0190b5f4-0000-7000-8000-000000000000"
REACHED_HANDLER = {200, 201, 202, 204, 400, 409, 413, 415, 422, 500, 503}


@pytest.fixture
def keyed_settings(make_settings, tmp_path):
    return make_settings(
        auth={"mode": "api_key"},
        rate_limit={"enabled": False},
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1},
        slices={"image_info": {"enabled": True}},
    )


def _routes(app: Litestar):
    """(path with sample parameters, method, declared access) for every HTTP handler."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):path\}", "x", route.path)
        path = re.sub(r"\{\w+:\w+\}", SAMPLE_ID, path)
        for method, (handler, _) in route.route_handler_map.items():
            if method not in ("OPTIONS", "HEAD"):
                yield path, method, handler


def _variants(path: str) -> list[str]:
    """Spellings of ``path`` a router might normalise onto the same handler."""
    head, _, tail = path.rpartition("/")
    return [
        "/" + path,
        path.replace("/api/v1/", "/api/v1//", 1),
        path.replace("/api/v1/", "/api/./v1/", 1),
        path + "/",
        f"{head}%2F{tail}" if head else path,
        path.replace("/api/v1", "/API/v1", 1),
    ]


def test_every_route_needs_its_rights_under_every_spelling(keyed_settings):
    """Walk the app's route table: no key, a user key and an admin key, and path variants."""
    _, user = make_key(keyed_settings, name="user", role="user")
    _, admin = make_key(keyed_settings, name="admin", role="admin")
    app = create_app(keyed_settings)
    checked = 0
    with TestClient(app) as client:
        for path, method, handler in _routes(app):
            access = access_of(handler, keyed_settings)

            def call(target: str, token: str | None, method: str = method):
                headers = {"X-API-Key": token} if token else {}
                url = f"http://testserver.local{target}"
                return client.request(method, url, headers=headers, timeout=30)

            anonymous = call(path, None).status_code
            as_user = call(path, user).status_code
            as_admin = call(path, admin).status_code
            where = (method, path, access)
            if access == "public":
                assert anonymous not in (401, 403), where
                continue
            # remove.bg's API answers a missing key 403 (compat/errors.py); ours 401.
            assert anonymous == (403 if path.startswith("/v1.0/") else 401), where
            assert as_admin not in (401, 403), where
            assert as_user == (403 if access == "admin" else as_user), where
            assert as_user not in ((401,) if access == "admin" else (401, 403)), where
            for variant in _variants(path):
                status = call(variant, None).status_code
                refused = 403 if path.startswith("/v1.0/") else 401
                assert status in (refused, 404, 405), (*where, variant, status)
                if access == "admin":
                    status = call(variant, user).status_code
                    assert status in (403, 404, 405), (*where, variant, status)
            checked += 1
    assert checked >= 15  # the tasks, tools, slice and stats routes were all walked


def test_every_websocket_route_needs_a_key_or_a_token(keyed_settings):
    """The route table's WebSocket routes: refused (4401) without a key, reached with one."""
    _, user = make_key(keyed_settings, name="user", role="user")
    app = create_app(keyed_settings)
    sockets = [r.path for r in app.routes if isinstance(r, WebSocketRoute)]
    assert len(sockets) >= 2  # one task, many tasks
    with TestClient(app) as client:
        for path in sockets:
            url = re.sub(r"\{\w+:\w+\}", SAMPLE_ID, path) + f"?ids={SAMPLE_ID}"
            for headers, expected in (({}, 4401), ({"X-API-Key": user}, 4404)):
                assert refused(client, url, headers) == expected, (path, headers)
            assert refused(client, url + "&token=abc.def") == 4401, path  # a garbled token


def _submit(client, token: str, image: bytes = PNG):
    files = {"file": ("a.png", image, "image/png"), "tool": (None, "cutout")}
    return client.post(TASKS, files=files, headers={"X-API-Key": token})


def _wait(client, token, task_id, statuses=("COMPLETED", "FAILED", "CANCELLED")):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        view = client.get(f"{TASKS}/{task_id}", headers={"X-API-Key": token}).json()
        if view["status"] in statuses:
            return view
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} stuck at {view}")


def test_a_key_sees_and_controls_only_its_own_tasks(keyed_settings):
    _, alice = make_key(keyed_settings, name="alice")
    _, bob = make_key(keyed_settings, name="bob")
    _, admin = make_key(keyed_settings, name="ops", role="admin")
    with TestClient(create_app(keyed_settings)) as client:
        mine = _submit(client, alice).json()
        batch = client.post(
            f"{TASKS}/batch",
            files=[
                ("files", ("a.png", PNG)),
                ("files", ("b.png", PNG)),
                ("tool", (None, "cutout")),
            ],
            headers={"X-API-Key": alice},
        ).json()
        _wait(client, alice, mine["id"])
        _wait(client, alice, batch["id"])
        child = client.get(TASKS, headers={"X-API-Key": alice}).json()["items"]
        child_ids = [t["id"] for t in child if t["parent_id"] == batch["id"]]
        assert len(child_ids) == 2
        as_bob = {"X-API-Key": bob}
        for task_id in (mine["id"], batch["id"], *child_ids):
            base = f"{TASKS}/{task_id}"
            for response in (
                client.get(base, headers=as_bob),
                client.get(f"{base}/result", headers=as_bob),
                client.get(f"{base}/events", headers=as_bob),
                client.put(f"{base}/pause", headers=as_bob),
                client.put(f"{base}/resume", headers=as_bob),
                client.delete(base, headers=as_bob),
            ):
                body = assert_error(response, 404, "TASK_NOT_FOUND")
                assert body["error"]["details"] == {"task_id": task_id}
        assert client.get(TASKS, headers=as_bob).json()["total"] == 0
        assert client.get(TASKS, headers={"X-API-Key": alice}).json()["total"] == 4
        everyone = client.get(TASKS, headers={"X-API-Key": admin}).json()
        assert everyone["total"] == 4
        assert client.get(f"{TASKS}/{mine['id']}/result", headers={"X-API-Key": admin}).content
        zipped = client.get(f"{TASKS}/{batch['id']}/result", headers={"X-API-Key": alice})
        names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
        assert names == ["a.png", "b.png", "manifest.json"]
        # Bob's own work is his alone, and nothing of Alice's changed.
        theirs = _submit(client, bob).json()
        assert [t["id"] for t in client.get(TASKS, headers=as_bob).json()["items"]] == [
            theirs["id"]
        ]
        assert_error(
            client.get(f"{TASKS}/{theirs['id']}", headers={"X-API-Key": alice}),
            404,
            "TASK_NOT_FOUND",
        )
        assert (
            client.get(f"{TASKS}/{mine['id']}", headers={"X-API-Key": alice}).json()["status"]
            == "COMPLETED"
        )


def test_system_stats_are_for_admins(keyed_settings):
    _, user = make_key(keyed_settings, name="user")
    _, admin = make_key(keyed_settings, name="ops", role="admin")
    with TestClient(create_app(keyed_settings)) as client:
        assert_error(
            client.get("/api/v1/stats", headers={"X-API-Key": user}), 403, "AUTHORIZATION_ERROR"
        )
        assert "queue_depth" in client.get("/api/v1/stats", headers={"X-API-Key": admin}).json()


async def _burst(client, calls):
    return [r.status_code for r in await asyncio.gather(*calls)]


@pytest.fixture(params=["sqlite", "postgresql"])
def quota_settings(request, keyed_settings):
    """The quota race on both databases (PostgreSQL: several connections really race)."""
    if request.param == "sqlite":
        yield keyed_settings
        return
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        database = msgspec.structs.replace(keyed_settings.database, url=url)
        yield msgspec.structs.replace(keyed_settings, database=database)


def test_twenty_concurrent_calls_on_a_quota_of_three_pass_exactly_three(quota_settings):
    keys = [make_key(quota_settings, name=n, quota_calls=3)[1] for n in ("sync", "task", "batch")]
    asyncio.run(_quota_race(create_app(quota_settings), *keys))


async def _quota_race(app, sync_key, task_key, batch_key):
    files = {"file": ("a.png", PNG, "image/png")}
    async with AsyncTestClient(app) as client:
        segments = [
            client.post(SEGMENT, files=files, headers={"X-API-Key": sync_key}) for _ in range(20)
        ]
        statuses = await _burst(client, segments)
        assert sorted(statuses) == [200] * 3 + [402] * 17
        submits = [
            client.post(
                TASKS,
                files={**files, "tool": (None, "cutout")},
                headers={"X-API-Key": task_key},
            )
            for _ in range(20)
        ]
        statuses = await _burst(client, submits)
        assert sorted(statuses) == [202] * 3 + [402] * 17
        five = [("files", (f"{i}.png", PNG)) for i in range(5)] + [("tool", (None, "cutout"))]
        refused = await client.post(f"{TASKS}/batch", files=five, headers={"X-API-Key": batch_key})
        body = assert_error(refused, 402, "INSUFFICIENT_QUOTA")
        assert body["error"]["details"]["remaining_calls"] == 3
        assert body["error"]["details"]["requested_calls"] == 5
        three = five[:3] + five[-1:]
        accepted = await client.post(
            f"{TASKS}/batch", files=three, headers={"X-API-Key": batch_key}
        )
        assert accepted.status_code == 202, accepted.text


def test_a_failed_task_gives_its_reservation_back(keyed_settings):
    _, token = make_key(keyed_settings, name="one", quota_calls=1)
    with TestClient(create_app(keyed_settings)) as client:
        broken = _submit(client, token, PNG[: len(PNG) // 2]).json()  # header fine, pixels not
        assert _wait(client, token, broken["id"])["status"] == "FAILED"
        good = _submit(client, token)
        assert good.status_code == 202, good.text
        assert _wait(client, token, good.json()["id"])["status"] == "COMPLETED"
        assert_error(_submit(client, token), 402, "INSUFFICIENT_QUOTA")


def test_a_cancelled_task_gives_its_reservation_back(keyed_settings):
    _, token = make_key(keyed_settings, name="one", quota_calls=1)
    with TestClient(create_app(keyed_settings)) as client:
        task = _submit(client, token).json()
        client.delete(f"{TASKS}/{task['id']}", headers={"X-API-Key": token})
        view = _wait(client, token, task["id"])
        retry = _submit(client, token)
        expected = 202 if view["status"] == "CANCELLED" else 402  # it may have finished first
        assert retry.status_code == expected, retry.text


def test_anonymous_health_says_status_and_version_only(make_settings, tmp_path):
    settings = make_settings(auth={"mode": "api_key"})
    _, admin = make_key(settings, name="ops", role="admin")
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/v1/health").json()
        assert set(body) == {"status", "version", "ready"}
        detailed = client.get("/api/v1/health", headers={"X-API-Key": admin}).json()
        assert "checks" in detailed and "inference" in detailed
        assert str(settings.models.dir) not in str(detailed)
    broken = make_settings(
        auth={"mode": "api_key"},
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/missing/dir/app.db"},
    )
    with TestClient(create_app(broken)) as client:
        response = client.get("/api/v1/health")
        assert response.status_code == 503
        assert set(response.json()) == {"status", "version", "ready"}
    open_mode = make_settings(database={"url": broken.database.url})
    with TestClient(create_app(open_mode)) as client:
        text = client.get("/api/v1/health").text
        assert "checks" in text
        for leak in ("sqlite", "SELECT", str(tmp_path), "unable to open"):
            assert leak not in text, leak


def test_unknown_methods_are_405_and_counted_as_other(client):
    for method in ("FOO", "PROPFIND", "BREW"):
        assert_error(client.request(method, "/api/v1/tools"), 405, "METHOD_NOT_ALLOWED")
    metrics = client.get("/metrics").text
    assert 'method="OTHER"' in metrics
    assert "FOO" not in metrics and "BREW" not in metrics


def test_an_odd_spelling_of_a_slice_route_is_billed_and_recorded(keyed_settings):
    key_id, token = make_key(keyed_settings, name="odd", quota_calls=1)
    _, admin = make_key(keyed_settings, name="ops", role="admin")
    files = {"file": ("a.png", PNG, "image/png")}
    with TestClient(create_app(keyed_settings)) as client:
        url = f"http://testserver.local/{SEGMENT}"  # //api/v1/cutout/segment
        assert client.post(url, files=files, headers={"X-API-Key": token}).status_code == 200
        assert_error(
            client.post(SEGMENT, files=files, headers={"X-API-Key": token}),
            402,
            "INSUFFICIENT_QUOTA",
        )
        deadline, rows = time.monotonic() + 5, []
        while len(rows) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            usage = client.get(
                "/api/v1/tools/usage", params={"caller": key_id}, headers={"X-API-Key": admin}
            )
            rows = usage.json()["items"]
        assert sorted((r["tool"], r["status_code"]) for r in rows) == [
            ("cutout", 200),
            ("cutout", 402),
        ]


def test_other_spellings_of_a_task_id_reach_the_same_task_and_never_the_headers(keyed_settings):
    _, token = make_key(keyed_settings, name="ids")
    headers = {"X-API-Key": token}
    with TestClient(create_app(keyed_settings)) as client:
        task = _submit(client, token).json()
        _wait(client, token, task["id"])
        assert task["id"][0] == "0"  # a UUIDv7 of this century: int() would take "\n" for it
        spellings = (task["id"].upper(), f"urn:uuid:{task['id']}", "%0A" + task["id"][1:])
        for spelling in spellings:
            view = client.get(f"{TASKS}/{spelling}", headers=headers)
            assert view.status_code == 200 and view.json()["id"] == task["id"], spelling
            result = client.get(f"{TASKS}/{spelling}/result", headers=headers)
            assert result.status_code == 200, spelling
            assert result.headers["content-disposition"] == 'attachment; filename="a.png"'
        long_id = "x" * 10_000
        body = assert_error(
            client.get(f"{TASKS}/{long_id}", headers=headers), 404, "TASK_NOT_FOUND"
        )
        assert len(body["error"]["details"]["task_id"]) <= 64
