"""Edge refinement: a too-hard mask edge re-measured from the colours."""

import cv2
import numpy as np

from center_api.slices.background_replace.edges import edge_band, refine_edge_alpha

ORANGE = np.array([230, 110, 30], np.float32)
GREEN = np.array([20, 220, 40], np.float32)


def soft_disc(
    subject: np.ndarray = ORANGE, background: np.ndarray = GREEN, sigma: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A defocused disc: the photo, its true coverage, and a network-like hard mask."""
    yy, xx = np.mgrid[0:240, 0:240].astype(np.float32)
    inside = ((xx - 120) ** 2 + (yy - 120) ** 2 <= 70**2).astype(np.float32)
    coverage = cv2.GaussianBlur(inside, (0, 0), sigma)
    rgb = coverage[..., None] * subject + (1 - coverage[..., None]) * background
    hard = cv2.GaussianBlur(inside, (0, 0), 1.0)  # a ramp of ~2 px where the truth has ~8
    to_u8 = lambda v: np.clip(v * 255 + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), coverage, to_u8(hard)


def test_a_too_hard_edge_gets_the_true_soft_coverage_back():
    rgb, coverage, hard = soft_disc()
    refined = refine_edge_alpha(rgb, hard, band=6)
    before = np.abs(hard / 255 - coverage).mean()
    after = np.abs(refined / 255 - coverage).mean()
    assert after < 0.25 * before
    edge = (coverage > 0.05) & (coverage < 0.95)
    assert np.abs(refined / 255 - coverage)[edge].max() < 0.1


def test_pixels_away_from_the_edge_are_untouched():
    rgb, _, hard = soft_disc()
    refined = refine_edge_alpha(rgb, hard, band=4)
    assert np.array_equal(refined[120, 120:130], hard[120, 120:130])  # deep inside
    assert np.array_equal(refined[0:10, 0:10], hard[0:10, 0:10])  # far outside


def test_colours_that_do_not_differ_leave_the_network_answer():
    grey_on_grey = soft_disc(np.full(3, 120, np.float32), np.full(3, 126, np.float32))
    rgb, _, hard = grey_on_grey
    refined = refine_edge_alpha(rgb, hard, band=6)
    assert np.abs(refined.astype(int) - hard).max() <= 16


def test_masks_without_both_sides_come_back_unchanged():
    rgb = np.full((50, 50, 3), 100, np.uint8)
    for alpha in (np.zeros((50, 50), np.uint8), np.full((50, 50), 255, np.uint8)):
        assert refine_edge_alpha(rgb, alpha, band=3) is alpha


def test_the_band_follows_the_network_resolution():
    assert edge_band((480, 360, 3)) == 4
    assert edge_band((4000, 3000, 3)) == 31
    assert edge_band((100, 80)) == 3
