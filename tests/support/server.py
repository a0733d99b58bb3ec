"""Start `center-api serve` (role all) as a real process on its own SQLite database."""

import subprocess
from pathlib import Path

import httpx

from center_api.testing.cluster import start_node

REPO = Path(__file__).resolve().parents[2]


def start_server(
    workdir: Path, model_dir: Path, log: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve with a database and result folder in ``workdir``; wait until live."""
    env = {
        "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/app.db",
        "MODEL_STORE_DIR": str(model_dir),
        "CENTER_API__TASKS__RESULTS_DIR": str(workdir / "results"),
        "CENTER_API__LOGGING__JSON": "true",
        # These servers test scheduling with repeated identical inputs: every call must compute.
        "CENTER_API__CACHE__BACKEND": "off",
        **(extra_env or {}),
    }
    node = start_node("all", env, log)
    assert node.base_url is not None
    return node.process, node.base_url


def submit_cutout(base: str, image: bytes) -> str:
    """Submit one PNG as a cutout task to the server at ``base``; return the task id."""
    response = httpx.post(
        f"{base}/api/v1/tasks",
        files={"file": ("a.png", image, "image/png"), "tool": (None, "cutout")},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])
