"""Mask refinement and the solid interior: translucency kept, mistakes fixed, opaque is exact."""

import cv2
import numpy as np

from center_api.sdk.vision.compositing import keep_opaque, solid_interior
from center_api.sdk.vision.matting import clean_mask
from center_api.sdk.vision.refinement import mask_uncertainty, refine_alpha
from center_api.slices.background_replace.light import composite


def disc(size: int = 200, radius: int = 70, value: int = 255) -> np.ndarray:
    alpha = np.zeros((size, size), np.uint8)
    cv2.circle(alpha, (size // 2, size // 2), radius, value, -1)
    return alpha


def test_clean_mask_keeps_a_translucent_window_and_fills_only_confident_pinholes():
    alpha = disc()
    alpha[90:110, 90:110] = 110  # glass: the photo shows through, alpha about 0.43
    alpha[70, 100] = 0  # a pinhole in confident foreground: the network's mistake
    alpha[128:134, 98:106] = 200  # a ring the network doubts ...
    alpha[130:132, 100:104] = 0  # ... around a hole: left as it is
    cleaned = clean_mask(alpha)
    assert np.array_equal(cleaned[90:110, 90:110], alpha[90:110, 90:110])
    assert cleaned[70, 100] == 255
    assert cleaned[130:132, 100:104].max() == 0


def test_clean_mask_drops_specks_by_their_size_against_the_subject():
    alpha = disc()
    alpha[5:9, 5:9] = 255  # 16 px against a subject of about 15 000
    cleaned = clean_mask(alpha)
    assert cleaned[5:9, 5:9].max() == 0
    assert np.array_equal(cleaned[60:140, 60:140], alpha[60:140, 60:140])


def test_refinement_keeps_a_translucent_region_translucent():
    # The photo: a dark subject on light grey, with a window where the grey shows half through.
    truth = disc(240, 90).astype(np.float32) / 255.0
    truth[100:140, 100:140] = 0.45
    background, subject = np.float32(210), np.float32(40)
    grey = truth * subject + (1.0 - truth) * background
    rgb = np.repeat(np.clip(grey + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)

    def predict(part: np.ndarray) -> np.ndarray:  # a network that sees the truth, blurred
        height, width = part.shape[:2]
        shown = cv2.resize(truth, (width, height)) if part.shape[:2] != truth.shape else truth
        small = cv2.resize(shown, (60, 60), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (0, 0), 1.0)

    refined = refine_alpha(predict, rgb)
    window = refined[108:132, 108:132].astype(np.float32) / 255.0
    assert 0.3 < float(np.median(window)) < 0.6
    assert refined[120, 60] >= 250 and refined[5, 5] <= 5


def test_solid_interior_fills_doubt_deep_inside_but_not_translucency_or_the_edge():
    alpha = disc(200, 80, 230)  # a dark shirt: the network says 0.9
    alpha[95:105, 95:105] = 100  # glass: the network says 0.4
    edge = cv2.GaussianBlur(disc(200, 80), (0, 0), 2.0)
    alpha = np.where(alpha == 230, np.minimum(edge, 230), alpha).astype(np.uint8)
    out = solid_interior(alpha, scale=200 / 320)
    assert out[100, 40] == 255 and out[60, 100] == 255  # deep inside
    assert np.array_equal(out[95:105, 95:105], alpha[95:105, 95:105])  # translucent: kept
    ring = (alpha > 12) & (alpha < 128)
    assert np.array_equal(out[ring], alpha[ring])  # the soft edge: kept


def test_an_opaque_interior_composites_to_the_photo_bit_for_bit():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)
    alpha = solid_interior(disc(120, 50, 220), scale=0.5)
    foreground = np.full_like(rgb, 77)  # a foreground estimate that got the colours wrong
    keep_opaque(foreground, rgb, alpha)
    backdrop = np.zeros_like(rgb)
    backdrop[:] = (0x62, 0x8B, 0xCE)
    out = composite(foreground, alpha, backdrop)
    opaque = alpha == 255
    assert opaque.sum() > 5000
    assert np.array_equal(out[opaque], rgb[opaque])


def test_uncertainty_is_the_share_of_soft_pixels_in_the_mask():
    alpha = np.zeros((10, 10), np.uint8)
    alpha[:, :5] = 255
    alpha[:, 5] = 128
    assert mask_uncertainty(alpha) == round(10 / 60, 4)
    assert mask_uncertainty(np.zeros((4, 4), np.uint8)) == 0.0
