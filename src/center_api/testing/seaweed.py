"""Start a throwaway SeaweedFS (master + volume + filer + S3 gateway) on loopback ports."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from center_api.testing.cluster import free_port

REGION = "us-east-1"
# SeaweedFS accepts any signature while no identities are configured; obstore still signs.
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"


@dataclass
class SeaweedS3:
    """A running SeaweedFS S3 gateway."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    def new_bucket(self) -> str:
        """Create an empty bucket with a unique name and return the name."""
        name = f"test-{uuid.uuid4().hex[:16]}"
        response = httpx.put(f"{self.endpoint}/{name}", timeout=10)
        assert response.status_code == 200, response.text
        return name

    def url(self, bucket: str) -> str:
        """The ``[storage] url`` of ``bucket`` on this server."""
        return (
            f"s3://{bucket}?endpoint={self.endpoint}&region={REGION}"
            f"&access_key_id={ACCESS_KEY}&secret_access_key={SECRET_KEY}"
        )

    def stop(self) -> None:
        """Stop the server (TERM, then KILL after 2 s: the data is throwaway)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def weed_binary() -> str | None:
    """The ``weed`` executable (next to this interpreter or on PATH), or None."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("weed", path=search)


def start_seaweed(binary: str, workdir: Path, timeout_s: float = 30.0) -> SeaweedS3:
    """Start SeaweedFS in ``workdir`` with every port free and explicit; wait until writable."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    # Every bucket is its own collection; grow one volume at a time, not seven.
    (workdir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    args = [
        binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=200",
        "-filer", "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    for name, port in ports.items():
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={grpc[name]}"]
    log = workdir / "weed.log"
    with log.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=out, cwd=workdir)
    server = SeaweedS3(process, f"http://127.0.0.1:{ports['s3']}", log)
    if not _wait_writable(server, time.monotonic() + timeout_s):
        server.stop()
        raise RuntimeError(f"SeaweedFS did not start: {log.read_text(errors='replace')[-2000:]}")
    return server


def _wait_writable(server: SeaweedS3, deadline: float) -> bool:
    """True once a bucket can be created and an object written (volumes are up)."""
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            bucket = server.new_bucket()
            if httpx.put(f"{server.endpoint}/{bucket}/probe", content=b"ok").status_code == 200:
                return True
        except (httpx.TransportError, AssertionError):
            pass
        time.sleep(0.2)
    return False
