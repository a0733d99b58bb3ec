"""Alpha quality of the cutout slice against ground-truth masks, per option set.

Usage: python bench/cutout_quality.py --data ../shared/testdata/cutout [--model u2netp]

Prints per image IoU / boundary F, then per option set the means of: IoU (alpha > 0.5),
boundary IoU (Cheng et al. 2021, band of 2 % of the diagonal), boundary F (DAVIS-style), MAE,
SAD (sum of absolute alpha differences / 1000, per image) and the opaque-where-translucent
count (pixels whose true alpha is between 0.05 and 0.95 that come out >= 0.98: glass or fur
made solid; only the Adobe images have true soft alpha). GrabCut masks mark an unlabelled
band with 128: those pixels are left out of every metric.
"""

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import with_service

from center_api.slices.cutout.schemas import CutoutOptions
from center_api.slices.cutout.service import CutoutService

OPTION_SETS = {
    "default": {},
    "post_process_mask": {"post_process_mask": True},
    "refine": {"refine": True},
}
Scores = tuple[float, float, float, float, float, int]  # IoU, MAE, BF, BIoU, SAD, opaque
Row = tuple[str, float, float, float, float, float, int]


def boundary_f(pred: np.ndarray, truth: np.ndarray, known: np.ndarray) -> float:
    """F-score of boundary pixels matched within 0.75% of the image diagonal (DAVIS-style)."""
    tolerance = max(1, round(0.0075 * float(np.hypot(*pred.shape))))
    kernel = np.ones((3, 3), np.uint8)

    def edges(mask: np.ndarray) -> np.ndarray:
        m = mask.astype(np.uint8)
        return (cv2.morphologyEx(m, cv2.MORPH_GRADIENT, kernel) > 0) & known

    pe, te = edges(pred), edges(truth)
    if not pe.any() and not te.any():
        return 1.0
    dist_t = cv2.distanceTransform((~te).astype(np.uint8), cv2.DIST_L2, 3)
    dist_p = cv2.distanceTransform((~pe).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((dist_t[pe] <= tolerance).mean()) if pe.any() else 0.0
    recall = float((dist_p[te] <= tolerance).mean()) if te.any() else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def boundary_iou(pred: np.ndarray, truth: np.ndarray, known: np.ndarray) -> float:
    """IoU of the two masks' inner boundary bands (2 % of the diagonal wide)."""
    reach = max(1, round(0.02 * float(np.hypot(*pred.shape))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))

    def band(mask: np.ndarray) -> np.ndarray:
        m = mask.astype(np.uint8)
        padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        inner = cv2.erode(padded, kernel)[1:-1, 1:-1]
        return (m > 0) & (inner == 0) & known

    pb, tb = band(pred), band(truth)
    union = (pb | tb).sum()
    return float((pb & tb).sum() / union) if union else 1.0


def score(alpha: np.ndarray, truth: np.ndarray) -> Scores:
    """(IoU, MAE, boundary F, boundary IoU, SAD, opaque-where-translucent) over labelled pixels."""
    known = truth != 128
    pred, real = alpha > 127, truth > 127
    union = ((pred | real) & known).sum()
    iou = float(((pred & real) & known).sum() / union) if union else 1.0
    difference = np.abs(alpha[known] / 255.0 - truth[known] / 255.0)
    translucent = (truth > 12) & (truth < 243) & (truth != 128)
    opaque = int(np.count_nonzero(translucent & (alpha >= 250)))
    return (
        iou,
        float(difference.mean()),
        boundary_f(pred, real, known),
        boundary_iou(pred, real, known),
        float(difference.sum() / 1000.0),
        opaque,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder with images/ and masks/")
    parser.add_argument("--model", default="u2netp")
    parser.add_argument("--prefix", default="", help="only images whose name starts with this")
    args = parser.parse_args()
    images = sorted(p for p in (args.data / "images").iterdir() if p.name.startswith(args.prefix))
    pairs = [(p, args.data / "masks" / f"{p.stem}.png") for p in images]
    pairs = [(p, m) for p, m in pairs if m.exists()]

    async def run(service: CutoutService) -> dict[str, list[Row]]:
        results: dict[str, list[Row]] = {}
        for name, extra in OPTION_SETS.items():
            options = CutoutOptions(model=args.model, channels="alpha", size="full", **extra)
            rows = []
            for image_path, mask_path in pairs:
                result = await service.segment(image_path.read_bytes(), options)
                alpha = np.asarray(Image.open(io.BytesIO(result.content)).convert("L"))
                truth = np.asarray(Image.open(mask_path).convert("L"))
                rows.append((image_path.stem, *score(alpha, truth)))
            results[name] = rows
        return results

    results = with_service(CutoutService, run)
    print(f"model={args.model} images={len(pairs)}")
    print(f"{'image':34}" + "".join(f"{name:>22}" for name in OPTION_SETS))
    for index, (image_path, _) in enumerate(pairs):
        cells = "".join(
            f"{r[index][1]:>8.3f}/{r[index][3]:.3f}".rjust(22) for r in results.values()
        )
        print(f"{image_path.stem:34}{cells}")
    print("\nmean over all images (SAD: mean per image; opaque: sum over all images):")
    for name, rows in results.items():
        iou, mae, bf, biou, sad = (float(np.mean([r[i] for r in rows])) for i in range(1, 6))
        opaque = sum(r[6] for r in rows)
        gc = [r for r in rows if r[0].startswith("gc_")]
        gc_iou = float(np.mean([r[1] for r in gc])) if gc else float("nan")
        print(
            f"  {name:18} IoU {iou:.4f}  BIoU {biou:.4f}  BF {bf:.4f}  MAE {mae:.4f}  "
            f"SAD {sad:7.2f}  opaque-where-translucent {opaque:7d}   (gc_ IoU {gc_iou:.3f})"
        )


if __name__ == "__main__":
    main()
