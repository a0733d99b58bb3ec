"""A real uvicorn process started by the `center-api serve` command, spoken to over HTTP.

The server is the e2e tests' shared one; its clean stop on SIGTERM is checked when it stops.
"""

import json

import httpx
import numpy as np
import pytest

from tests.conftest import decode_png, encode_png, subject_on_background

pytestmark = pytest.mark.e2e


def test_curl_style_cutout_against_a_real_server(default_server):
    base, log = default_server.base_url, default_server.log
    image, truth = subject_on_background()
    response = httpx.post(
        f"{base}/api/v1/cutout/segment",
        files={"file": ("photo.png", encode_png(image), "image/png")},
        headers={"X-Request-ID": "e2e-1"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    alpha = decode_png(response.content)[..., 3]
    assert alpha[truth].mean() > 200 and alpha[~truth].mean() < 30
    assert response.headers["x-request-id"] == "e2e-1"
    assert httpx.get(f"{base}/api/v1/health", timeout=10).json()["ready"] is True
    assert 'model="u2netp-int8"' in httpx.get(f"{base}/metrics", timeout=10).text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    done = [line for line in lines if line.get("event") == "request.completed"]
    assert any(line["request_id"] == "e2e-1" and line["status"] == 200 for line in done)
    assert np.isfinite(float(response.headers["x-processing-ms"]))
