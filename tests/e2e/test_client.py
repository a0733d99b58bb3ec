"""The Python client (sync and async) and ``center-api remove`` against a real server process."""

import asyncio
import base64

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from center_api.bootstrap.cli.main import cli
from center_api.client import ApiError, AsyncClient, Client
from center_api.testing.apps import sample_png

pytestmark = pytest.mark.e2e
PHOTO = sample_png((160, 120))


@pytest.fixture
def base_url(default_server) -> str:
    return default_server.base_url


def test_the_sync_client_cuts_out_a_file_and_reports_errors(base_url, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(PHOTO)
    with Client(base_url) as client:
        result = client.remove_background(photo, format="webp", size="preview")
        assert result.media_type == "image/webp" and (result.width, result.height) == (160, 120)
        with Image.open(result.save(tmp_path / "out.webp")) as image:
            saved = np.asarray(image)
        assert saved[0, 0, 3] == 0 and saved[60, 80, 3] == 255
        assert any(tool["name"] == "cutout" for tool in client.tools()["tools"])
        with pytest.raises(ApiError) as refused:
            client.remove_background(b"not an image")
        assert refused.value.status == 422 and refused.value.code == "INVALID_IMAGE"
        with pytest.raises(ApiError, match="URL_NOT_ALLOWED"):
            client.remove_background("http://127.0.0.1/photo.png")


def test_the_async_client_sends_concurrent_calls(base_url):
    async def many() -> list[int | None]:
        async with AsyncClient(base_url) as client:
            calls = [client.call("/api/v1/cutout/segment", PHOTO, crop=True) for _ in range(3)]
            return [result.width for result in await asyncio.gather(*calls)]

    widths = asyncio.run(many())
    assert len(widths) == 3 and all(w is not None and w < 160 for w in widths)


def test_center_api_remove_writes_one_file_or_a_directory(base_url, tmp_path):
    inputs = []
    for name in ("a", "b", "c"):
        inputs.append(tmp_path / f"{name}.png")
        inputs[-1].write_bytes(PHOTO)
    runner = CliRunner()
    single = runner.invoke(
        cli, ["remove", str(inputs[0]), str(tmp_path / "one.png"), "--url", base_url]
    )
    assert single.exit_code == 0, single.output
    with Image.open(tmp_path / "one.png") as image:
        assert image.mode == "RGBA"
    out = tmp_path / "cutouts"
    batch = runner.invoke(
        cli, ["remove", *map(str, inputs), str(out), "--url", base_url, "--format", "webp"]
    )
    assert batch.exit_code == 0, batch.output
    assert sorted(p.name for p in out.iterdir()) == ["a.webp", "b.webp", "c.webp"]
    (tmp_path / "bad.png").write_bytes(b"nope")
    failed = runner.invoke(
        cli, ["remove", str(inputs[0]), str(tmp_path / "bad.png"), str(out), "--url", base_url]
    )
    assert failed.exit_code == 1 and "INVALID_IMAGE" in failed.output


def test_the_removebg_package_works_with_only_its_endpoint_changed(base_url, tmp_path, monkeypatch):
    # The `removebg` package from PyPI, unmodified: only its endpoint constant points here.
    removebg = pytest.importorskip("removebg.removebg", reason="pip install -e '.[dev]' (removebg)")
    monkeypatch.setattr(removebg, "API_ENDPOINT", f"{base_url}/v1.0/removebg")
    photo = tmp_path / "photo.png"
    photo.write_bytes(PHOTO)
    client = removebg.RemoveBg("any-key-in-open-mode", str(tmp_path / "errors.log"))
    client.remove_background_from_img_file(str(photo), size="regular")
    with Image.open(f"{photo}_no_bg.png") as image:
        pixels = np.asarray(image)
    assert pixels.shape == (120, 160, 4) and pixels[0, 0, 3] == 0 and pixels[60, 80, 3] == 255
    encoded = base64.b64encode(PHOTO).decode()
    client.remove_background_from_base64_img(
        encoded, bg_color="ffffff", new_file_name=str(tmp_path / "white.png")
    )
    with Image.open(tmp_path / "white.png") as image:
        assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)
