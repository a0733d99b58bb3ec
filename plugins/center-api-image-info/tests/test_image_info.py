"""The example plugin through a real app with the plugin enabled by config (the test kit's)."""

import io

from PIL import Image

from center_api.testing import slice_client


def png(color: tuple[int, int, int], size: tuple[int, int] = (30, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_describe_reports_size_and_mean_colour(tmp_path):
    only_this = {"slices": {"cutout": {"enabled": False}}}
    with slice_client(tmp_path, "image_info", extra=only_this) as client:
        response = client.post(
            "/api/v1/image-info/describe",
            files={"file": ("a.png", png((10, 200, 30))), "decimals": (None, "0")},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "width": 30,
            "height": 20,
            "format": "PNG",
            "has_alpha": False,
            "megapixels": 0.001,
            "mean_rgb": [10.0, 200.0, 30.0],
        }
        bad = client.post("/api/v1/image-info/describe", files={"file": ("a.png", b"nope")})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "INVALID_IMAGE"
