"""Print files: dpi in the file, JPEG under a byte budget, sheets of copies."""

import io

import numpy as np
import pytest
from PIL import Image

from center_api.core.errors import TargetSizeUnreachableError, ValidationError
from center_api.core.settings import ImageSettings
from center_api.slices.background_replace.presets import print_sheet
from center_api.slices.background_replace.print_output import (
    CUT_GUIDE,
    encode_jpeg_within,
    encode_with_dpi,
    tile_on_sheet,
)

SETTINGS = ImageSettings()


def noisy_photo(width: int = 295, height: int = 413) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_dpi_is_written_into_the_file(fmt):
    content = encode_with_dpi(noisy_photo(40, 30), fmt, SETTINGS, 600)
    dpi = Image.open(io.BytesIO(content)).info["dpi"]
    assert tuple(round(v) for v in dpi) == (600, 600)


def test_webp_carries_the_resolution_in_exif():
    content = encode_with_dpi(noisy_photo(40, 30), "webp", SETTINGS, 300)
    exif = Image.open(io.BytesIO(content)).getexif()
    assert (float(exif[0x011A]), float(exif[0x011B]), exif[0x0128]) == (300.0, 300.0, 2)


def test_jpeg_within_a_budget_takes_the_best_quality_that_fits():
    photo = noisy_photo()
    budget = 60 * 1024
    encoded = encode_jpeg_within(photo, SETTINGS, 300, budget)
    assert len(encoded.content) <= budget
    assert encoded.quality is not None and encoded.quality < 95
    one_better = encode_with_dpi(photo, "jpg", SETTINGS, 300, encoded.quality + 1)
    assert len(one_better) > budget
    assert Image.open(io.BytesIO(encoded.content)).info["dpi"] == (300, 300)


def test_an_impossible_budget_says_how_small_it_can_get():
    with pytest.raises(TargetSizeUnreachableError) as caught:
        encode_jpeg_within(noisy_photo(), SETTINGS, 300, 1024)
    assert caught.value.details["smallest_bytes"] > 1024


def test_a_six_inch_sheet_holds_ten_one_inch_photos_with_guides_in_the_gaps():
    photo = np.zeros((413, 295, 3), np.uint8)
    sheet = tile_on_sheet(photo, 300, print_sheet("six_inch"))
    assert sheet.pixels.shape == (1200, 1800, 3)
    assert (sheet.copies, sheet.columns, sheet.rows) == (10, 5, 2)
    black = (sheet.pixels == 0).all(axis=2)
    assert black.sum() == 10 * 413 * 295  # every copy whole, no guide across a photo
    guides = (sheet.pixels == CUT_GUIDE[:3]).all(axis=2)
    columns_with_guides = np.flatnonzero(guides.sum(axis=0) > 400)
    assert len(columns_with_guides) == 6  # one per gap, outer ones included
    assert not black[:, columns_with_guides].any()
    # the guides frame the used cells only: none runs out to the paper's edge
    ys, xs = np.nonzero(guides)
    assert ys.min() > 0 and xs.min() > 0 and ys.max() < 1199 and xs.max() < 1799
    box = black | guides
    assert not guides[: ys.min()].any() and not box[:, : xs.min()].any()


def test_fewer_copies_leave_empty_cells_without_guides():
    photo = np.zeros((413, 295, 3), np.uint8)
    sheet = tile_on_sheet(photo, 300, print_sheet("six_inch"), copies=3)
    assert (sheet.copies, sheet.columns, sheet.rows) == (3, 5, 2)
    black = (sheet.pixels == 0).all(axis=2)
    assert black.sum() == 3 * 413 * 295
    guides = (sheet.pixels == CUT_GUIDE[:3]).all(axis=2)
    _, xs = np.nonzero(guides)
    _, photo_xs = np.nonzero(black)
    assert xs.max() - photo_xs.max() < 20  # nothing drawn round the empty cells to the right
    assert not guides[620:].any()  # nor round the empty second row


def test_a_photo_at_another_dpi_is_printed_at_its_physical_size():
    photo = np.zeros((826, 590, 3), np.uint8)  # 1 inch photo at 600 dpi
    sheet = tile_on_sheet(photo, 600, print_sheet("six_inch"))
    assert sheet.copies == 10
    assert (sheet.pixels == 0).all(axis=2).sum() == 10 * 413 * 295


def test_a_photo_larger_than_the_sheet_is_refused():
    with pytest.raises(ValidationError):
        tile_on_sheet(np.zeros((1300, 900, 3), np.uint8), 300, print_sheet("six_inch"))
