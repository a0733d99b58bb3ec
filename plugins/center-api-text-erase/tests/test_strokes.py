"""Text erase by strokes: only the letters go; lines and the paper between letters stay."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from center_api_text_erase.detector import TextBox
from center_api_text_erase.strokes import stroke_mask

from center_api.testing import slice_client

SHARED_TEXT = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "text"
# The erased share of a shared text photo stays below this (whole boxes: up to 0.59; these
# photos are mostly text), and below this share of what whole boxes erase.
MAX_ERASED_SHARE = 0.30
MAX_SHARE_OF_BOXES = 0.6


def box(x1: int, y1: int, x2: int, y2: int) -> TextBox:
    points = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.int32)
    return TextBox(points=points, score=0.9)


def signboard() -> np.ndarray:
    """Dark letters on light paper, a ruling line through the box, white-on-blue letters."""
    pixels = np.full((200, 400, 3), 230, np.uint8)
    cv2.putText(pixels, "EXIT", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 4)
    pixels[95:98, :] = (60, 60, 60)  # a ruling line crossing the box below the word
    pixels[120:190, 20:380] = (30, 60, 160)
    cv2.putText(pixels, "WAY", (60, 172), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (250, 250, 250), 3)
    return pixels


def test_the_mask_covers_the_letters_not_the_box_nor_the_line():
    pixels = signboard()
    boxes = [box(20, 30, 260, 105), box(40, 125, 240, 185)]
    mask = stroke_mask(pixels, boxes) > 0
    dark = pixels.min(axis=2) < 60
    dark[95:, :] = False  # the line and the blue panel
    white = pixels.min(axis=2) > 240
    assert mask[dark].all() and mask[white].all()  # every letter pixel, either polarity
    assert not mask[95:98, :].any()  # the line crosses the box: it is not text
    box_area = 240 * 75 + 200 * 60
    assert mask.sum() < 0.6 * box_area  # the paper between the letters stays
    # Grown by about the stroke width: the anti-aliased rim goes with the letters.
    rim = cv2.dilate(dark.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert mask[rim & ~dark].mean() > 0.9


def test_a_box_without_contrast_erases_nothing():
    pixels = np.full((60, 120, 3), 128, np.uint8)
    assert stroke_mask(pixels, [box(10, 10, 110, 50)]).max() == 0


def test_erase_reports_its_share_and_keeps_the_line(tmp_path, text_model_dir):
    pixels = signboard()
    data = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))[1].tobytes()
    with slice_client(tmp_path, "text_erase") as client:
        strokes = client.post("/api/v1/text-erase/erase", files={"file": ("s.png", data)})
        boxes = client.post(
            "/api/v1/text-erase/erase", files={"file": ("s.png", data), "mask": (None, "boxes")}
        )
    assert strokes.status_code == 200, strokes.text
    ours, theirs = float(strokes.headers["x-erased-share"]), float(boxes.headers["x-erased-share"])
    assert 0 < ours < 0.7 * theirs
    out = cv2.cvtColor(cv2.imdecode(np.frombuffer(strokes.content, np.uint8), 1), cv2.COLOR_BGR2RGB)
    assert np.abs(out[95:98, 5:395].astype(int) - 60).max() <= 2  # the ruling line is intact
    assert out[40:90, 40:250].min() > 120  # no dark letter left


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason="shared text photos are not present")
@pytest.mark.parametrize("name", ["rapidocr_en.jpg", "easyocr_korean.png", "sk_page.png"])
def test_real_photos_lose_their_text_and_keep_most_pixels(tmp_path, text_model_dir, name):
    photo = {"file": ("a", (SHARED_TEXT / name).read_bytes())}
    with slice_client(tmp_path, "text_erase") as client:
        before = client.post("/api/v1/text-erase/detect", files=photo).json()
        erased = client.post("/api/v1/text-erase/erase", files=photo)
        boxes = client.post("/api/v1/text-erase/erase", files={**photo, "mask": (None, "boxes")})
        after = client.post("/api/v1/text-erase/detect", files={"file": ("b", erased.content)})
    share = float(erased.headers["x-erased-share"])
    box_share = float(boxes.headers["x-erased-share"])
    found = after.json()["count"]
    print(f"\n{name}: {before['count']} boxes, {found} after; erased {share:.3f} ({box_share:.3f})")
    assert before["count"] >= 4
    assert share < MAX_ERASED_SHARE and share < MAX_SHARE_OF_BOXES * box_share
    assert found <= max(1, before["count"] // 4)
