"""Shared by the bench scripts: a slice run in-process through the real container, test photos."""

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.core.settings import Settings, settings_from_mapping

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]


def bench_settings(**sections: dict[str, Any]) -> Settings:
    """Settings on the project's model store and a throwaway SQLite database."""
    base: dict[str, Any] = {
        "models": {"dir": str(REPO / "model_store")},
        "database": {"url": "sqlite+aiosqlite:///:memory:"},
        "logging": {"level": "WARNING"},
    }
    base.update(sections)
    return settings_from_mapping(base)


def with_service(service_type: type[Any], work: Callable[[Any], Awaitable[T]]) -> T:
    """Resolve ``service_type`` from a fresh container and run ``work(service)``."""

    async def main() -> T:
        container = build_container(build_runtime(bench_settings()))
        try:
            async with container() as scope:
                return await work(await scope.get(service_type))
        finally:
            await container.close()

    return asyncio.run(main())


def photo_bytes(source: Path | None, long_side: int) -> bytes:
    """A JPEG of ``source`` (or a synthetic scene) with the given long side."""
    if source and source.exists():
        image = Image.open(source).convert("RGB")
    else:
        rng = np.random.default_rng(0)
        pixels = rng.integers(60, 200, (600, 800, 3), dtype=np.uint8)
        pixels[150:450, 250:550] = (220, 120, 40)
        image = Image.fromarray(pixels)
    scale = long_side / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


DEFAULT_PHOTO = REPO.parent / "shared/testdata/cutout/images/coco_horse00_000000281447.jpg"


def cutout_pixels(source: Path | None, long_side: int) -> np.ndarray:
    """The RGBA cut-out the cutout slice makes of ``source`` at ``long_side`` (PNG, decoded)."""
    from center_api.slices.cutout.schemas import CutoutOptions  # noqa: PLC0415
    from center_api.slices.cutout.service import CutoutService  # noqa: PLC0415

    data = photo_bytes(source, long_side)
    result = with_service(CutoutService, lambda s: s.segment(data, CutoutOptions()))
    with Image.open(io.BytesIO(result.content)) as image:
        return np.array(image.convert("RGBA"))
