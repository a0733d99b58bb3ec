"""The subject's edges through the real app: solid interior, size-relative blur, uncertainty."""

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import assert_error, encode_png, subject_on_background
from tests.support.background_replace import API, ok

PORTRAIT = "cutout/pseudo_gt/images/p_22fc0130.jpg"  # a dark jacket the network doubts


def photo(shared_dir: Path, name: str, long_side: int) -> np.ndarray:
    image = Image.open(shared_dir / "testdata" / name).convert("RGB")
    scale = long_side / max(image.size)
    return np.asarray(image.resize((round(image.width * scale), round(image.height * scale))))


def post(client, path: str, image: np.ndarray, **fields):
    files = {"file": ("photo.png", encode_png(image), "image/png")}
    return client.post(path, files=files, data=fields or None)


@pytest.mark.shared_data
def test_an_opaque_interior_is_the_photo_bit_for_bit_after_background_replace(client, shared_dir):
    image = photo(shared_dir, PORTRAIT, 640)
    mask = ok(post(client, "/api/v1/cutout/segment", image, channels="alpha"))
    response = post(client, f"{API}/color", image, color="id_blue")
    assert float(response.headers["x-uncertainty"]) > 0.05
    out = ok(response)
    # Deep inside the network's own mask (6 of its pixels from the 50 % contour: the edge
    # refinement may move the contour by up to 2.5), where it is fairly sure (alpha >= 0.6):
    # every pixel is the photo's.
    reach = round(6 * 640 / 320)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    deep = (cv2.erode((mask >= 128).astype(np.uint8), kernel) > 0) & (mask >= 153)
    doubted = deep & (mask < 250)
    print(f"\ninterior: {deep.sum()} px, {doubted.sum()} of them doubted by the network")
    assert doubted.sum() > 500  # the check can fail: the network really doubts the jacket
    assert np.array_equal(out[deep], image[deep])


@pytest.mark.shared_data
def test_blur_looks_the_same_at_512_and_2048_px_after_downscaling(client, shared_dir):
    name = "cutout/images/coco_giraffe08_000000282912.jpg"
    small, large = photo(shared_dir, name, 512), photo(shared_dir, name, 2048)

    def blurred(image: np.ndarray, **fields: str) -> np.ndarray:
        out = ok(post(client, f"{API}/blur", image, **fields))
        size = (small.shape[1], small.shape[0])
        return cv2.resize(out, size, interpolation=cv2.INTER_AREA).astype(np.float32)

    ours = np.abs(blurred(small) - blurred(large)).mean()
    fixed = np.abs(blurred(small, radius="10") - blurred(large, radius="10")).mean()
    print(f"\nblur 512 vs 2048: share of diagonal {ours:.2f}, fixed 10 px {fixed:.2f} levels")
    assert ours < 3.0 and ours < 0.5 * fixed


@pytest.mark.parametrize("shadow", ["drop", "contact"])
def test_shadow_and_feather_look_the_same_at_512_and_2048_px(client, shadow):
    # The subject stands inside the frame, so its contact shadow shows.
    small, large = subject_on_background((512, 384))[0], subject_on_background((2048, 1536))[0]

    def effect(image: np.ndarray, **fields: str) -> np.ndarray:
        """What the options change, seen at the small size (the masks' own differences
        between the two sizes cancel out)."""

        def scene(**more: str) -> np.ndarray:
            out = ok(post(client, f"{API}/color", image, color="white", **more))
            size = (small.shape[1], small.shape[0])
            return cv2.resize(out, size, interpolation=cv2.INTER_AREA).astype(np.float32)

        return scene(shadow=shadow, **fields) - scene()

    relative = {"shadow_ratio": "0.02", "feather_ratio": "0.004"}
    fixed = {"shadow_radius": "10", "feather": "3"}
    shown = np.abs(effect(small, **relative)).mean()
    ours = np.abs(effect(small, **relative) - effect(large, **relative)).mean()
    pinned = np.abs(effect(small, **fixed) - effect(large, **fixed)).mean()
    darkest = effect(small, shadow_ratio="0.02").min()
    print(f"\n{shadow} 512 vs 2048: share {ours:.2f}, px {pinned:.2f} (effect {shown:.2f})")
    assert darkest < -40  # the shadow shows on the backdrop
    assert ours < 0.5 * pinned and ours < 0.25 * shown


def test_bad_shadow_and_feather_values_are_validation_errors(client):
    image = subject_on_background()[0]
    for fields in (
        {"shadow": "sideways"},
        {"shadow_opacity": "1.5"},
        {"shadow_ratio": "0"},
        {"shadow_radius": "-3"},
        {"feather": "0"},
        {"feather_ratio": "0.5"},
    ):
        assert_error(post(client, f"{API}/blur", image, **fields), 422, "VALIDATION_ERROR")


def test_a_feathered_edge_fades_inwards_and_the_interior_stays_the_photo(client):
    image, truth = subject_on_background()
    hard = ok(post(client, f"{API}/color", image, color="#ff000000", format="png"))[..., 3]
    soft = ok(post(client, f"{API}/color", image, color="#ff000000", format="png", feather="4"))
    alpha = soft[..., 3]
    assert (alpha <= hard).all()  # only inwards: no subject colour where there was none
    inner = cv2.erode(truth.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    assert (alpha[inner] == 255).all() and np.array_equal(soft[inner][:, :3], image[inner])
    soft_band = (alpha > 12) & (alpha < 243)
    assert soft_band.sum() > 1.5 * ((hard > 12) & (hard < 243)).sum()


def test_uncertainty_header_on_cutout_and_background_replace(client):
    image, _ = subject_on_background()
    for path in ("/api/v1/cutout/segment", f"{API}/color"):
        response = post(client, path, image)
        assert response.status_code == 200, response.text
        assert 0.0 <= float(response.headers["x-uncertainty"]) < 0.5
    refined = post(client, "/api/v1/cutout/segment", image, refine="true")
    assert refined.status_code == 200, refined.text
    alpha = np.asarray(Image.open(io.BytesIO(refined.content)))[..., 3]
    assert alpha[180, 240] == 255 and alpha[5, 5] == 0


@pytest.mark.shared_data
def test_an_id_photo_lets_no_background_through_a_dark_suit(client, shared_dir):
    path = shared_dir / "testdata" / "faces" / "fr_obama.jpg"  # a dark suit and tie

    def id_photo(color: str) -> np.ndarray:
        files = {"file": (path.name, path.read_bytes())}
        response = client.post(
            f"{API}/id-photo", files=files, data={"color": color, "format": "png"}
        )
        return ok(response)

    clear, blue = id_photo("#00000000"), id_photo("id_blue")
    alpha = clear[..., 3]
    # Deep inside the subject (3 % of the photo's height from the 50 % contour): opaque, and
    # the same pixels whatever the new background is.
    reach = round(0.03 * alpha.shape[0])
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    deep = cv2.erode((alpha >= 128).astype(np.uint8), kernel) > 0
    print(f"\ninterior: {deep.sum()} px, {(alpha[deep] < 255).sum()} of them not opaque")
    assert deep.sum() > 0.2 * alpha.size
    assert (alpha[deep] == 255).all()
    assert np.array_equal(blue[deep], clear[deep][:, :3])
