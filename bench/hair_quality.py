"""Hair "smoke": background replace's edges against true soft alpha, without and with band matting.

Usage: python bench/hair_quality.py [--data ../shared/testdata/cutout] [--model u2netp]
[--skip-masks]

Per image with true soft alpha (``images/adobe_*`` with ``masks/``, and the portraits in
``pseudo_gt/``, whose masks are a stronger model's output: regression use only), the subject
is cut as background replace cuts it (`cut_subject` + `solid_subject`), once with the band
matting switched off ("before") and once as shipped ("after"). In the truth's uncertain band
(its soft pixels and its edge, widened by the edge band) it prints:

- SAD: sum of |alpha - truth| / 1000; MSE: mean squared alpha error x 1000;
- grad: gradient error (Gaussian derivative, sigma 1.4) / 1000;
- smoke: mean excess alpha (%) where the truth is below 0.5 (the grey haze between strands);
- comp: mean error (levels, the worst channel) of the result composited on blue and on red
  against the truth composited the same way (its colours from the same foreground estimate).

Then, on every image with a ground-truth mask (``images/`` + ``masks/``), the mean IoU and
boundary F of the same alpha before and after (as ``bench/cutout_quality.py`` scores them), so
the band matting is seen not to cost the masks anything.
"""

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, bench_settings
from cutout_quality import score

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.sdk import InferenceKernel
from center_api.sdk.vision import estimate_foreground
from center_api.slices.background_replace import subject as subject_module
from center_api.slices.background_replace.edges import edge_band
from center_api.slices.background_replace.light import composite

BACKDROPS = (np.array([0, 0, 255], np.uint8), np.array([230, 20, 20], np.uint8))


def soft_pairs(data: Path) -> list[tuple[Path, Path]]:
    pairs = [(p, data / "masks" / p.name) for p in sorted((data / "images").glob("adobe_*"))]
    folder = data / "pseudo_gt"
    pairs += [(p, folder / "masks" / f"{p.stem}.png") for p in sorted(folder.glob("images/*"))]
    return [(p, m) for p, m in pairs if m.exists()]


