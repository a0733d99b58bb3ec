"""Backdrops (solid, gradient, placed image, blur-behind) and linear-light compositing."""

import numpy as np
import pytest

from center_api.core.errors import ValidationError
from center_api.slices.background_replace.backgrounds import (
    blur_behind,
    gradient,
    place_image,
    solid,
)
from center_api.slices.background_replace.light import composite, to_linear, to_srgb
from center_api.slices.background_replace.presets import ID_PHOTO_SIZES, resolve_color

RED, BLUE, WHITE = (255, 0, 0, 255), (0, 0, 255, 255), (255, 255, 255, 255)


def test_linear_light_round_trips_every_8_bit_value():
    values = np.arange(256, dtype=np.uint8)
    assert np.array_equal(to_srgb(to_linear(values)), values)


def test_half_covered_black_on_white_blends_light_not_numbers():
    black = np.zeros((1, 1, 3), np.uint8)
    half = np.full((1, 1), 128, np.uint8)
    out = composite(black, half, solid((1, 1), WHITE))
    # Half the light of white is sRGB ~188; averaging the numbers would give a dark 128.
    assert 185 <= int(out[0, 0, 0]) <= 190


def test_composite_ends_are_exact_and_translucent_backdrops_give_rgba():
    fg = np.full((2, 2, 3), 77, np.uint8)
    alpha = np.array([[0, 255], [0, 255]], np.uint8)
    out = composite(fg, alpha, solid((2, 2), (10, 200, 30, 255)))
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == [10, 200, 30] and out[0, 1].tolist() == [77, 77, 77]
    clear = composite(fg, alpha, solid((2, 2), (10, 200, 30, 0)))
    assert clear.shape == (2, 2, 4)
    assert clear[0, 0, 3] == 0 and clear[0, 1].tolist() == [77, 77, 77, 255]


def test_solid_is_a_view_with_alpha_only_when_translucent():
    assert solid((4, 3), RED).shape == (3, 4, 3)
    assert solid((4, 3), (255, 0, 0, 128)).shape == (3, 4, 4)


def test_vertical_gradient_runs_from_top_to_bottom():
    out = gradient((64, 48), RED, BLUE, "vertical")
    assert out.shape == (48, 64, 3)
    assert np.abs(out[0].astype(int) - [255, 0, 0]).max() <= 1
    assert np.abs(out[-1].astype(int) - [0, 0, 255]).max() <= 1
    middle = out[24].astype(int)
    assert np.all(np.abs(middle - [127, 0, 128]) <= 4)
    assert np.all(np.diff(out[:, 10, 2].astype(int)) >= -1)  # monotonic up to the dither


def test_radial_gradient_runs_from_the_centre_to_the_corners():
    out = gradient((65, 49), WHITE, BLUE, "radial").astype(int)
    assert np.abs(out[24, 32] - [255, 255, 255]).max() <= 1
    for y, x in ((0, 0), (0, 64), (48, 0), (48, 64)):
        assert np.abs(out[y, x] - [0, 0, 255]).max() <= 1
    assert out[24, 0, 0] > out[0, 0, 0]  # an edge midpoint is nearer the centre than a corner


def test_gradient_dither_breaks_bands_without_noise():
    out = gradient((256, 256), (0, 0, 0, 255), (16, 16, 16, 255), "vertical").astype(int)
    band = out[132:136, :, 0]  # one 4-row period of the dither, between levels 8 and 9
    assert set(np.unique(band).tolist()) <= {8, 9}
    assert len(np.unique(out[135, :, 0])) == 2  # two levels interleaved, not one flat band
    assert abs(band.mean() - 16 * 133.5 / 255) < 0.1  # and right on average


