"""Task progress over WebSocket: the events of SSE as JSON, access like every route."""

import json
from functools import partial

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.tasks.service import TaskService
from tests.conftest import encode_png, subject_on_background
from tests.integration.test_security import make_key
from tests.support.steps_slice import NAME, gate, steps_app_args, steps_settings

TASKS = "/api/v1/tasks"
OPTIONS = json.dumps({"steps": 1, "checkpoints": False})


def png(index: int) -> bytes:
    return encode_png(subject_on_background((40 + index, 30))[0])


def submit_batch(client, count: int, headers=None) -> dict:
    files = [("files", (f"{i}.png", png(i), "image/png")) for i in range(count)]
    form = [*files, ("tool", (None, NAME)), ("options", (None, OPTIONS))]
    response = client.post(f"{TASKS}/batch", files=form, headers=headers or {})
    assert response.status_code == 202, response.text
    return response.json()


def receive_all(socket) -> tuple[list[dict], int]:
    """Every message until the server closes, and the close code."""
    messages = []
    while True:
        try:
            messages.append(socket.receive_json())
        except WebSocketDisconnect as closed:
            return messages, closed.code


def refused(client, url: str, headers=None) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(url, headers=headers or {}) as socket,
    ):
        socket.receive_json()
    return closed.value.code


@pytest.fixture
def settings_for(make_settings, tmp_path):
    return partial(steps_settings, make_settings, tmp_path)


def test_a_socket_follows_a_batch_to_completion_and_one_socket_follows_many(
    settings_for, monkeypatch
):
    app = create_app(settings_for(), **steps_app_args(monkeypatch))
    with TestClient(app) as client:
        batch = submit_batch(client, 3)
        children = [c["id"] for c in client.get(f"{TASKS}?limit=10").json()["items"]]
        children.remove(batch["id"])
        with client.websocket_connect(f"{TASKS}/{batch['id']}/ws") as socket:
            first = socket.receive_json()
            assert first["event"] == "task" and first["id"] == batch["id"]
            gate().allow(100)
            messages, code = receive_all(socket)
        assert code == 1000
        assert messages[-1] == {
            "event": "task",
            "id": batch["id"],
            "status": "COMPLETED",
            "progress": 100,
        }
        progress = [m["progress"] for m in [first, *messages] if "progress" in m]
        assert progress == sorted(progress)  # progress only grows
        ids = ",".join([*children, children[0].upper()])  # a repeat in another spelling: once
        with client.websocket_connect(f"{TASKS}/ws?ids={ids}") as socket:
            messages, code = receive_all(socket)
        assert code == 1000
        assert sorted(m["id"] for m in messages) == sorted(children)
        assert {m["status"] for m in messages} == {"COMPLETED"}


def test_socket_access_keys_tokens_and_owners(settings_for, monkeypatch):
    settings = settings_for(auth={"mode": "api_key"})
    _, alice = make_key(settings, name="alice", role="user")
    _, bob = make_key(settings, name="bob", role="user")
    app = create_app(settings, **steps_app_args(monkeypatch))
    with TestClient(app) as client:
        mine = submit_batch(client, 1, headers={"X-API-Key": alice})["id"]
        url = f"{TASKS}/{mine}/ws"
        assert refused(client, url) == 4401
        assert refused(client, url, {"X-API-Key": "ca_forged_key"}) == 4401
        assert refused(client, url, {"X-API-Key": bob}) == 4404  # another owner's: absent
        assert refused(client, f"{TASKS}/ws?ids={mine}", {"X-API-Key": bob}) == 4404
        assert refused(client, f"{TASKS}/ws?ids=", {"X-API-Key": alice}) == 4422
        assert refused(client, f"{TASKS}/not-a-uuid/ws", {"X-API-Key": alice}) == 4404
        # Browsers: a token for the owner's task, bound to it.
        assert client.post(f"{url}-token", headers={"X-API-Key": bob}).status_code == 404
        token = client.post(f"{url}-token", headers={"X-API-Key": alice}).json()
        assert token["expires_in_s"] == 60 and token["url"].startswith(url)
        other = submit_batch(client, 1, headers={"X-API-Key": alice})["id"]
        assert refused(client, f"{TASKS}/{other}/ws?token={token['token']}") == 4404
        forged = token["token"][:-4] + ("0000" if token["token"][-4:] != "0000" else "1111")
        assert refused(client, f"{url}?token={forged}") == 4401
        with client.websocket_connect(token["url"]) as socket:
            assert socket.receive_json()["id"] == mine
            gate().allow(100)
            messages, code = receive_all(socket)
        assert (messages[-1]["status"], code) == ("COMPLETED", 1000)


def test_a_stopping_server_ends_sockets_with_a_shutdown_event(settings_for, monkeypatch):
    app = create_app(settings_for(), **steps_app_args(monkeypatch))
    with TestClient(app) as client:
        batch = submit_batch(client, 1)
        service = client.blocking_portal.call(app.state.dishka_container.get, TaskService)
        with client.websocket_connect(f"{TASKS}/{batch['id']}/ws") as socket:
            assert socket.receive_json()["event"] == "task"
            client.blocking_portal.call(_close_streams, service)
            messages, code = receive_all(socket)
        assert code == 1001
        assert messages[-1]["event"] == "shutdown" and "reconnect" in messages[-1]["message"]
        gate().allow(100)


async def _close_streams(service: TaskService) -> None:
    service.parts.streams.close_all()
