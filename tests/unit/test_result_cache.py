"""Cache keys change with everything a result depends on; the memory LRU stays in its budget."""

import asyncio
import shutil
import time
from pathlib import Path

import msgspec
import pytest

from center_api.cache.backends import MemoryBackend
from center_api.cache.keys import canonical_options, code_fingerprint, models_fingerprint
from center_api.cache.results import ResultCache
from center_api.core.settings import Settings, settings_from_mapping
from center_api.kernel.model_store import ModelStore
from center_api.registry.spec import SliceResult
from center_api.slices.cutout.schemas import CutoutOptions

MANIFEST = Path(__file__).resolve().parents[2] / "model_store" / "manifest.toml"


def cache_over(store: ModelStore, settings: Settings | None = None) -> ResultCache:
    return ResultCache.build(settings or Settings(), store)


def key(cache: ResultCache, options: object = None, image: bytes = b"img", **parts: str) -> str:
    made = cache.key_for(
        tool=parts.get("tool", "cutout"),
        operation=parts.get("operation", "CutoutService.segment"),
        package="center_api",
        image=image,
        options=options if options is not None else CutoutOptions(),
    )
    assert made is not None
    return made


@pytest.fixture
def store(tmp_path):
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copyfile(MANIFEST, directory / "manifest.toml")
    return ModelStore.from_directory(directory)


def test_every_option_changes_the_key(store):
    cache = cache_over(store)
    base = key(cache)
    changes = {
        "format": "webp",
        "channels": "alpha",
        "bg_color": "white",
        "size": "preview",
        "crop": True,
        "crop_margin": "5%",
        "roi": "0 0 50% 100%",
        "post_process_mask": True,
        "decontaminate": True,
        "model": "u2net",
    }
    defaults = msgspec.to_builtins(CutoutOptions())
    assert set(changes) <= set(defaults), sorted(set(changes) - set(defaults))
    keys = {
        name: key(cache, msgspec.structs.replace(CutoutOptions(), **{name: value}))
        for name, value in changes.items()
    }
    assert base not in keys.values()
    assert len(set(keys.values())) == len(changes)
    assert key(cache, CutoutOptions()) == base  # and equal options give the same key


def test_image_tool_operation_settings_and_code_change_the_key(store):
    cache = cache_over(store)
    base = key(cache)
    assert key(cache, image=b"img2") != base
    assert key(cache, tool="background_replace") != base
    assert key(cache, operation="CutoutService.other") != base
    sharper = cache_over(store, settings_from_mapping({"images": {"png_compress_level": 6}}))
    assert key(sharper) != base
    assert code_fingerprint("center_api") != code_fingerprint("json")


def test_a_model_pulled_or_replaced_changes_the_key(store):
    cache = cache_over(store)
    before, fingerprint = key(cache), models_fingerprint(store)
    spec = store.spec("u2netp")
    (store.directory / spec.file).write_bytes(b"\0" * (spec.size or 10))  # "installed"
    assert models_fingerprint(store) != fingerprint
    installed = key(cache)
    assert installed != before
    store._specs["u2netp"] = msgspec.structs.replace(spec, sha256="0" * 64)  # a new version
    assert key(cache) not in {before, installed}


def test_url_options_are_not_cached():
    assert canonical_options({"background_url": "https://example.com/a.jpg"}) is None
    assert canonical_options({"inner": {"image_url": "https://x/y"}}) is None
    assert canonical_options({"background_url": None}) is not None


def test_the_memory_lru_evicts_the_least_recently_used_within_its_budget():
    async def scenario() -> MemoryBackend:
        lru = MemoryBackend(max_bytes=8000)
        for name in "abcdefgh":
            await lru.put(name, b"x" * 1000)
        assert await lru.get("a") is not None  # a is now the most recent
        await lru.put("i", b"x" * 1000)
        assert await lru.get("b") is None  # the oldest untouched one went
        assert await lru.get("a") is not None
        assert lru.size <= 8000
        await lru.put("huge", b"x" * 1001)  # over an eighth of the budget: not kept
        assert await lru.get("huge") is None
        return lru

    lru = asyncio.run(scenario())
    assert lru.evictions == 1
    assert len(lru) == 8


def test_through_keeps_slice_results_only_and_refresh_recomputes(store):
    cache = cache_over(store)
    calls = []

    async def compute() -> SliceResult:
        calls.append(1)
        return SliceResult(content=b"png", media_type="image/png", metadata={"n": len(calls)})

    async def scenario() -> list[object]:
        first = await cache.through("k", compute)
        second = await cache.through("k", compute)
        third = await cache.through("k", compute, refresh=True)
        plain = await cache.through("j", lambda: asyncio.sleep(0, {"json": True}))
        again = await cache.through("j", lambda: asyncio.sleep(0, {"json": 2}))
        return [first[1], second[1], second[0].metadata, third[1], plain[0], again[0]]

    outcomes = asyncio.run(scenario())
    assert outcomes == ["MISS", "HIT", {"n": 1}, "MISS", {"json": True}, {"json": 2}]
    assert len(calls) == 2


def test_the_redis_backend_shares_results_between_caches(store):
    from tests.support.services import redis_url

    settings = settings_from_mapping({"cache": {"backend": "redis", "url": redis_url()}})
    calls = []

    async def compute() -> SliceResult:
        calls.append(1)
        return SliceResult(content=b"png", media_type="image/png", metadata={"n": 1})

    async def scenario() -> list[object]:
        one, two = cache_over(store, settings), cache_over(store, settings)  # two processes
        made = key(one, image=f"redis-{time.time_ns()}".encode())
        try:
            first = await one.through(made, compute)
            second = await two.through(made, compute)
            return [first[1], second[1], second[0].content]
        finally:
            await one.close()
            await two.close()

    assert asyncio.run(scenario()) == ["MISS", "HIT", b"png"]
    assert len(calls) == 1


def test_an_unreachable_redis_is_a_miss_not_an_error(store):
    settings = settings_from_mapping(
        {"cache": {"backend": "redis", "url": "redis://127.0.0.1:1/0"}}
    )

    async def scenario() -> tuple[object, object]:
        cache = cache_over(store, settings)
        try:
            result = await cache.through(
                key(cache),
                lambda: asyncio.sleep(0, SliceResult(content=b"x", media_type="image/png")),
            )
            return result[1], result[0].content
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == ("MISS", b"x")
