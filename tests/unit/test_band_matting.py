"""Band matting: hair takes the new background, the interior and the model's subject stay."""

import numpy as np

from center_api.slices.background_replace.band_matting import matte_band

ORANGE, BLUE = (230, 120, 40), (30, 60, 200)


def hairy_disc() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A disc with a ring of one-pixel strands over blue, its true alpha, and a network-like
    mask that calls the whole ring nearly opaque (the haze)."""
    size = 240
    yy, xx = np.mgrid[0:size, 0:size]
    radius = np.hypot(yy - size / 2, xx - size / 2)
    angle = np.arctan2(yy - size / 2, xx - size / 2)
    strands = (np.sin(angle * 90) > 0.3) & (radius < 80)
    truth = ((radius < 64) | strands).astype(np.float32)
    rgb = np.where(truth[..., None] > 0, ORANGE, BLUE).astype(np.uint8)
    # Opaque inside, a smooth ramp over the strands (its 50 % contour at r = 72).
    model = np.clip((84 - radius) / 24, 0, 1) * 255
    return rgb, (truth * 255).astype(np.uint8), (model + 0.5).astype(np.uint8)


def test_strands_over_the_background_lose_the_haze():
    rgb, truth, model = hairy_disc()
    out = matte_band(rgb, model, scale=1.0)
    ring = (model > 12) & (model < 243) & (truth == 0)  # between the strands
    before = np.abs(model[ring].astype(int) - truth[ring]).mean()
    after = np.abs(out[ring].astype(int) - truth[ring]).mean()
    print(f"\nalpha error between strands: model {before:.1f}, matted {after:.1f} levels")
    assert after < 0.6 * before


def test_the_interior_and_the_model_subject_stay():
    rgb, _, model = hairy_disc()
    out = matte_band(rgb, model, scale=1.0)
    assert np.array_equal(out[model == 255], model[model == 255])
    assert (out[model >= 128] >= 128).all()  # thinned at most to a half: masks lose nothing
    assert np.array_equal(out[model == 0], model[model == 0])


def test_no_band_is_no_change():
    rgb = np.zeros((50, 60, 3), np.uint8)
    empty = np.zeros((50, 60), np.uint8)
    assert matte_band(rgb, empty, 1.0) is empty
