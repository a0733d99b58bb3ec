"""Waiting for a task in tests: poll its status until it ends."""

import time
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from center_api.core.settings import API_PREFIX

FINAL = ("COMPLETED", "FAILED", "CANCELLED")


def wait_for_task(
    client: TestClient[Litestar],
    task_id: str,
    timeout_s: float = 60.0,
    statuses: tuple[str, ...] = FINAL,
) -> dict[str, Any]:
    """The task's view once its status is one of ``statuses`` (default: it has ended).

    Raises:
        AssertionError: still running after ``timeout_s`` (with its last view).
    """
    deadline = time.monotonic() + timeout_s
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = client.get(f"{API_PREFIX}/tasks/{task_id}").json()
        if view["status"] in statuses:
            return view
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} not {'/'.join(statuses)} in {timeout_s:g} s: {view}")
