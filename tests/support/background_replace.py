"""Helpers shared by the background_replace tests: answers as pixels, halo measures."""

import io

import cv2
import numpy as np
from PIL import Image

API = "/api/v1/background-replace"
ID_BLUE = (0x62, 0x8B, 0xCE)
GREEN = np.array([20, 220, 40], np.float32)


def ok(response) -> np.ndarray:
    """The pixels of a successful image answer."""
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)))


def edge_band(mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """Pixels within ``radius`` of the edge of ``mask``, on either side."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    solid = mask.astype(np.uint8)
    return (cv2.dilate(solid, kernel) > 0) & (cv2.erode(solid, kernel) == 0)


def green_excess(rgb: np.ndarray, band: np.ndarray) -> float:
    """Mean of max(G - (R + B) / 2, 0) over ``band``: how much green shows there."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    return float(np.maximum(g - (r + b) / 2, 0)[band].mean())
