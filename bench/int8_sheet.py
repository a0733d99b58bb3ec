"""Contact sheet of u2netp against u2netp-int8: the photos where the two alphas differ most.

``python bench/int8_sheet.py [--data ../shared/testdata/cutout] [--rows 6] [--out int8_sheet.png]``

Each row: the photo | u2netp's alpha | u2netp-int8's alpha | |difference| x4, with the two
models' IoU against the human mask in the label. Prints the mean absolute alpha difference and
the agreement (IoU of the two masks) over every photo.
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO
from cutout_quality import score
from quantize import pairs

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import SessionCache
from center_api.sdk.vision.segmentation import predict_alpha

CELL = 240


def cell(pixels: np.ndarray) -> np.ndarray:
    """``pixels`` (grey or RGB) fitted into a CELL x CELL RGB tile."""
    rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
    scale = CELL / max(rgb.shape[:2])
    small = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)))
    tile = np.full((CELL, CELL, 3), 40, np.uint8)
    tile[: small.shape[0], : small.shape[1]] = small
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/testdata/cutout")
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("int8_sheet.png"))
    args = parser.parse_args()
    cache = SessionCache(
        ModelStore.from_directory(REPO / "model_store"), InferenceSettings(), Metrics()
    )
    models = cache.get("u2netp"), cache.get("u2netp-int8")
    rows, differences, agreements = [], [], []
    for name, rgb, mask in pairs(args.data):
        first, second = (predict_alpha(model, rgb) for model in models)
        difference = np.abs(first.astype(np.int16) - second).astype(np.uint8)
        a, b = first > 127, second > 127
        agreements.append(float((a & b).sum() / max((a | b).sum(), 1)))
        differences.append(float(difference.mean() / 255))
        label = f"{name[:28]} IoU {score(first, mask)[0]:.3f} / {score(second, mask)[0]:.3f}"
        tiles = [cell(rgb), cell(first), cell(second), cell(np.clip(difference * 4, 0, 255))]
        rows.append((differences[-1], label, np.hstack(tiles)))
    print(f"{len(rows)} photos: mean |alpha difference| {np.mean(differences):.4f}")
    print(f"the two masks' IoU: mean {np.mean(agreements):.4f}, min {min(agreements):.4f}")
    picked = sorted(rows, key=lambda row: -row[0])[: args.rows]
    sheet = []
    for _, label, strip in picked:
        cv2.putText(strip, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
        sheet.append(strip)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(sheet), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} (rows: photo | u2netp | u2netp-int8 | difference x4)")


if __name__ == "__main__":
    main()
