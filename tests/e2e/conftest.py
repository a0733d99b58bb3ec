"""A real server that the e2e tests which only talk HTTP to it share (a start costs seconds)."""

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import start_server


@dataclass(frozen=True)
class RunningServer:
    """A `center-api serve` process on the default configuration: its URL and its log."""

    base_url: str
    log: Path


@pytest.fixture(scope="session")
def default_server(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> Iterator[RunningServer]:
    """One server for the session, stopped with SIGTERM at the end: that stop must be clean."""
    workdir = tmp_path_factory.mktemp("default-server")
    log = workdir / "server.log"
    process, base = start_server(workdir, model_dir, log)
    try:
        yield RunningServer(base, log)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit.
    assert code in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert "Application shutdown complete" in log.read_text()
