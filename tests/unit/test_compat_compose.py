"""remove.bg's finishing steps on a cut-out: parsing, placing, shadow, background, ZIP."""

import io
import zipfile

import numpy as np
import pytest

from center_api.compat import compose
from center_api.compat.errors import removebg_error
from center_api.compat.rembg import rgba_hex
from center_api.core.errors import NoForegroundError, ValidationError


def square(size=(100, 200), box=(10, 20, 30, 40)) -> np.ndarray:
    """An RGBA canvas (h, w) with an opaque white rectangle at (left, top, width, height)."""
    rgba = np.zeros((*size, 4), dtype=np.uint8)
    left, top, width, height = box
    rgba[top : top + height, left : left + width] = 255
    return rgba


def test_scale_and_position_parse_as_removebg_documents_them():
    assert compose.parse_scale("original") is None and compose.parse_scale("50%") == 0.5
    assert compose.parse_position("center") == (0.5, 0.5)
    assert compose.parse_position("0% 100%") == (0.0, 1.0)
    assert compose.parse_position("25%") == (0.25, 0.25)
    for bad in ("5%", "101%", "half", ""):
        with pytest.raises(ValidationError):
            compose.parse_scale(bad)
    for bad in ("left", "10% 20% 30%", "120%"):
        with pytest.raises(ValidationError):
            compose.parse_position(bad)


def test_place_scales_to_the_canvas_and_positions_the_free_space():
    placed = compose.place(square(), 0.5, (1.0, 0.0))
    left, top, width, height = compose.foreground_box(placed[..., 3])
    assert (width, height) == (38, 50)  # the tall side is half the canvas height (100)
    assert (left + width, top) == (200, 0)
    kept = compose.place(square(), None, (0.0, 0.0))
    assert compose.foreground_box(kept[..., 3]) == (0, 0, 30, 40)


def test_an_empty_cutout_has_no_foreground():
    with pytest.raises(NoForegroundError):
        compose.foreground_box(np.zeros((10, 10), dtype=np.uint8))


def test_size_caps_shadow_background_and_zip():
    big = np.zeros((2000, 1000, 4), dtype=np.uint8)
    assert compose.cap_megapixels(big, "medium").shape[:2] == (1732, 866)
    assert compose.cap_megapixels(big, "full") is big
    shadowed = compose.with_shadow(square())
    assert (shadowed[..., 3] > 0).sum() > (square()[..., 3] > 0).sum()
    assert shadowed[30, 20, 3] == 255  # the subject itself stays opaque
    background = np.full((5, 5, 3), (0, 0, 200), dtype=np.uint8)
    flat = compose.on_background(square(), background)
    assert flat.shape == (100, 200, 3) and tuple(flat[0, 0]) == (0, 0, 200)
    assert tuple(flat[30, 20]) == (255, 255, 255)
    names = zipfile.ZipFile(io.BytesIO(compose.zip_of(b"j", b"p"))).namelist()
    assert names == ["color.jpg", "alpha.png"]


def test_removebg_statuses_and_codes():
    assert removebg_error(401, "AUTHENTICATION_ERROR", "x")[0] == 403
    assert removebg_error(422, "MISSING_SOURCE", "x") == (
        400,
        {"errors": [{"title": "No image given", "detail": "x", "code": "missing_source"}]},
    )
    assert removebg_error(413, "FILE_TOO_LARGE", "x")[0] == 400
    assert removebg_error(402, "INSUFFICIENT_QUOTA", "x")[0] == 402
    assert removebg_error(503, "SERVICE_OVERLOADED", "x")[1]["errors"][0]["code"] == (
        "service_overloaded"
    )


def test_rembg_background_colours():
    assert rgba_hex("255,0,0,128") == "#ff000080" and rgba_hex("1,2,3") == "#010203ff"
    for bad in ("red", "1,2", "256,0,0,0", "1,2,3,4,5"):
        with pytest.raises(ValidationError):
            rgba_hex(bad)
