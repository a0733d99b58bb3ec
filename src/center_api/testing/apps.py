"""Apps for slice tests: a migrated temporary SQLite database and the project's model store."""

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from litestar import Litestar
from litestar.testing import TestClient

from center_api.core.settings import ModelSettings, Settings, settings_from_mapping
from center_api.db import migrate
from center_api.kernel.model_store import MANIFEST_NAME

_TEMPLATES: dict[str, Path] = {}


def project_model_dir(start: Path | None = None) -> Path:
    """The project's model store: the nearest ``model_store/manifest.toml`` above ``start``.

    Falls back to the configured default (``model_store`` under the working directory).
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ModelSettings().dir
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    return here / ModelSettings().dir


def migrated_database(directory: Path) -> str:
    """A fresh SQLite database in ``directory``, migrated to head; returns its URL.

    The first call per process migrates a template; later calls copy it (fast).
    """
    template = _TEMPLATES.get("sqlite")
    if template is None or not template.is_file():
        template = Path(tempfile.mkdtemp(prefix="center-api-kit-")) / "template.db"
        migrate.upgrade(f"sqlite+aiosqlite:///{template}")
        _TEMPLATES["sqlite"] = template
    path = directory / "app.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def kit_settings(
    tmp_path: Path,
    enable: tuple[str, ...] = (),
    extra: Mapping[str, Any] | None = None,
    model_dir: Path | None = None,
) -> Settings:
    """Settings on a migrated temp database and the project's model store, ``enable`` on.

    Args:
        tmp_path: a per-test directory (pytest's ``tmp_path``).
        enable: slice names to switch on (third-party slices are off by default).
        extra: more settings sections, merged over the defaults (e.g. ``{"slices": ...}``).
        model_dir: the model store; `project_model_dir()` if None.
    """
    base: dict[str, Any] = {
        "database": {"url": migrated_database(tmp_path)},
        "models": {"dir": str(model_dir or project_model_dir())},
        "logging": {"json": True},
        "slices": {name: {"enabled": True} for name in enable},
    }
    return settings_from_mapping(deep_merge(base, dict(extra or {})))


@contextmanager
def slice_client(
    tmp_path: Path,
    *enable: str,
    extra: Mapping[str, Any] | None = None,
    model_dir: Path | None = None,
) -> Iterator[TestClient[Litestar]]:
    """A `TestClient` (lifespan running) on a real app with the slices ``enable`` switched on."""
    from center_api.bootstrap.app import create_app  # noqa: PLC0415 - the composition root, lazily

    settings = kit_settings(tmp_path, enable, extra, model_dir)
    with TestClient(create_app(settings)) as client:
        yield client


def sample_png(size: tuple[int, int] = (320, 240)) -> bytes:
    """A small PNG: an orange ellipse on light grey (a clear subject on a plain background)."""
    import cv2  # noqa: PLC0415 - only when a sample is built

    width, height = size
    pixels = np.full((height, width, 3), 225, dtype=np.uint8)
    axes = (int(width * 0.22), int(height * 0.32))
    cv2.ellipse(pixels, (width // 2, height // 2), axes, 0, 0, 360, (230, 110, 30), -1)
    _, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return bytes(encoded.tobytes())


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge nested dicts (``extra`` wins), as settings sections are merged."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