def two_tone(width: int, height: int, *, split: str) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    if split == "rows":
        image[: height // 2] = RED[:3]
        image[height // 2 :] = BLUE[:3]
    else:
        image[:, : width // 2] = RED[:3]
        image[:, width // 2 :] = BLUE[:3]
    return image


@pytest.mark.parametrize(
    ("position", "row", "expected"),
    [("center", 200, BLUE), ("top", 200, RED), ("center", 150, RED), ("bottom", 150, BLUE)],
)
def test_fill_covers_the_output_and_keeps_the_anchored_part(position, row, expected):
    background = two_tone(100, 100, split="rows")  # scaled to 480x480, 120 rows to crop
    out = place_image(background, (480, 360), "fill", position)
    assert out.shape == (360, 480, 3)
    assert out[row, 5].tolist() == list(expected[:3])


def test_fit_shows_everything_and_pads_by_the_anchor():
    background = np.full((100, 100, 3), BLUE[:3], np.uint8)
    centred = place_image(background, (480, 360), "fit", "center", WHITE)
    assert centred.shape == (360, 480, 3)
    assert centred[5, 5].tolist() == [255, 255, 255] and centred[5, 474].tolist() == [255] * 3
    assert centred[180, 240].tolist() == [0, 0, 255]
    left = place_image(background, (480, 360), "fit", "left", WHITE)
    assert left[5, 5].tolist() == [0, 0, 255] and left[5, 474].tolist() == [255, 255, 255]


def test_stretch_ignores_the_aspect_ratio():
    out = place_image(two_tone(100, 100, split="columns"), (480, 360), "stretch")
    assert out.shape == (360, 480, 3)
    assert out[0, 0].tolist() == [255, 0, 0] and out[359, 479].tolist() == [0, 0, 255]
    assert out[100, 230].tolist() == [255, 0, 0] and out[100, 250].tolist() == [0, 0, 255]


def test_transparent_parts_of_a_background_show_the_pad_colour():
    background = np.zeros((10, 10, 4), np.uint8)
    background[:, :5] = (255, 0, 0, 255)  # right half fully transparent
    out = place_image(background, (10, 10), "stretch", pad=(0, 255, 0, 255))
    assert out.shape == (10, 10, 3)
    assert out[5, 2].tolist() == [255, 0, 0] and out[5, 8].tolist() == [0, 255, 0]


def disc_on_stripes(size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size]
    inside = (xx - size / 2) ** 2 + (yy - size / 2) ** 2 <= (size * 0.3) ** 2
    image = np.zeros((size, size, 3), np.uint8)
    image[:] = (0, 200, 0)
    image[(xx // 4) % 2 == 0] = (0, 120, 0)  # fine green stripes: detail to blur away
    image[inside] = (250, 60, 200)  # a magenta subject
    return image, (inside * 255).astype(np.uint8)


def test_blur_behind_smooths_the_background_without_a_subject_glow():
    image, alpha = disc_on_stripes()
    out = blur_behind(image, alpha, image, radius=8).astype(int)
    ring = (slice(100, 101), slice(30, 38))  # just outside the disc's left edge (at x=40)
    assert out[ring][..., 0].max() <= 3 and out[ring][..., 2].max() <= 3  # no magenta
    far = out[10:20, 10:60, 1]
    assert far.std() < 3  # the stripes (std ~40) are gone
    assert 150 <= far.mean() <= 175  # the mean light of the stripes, in linear light


def test_blur_behind_fills_pixels_with_no_background_nearby():
    image = np.full((40, 40, 3), 90, np.uint8)
    alpha = np.full((40, 40), 255, np.uint8)
    alpha[:, :2] = 0
    out = blur_behind(image, alpha, image, radius=2)
    assert out.shape == (40, 40, 3)
    assert np.isfinite(out).all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id_blue", (0x62, 0x8B, 0xCE, 255)),
        ("ID_RED", (0xD7, 0x45, 0x32, 255)),
        ("#00ff0080", (0, 255, 0, 128)),
        ("00ff00", (0, 255, 0, 255)),
        ("cornflowerblue", (100, 149, 237, 255)),
    ],
)
def test_colours_are_presets_hex_with_or_without_hash_or_css_names(text, expected):
    assert resolve_color(text) == expected


def test_an_unknown_colour_lists_the_presets():
    with pytest.raises(ValidationError) as caught:
        resolve_color("ultraviolet")
    assert "id_blue" in caught.value.details["presets"]


def test_id_photo_sizes_match_the_published_pixel_sizes():
    sizes = {s.name: (s.width_px, s.height_px) for s in ID_PHOTO_SIZES}
    assert sizes["one_inch"] == (295, 413)
    assert sizes["two_inch"] == (413, 579)
    assert sizes["small_one_inch"] == (260, 378)
    assert sizes["large_one_inch"] == (390, 567)
    assert sizes["passport"] == (413, 531)
    assert sizes["us_passport"] == (600, 600)
    for size in ID_PHOTO_SIZES:
        assert size.head_height_ratio + size.top_margin_ratio < 0.95