def truth_band(truth: np.ndarray) -> np.ndarray:
    reach = edge_band(truth.shape)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    soft = ((truth > 12) & (truth < 243)).astype(np.uint8)
    solid = (truth >= 128).astype(np.uint8)
    edge = cv2.morphologyEx(solid, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return cv2.dilate(soft | edge, kernel) > 0


def gradient(alpha: np.ndarray) -> np.ndarray:
    values = alpha.astype(np.float32) / 255.0
    gx = cv2.GaussianBlur(cv2.Sobel(values, cv2.CV_32F, 1, 0), (0, 0), 1.4)
    gy = cv2.GaussianBlur(cv2.Sobel(values, cv2.CV_32F, 0, 1), (0, 0), 1.4)
    return np.hypot(gx, gy)


def band_figures(
    rgb: np.ndarray, truth: np.ndarray, result: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """SAD, MSE, grad, smoke, comp (see the module docstring) of (alpha, foreground)."""
    alpha, foreground = result
    band = truth_band(truth)
    error = (alpha.astype(np.float32) - truth) / 255.0
    comp = 0.0
    truth_fg = estimate_foreground(rgb, truth)
    for color in BACKDROPS:
        backdrop = np.broadcast_to(color, rgb.shape)
        ours = composite(foreground, alpha, backdrop).astype(np.float32)
        real = composite(truth_fg, truth, backdrop).astype(np.float32)
        comp += float(np.abs(ours - real).max(axis=2)[band].mean()) / len(BACKDROPS)
    return np.array(
        [
            np.abs(error[band]).sum() / 1000,
            (error[band] ** 2).mean() * 1000,
            np.abs(gradient(alpha) - gradient(truth))[band].sum() / 1000,
            np.maximum(error, 0)[band & (truth < 128)].mean() * 100,
            comp,
        ]
    )


class Cutter:
    """Background replace's subject, with the band matting on or off."""

    def __init__(self, kernel: InferenceKernel, model: str = "u2netp") -> None:
        self._kernel = kernel
        self._model = model
        self._matte = subject_module.matte_band
        self.seconds = {"before": 0.0, "after": 0.0}

    def cut(self, rgb: np.ndarray, *, matte: bool) -> tuple[np.ndarray, np.ndarray]:
        subject_module.matte_band = self._matte if matte else (lambda _rgb, a, _s: a)  # type: ignore[assignment]
        start = time.perf_counter()
        model = self._model
        subject = subject_module.cut_subject(self._kernel, model, rgb, clean=True, pure=True)
        subject = subject_module.solid_subject(self._kernel, model, subject, rgb)
        self.seconds["after" if matte else "before"] += time.perf_counter() - start
        subject_module.matte_band = self._matte  # type: ignore[assignment]
        return subject.alpha, subject.foreground


def read(path: Path, mode: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert(mode))


def soft_report(cutter: Cutter, pairs: list[tuple[Path, Path]]) -> None:
    names = ("SAD", "MSE", "grad", "smoke", "comp")
    print(f"{'image':14}" + "".join(f"{n:>16}" for n in names) + "   (before -> after)")
    totals: dict[str, list[np.ndarray]] = {"before": [], "after": []}
    for image_path, mask_path in pairs:
        rgb, truth = read(image_path, "RGB"), read(mask_path, "L")
        rows = {
            key: band_figures(rgb, truth, cutter.cut(rgb, matte=key == "after")) for key in totals
        }
        for key, values in rows.items():
            totals[key].append(values)
        cells = "".join(
            f"{b:7.2f} ->{a:6.2f}" for b, a in zip(rows["before"], rows["after"], strict=True)
        )
        print(f"{image_path.stem:14}{cells}")
    for subset, keep in (
        ("all", lambda _n: True),
        ("hair (no glass)", lambda n: n != "adobe_bulb"),
    ):
        chosen = [i for i, (p, _) in enumerate(pairs) if keep(p.stem)]
        means = {k: np.mean([v[i] for i in chosen], axis=0) for k, v in totals.items()}
        cells = "".join(
            f"{b:7.2f} ->{a:6.2f}" for b, a in zip(means["before"], means["after"], strict=True)
        )
        print(f"{'mean ' + subset:14}{cells}   ({len(chosen)} images)")
    print(
        f"time in cut_subject + solid_subject: before {cutter.seconds['before']:.1f} s, "
        f"after {cutter.seconds['after']:.1f} s"
    )


def mask_pairs(data: Path) -> Iterator[tuple[Path, Path]]:
    for image_path in sorted((data / "images").iterdir()):
        mask_path = data / "masks" / f"{image_path.stem}.png"
        if mask_path.exists():
            yield image_path, mask_path


def mask_report(cutter: Cutter, data: Path) -> None:
    scores: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for image_path, mask_path in mask_pairs(data):
        rgb, truth = read(image_path, "RGB"), read(mask_path, "L")
        for key, rows in scores.items():
            alpha, _ = cutter.cut(rgb, matte=key == "after")
            iou, _mae, bf, *_ = score(alpha, truth)
            rows.append((iou, bf))
    for key, values in scores.items():
        iou, bf = np.mean(values, axis=0)
        print(f"  {key:7} IoU {iou:.4f}  BF {bf:.4f}  ({len(values)} images)")


async def main(data: Path, model: str, with_masks: bool) -> None:
    container = build_container(build_runtime(bench_settings()))
    try:
        cutter = Cutter(await container.get(InferenceKernel), model)
        print(f"model={model}")
        soft_report(cutter, soft_pairs(data))
        if with_masks:
            print("\nmasks of background replace (alpha > 0.5) on the ground-truth set:")
            mask_report(cutter, data)
    finally:
        await container.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/testdata/cutout")
    parser.add_argument("--model", default="u2netp")
    parser.add_argument("--skip-masks", action="store_true", help="only the soft-alpha images")
    args = parser.parse_args()
    if not (args.data / "images").is_dir():
        sys.exit(f"no test images at {args.data}")
    asyncio.run(main(args.data, args.model, not args.skip_masks))
