"""Contact sheets to look at edges and text erase, with the figures they should agree with.

Usage: python bench/edge_sheets.py [--shared ../shared] [--out build/sheets]

Writes three PNGs:

- ``cutout.png``: per photo, the original, the plain cut-out and the ``refine`` cut-out on a
  checkerboard (holes, translucency, specks and rims show against it);
- ``blue.png``: per photo, background replace on blue with the former compositing (the
  network's alpha everywhere) and with the current one (solid interior, photo pixels kept);
- ``text.png``: per text photo, the original, the text erased by strokes, by whole boxes,
  and the stroke mask in red over the photo;
- ``hair.png``: per soft-alpha photo, a crop of its hair or fur as background replace cuts
  it without and with the band matting, on a checkerboard, on blue and on red, each colour
  beside the ground truth composited the same way (the figures: ``bench/hair_quality.py``).

And prints, per sheet row, what to compare it with: the uncertainty, the interior drift
(mean change of the photo deep inside the subject, in levels) and the erased shares.
"""

import argparse
import asyncio
import io
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, bench_settings
from hair_quality import Cutter, soft_pairs
from hair_quality import read as read_full

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.sdk import InferenceKernel
from center_api.sdk.vision import estimate_foreground
from center_api.slices.background_replace import service as replace_service
from center_api.slices.background_replace.light import composite
from center_api.slices.background_replace.schemas import ColorOptions
from center_api.slices.cutout.schemas import CutoutOptions
from center_api.slices.cutout.service import CutoutService

CUTOUT_PHOTOS = (
    "cutout/images/adobe_bulb.png",
    "cutout/images/adobe_dog.png",
    "cutout/images/gc_person1.jpg",
    "cutout/pseudo_gt/images/p_22fc0130.jpg",
    "cutout/pseudo_gt/images/p_514ca06a.jpg",
    "cutout/pseudo_gt/images/p_71bcce3a.jpg",
)
TILE_HEIGHT = 260
HAIR_PHOTOS = ("adobe_dog", "p_07141906", "p_514ca06a", "p_818e689d", "p_bc5cfad1", "p_d684dae3")


def read(path: Path, long_side: int = 800) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    scale = min(1.0, long_side / max(image.size))
    size = (round(image.width * scale), round(image.height * scale))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def pixels_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def on_checkerboard(rgba: np.ndarray, cell: int = 12) -> np.ndarray:
    yy, xx = np.mgrid[0 : rgba.shape[0], 0 : rgba.shape[1]]
    board = np.where(((yy // cell + xx // cell) % 2)[..., None] == 0, 200, 120).astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    mixed = rgba[..., :3].astype(np.float32) * alpha + board * (1.0 - alpha)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def tile(image: np.ndarray, max_width: int = 640) -> np.ndarray:
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    scale = min(TILE_HEIGHT / image.shape[0], max_width / image.shape[1])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image[..., :3], size, interpolation=cv2.INTER_AREA)
    return np.pad(small, ((0, TILE_HEIGHT - size[1]), (0, 0), (0, 0)))


def sheet(rows: list[list[np.ndarray]]) -> np.ndarray:
    lines = [np.hstack([np.pad(tile(t), ((4, 4), (4, 4), (0, 0))) for t in row]) for row in rows]
    width = max(line.shape[1] for line in lines)
    return np.vstack([np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))) for line in lines])


def interior_drift(image: np.ndarray, out: np.ndarray, alpha: np.ndarray) -> float:
    reach = max(2, round(6 * max(alpha.shape) / 320))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    deep = cv2.erode((alpha >= 128).astype(np.uint8), kernel) > 0
    if not deep.any():
        return 0.0
    return float(np.abs(out[deep].astype(int) - image[deep]).max(axis=1).mean())


async def cutout_sheets(container: Any, shared: Path) -> tuple[np.ndarray, np.ndarray]:
    checker, blue = [], []
    solid = replace_service.BackgroundReplaceService._solid
    async with container() as scope:
        cutout = await scope.get(CutoutService)
        replace = await scope.get(replace_service.BackgroundReplaceService)
        for name in CUTOUT_PHOTOS:
            image = read(shared / "testdata" / name)
            data = png(image)
            plain = await cutout.segment(data, CutoutOptions())
            refined = await cutout.segment(data, CutoutOptions(refine=True))
            rgba = pixels_of(plain.content)
            refined_rgba = pixels_of(refined.content)
            checker.append([image, on_checkerboard(rgba), on_checkerboard(refined_rgba)])
            options = ColorOptions(color="id_blue")
            # The former compositing: the network's alpha everywhere, no solid interior.
            service_type = replace_service.BackgroundReplaceService
            service_type._solid = lambda _self, subject, _pixels, _model: (subject, 0.0)  # type: ignore[method-assign]
            before = pixels_of((await replace.replace(data, options)).content)
            service_type._solid = solid  # type: ignore[method-assign]
            after = await replace.replace(data, options)
            ours = pixels_of(after.content)
            print(
                f"{Path(name).stem:24} uncertainty {after.metadata['uncertainty']:.3f} (refined "
                f"{refined.metadata['uncertainty']:.3f})  interior drift on blue: former "
                f"{interior_drift(image, before, rgba[..., 3]):5.2f}, now "
                f"{interior_drift(image, ours, rgba[..., 3]):5.2f} levels"
            )
            blue.append([image, before, ours])
    return sheet(checker), sheet(blue)


async def text_sheet(container: Any, shared: Path) -> np.ndarray | None:
    try:
        from center_api_text_erase.schemas import EraseOptions  # noqa: PLC0415
        from center_api_text_erase.service import TextEraseService  # noqa: PLC0415
    except ImportError:
        print("text sheet skipped: the text_erase plugin is not installed")
        return None
    rows = []
    folder = shared / "testdata" / "text"
    async with container() as scope:
        service = await scope.get(TextEraseService)
        for path in sorted(folder.iterdir()):
            image = read(path, 1000)
            data = png(image)
            strokes = await service.erase(data, EraseOptions())
            boxes = await service.erase(data, EraseOptions(mask="boxes"))
            mask = pixels_of((await service.erase(data, EraseOptions(output="mask"))).content)
            overlay = image.copy()
            overlay[mask > 0] = (0.4 * overlay[mask > 0] + (153, 0, 0)).astype(np.uint8)
            print(
                f"{path.stem:32} erased share: strokes {strokes.metadata['erased_share']:.3f}, "
                f"boxes {boxes.metadata['erased_share']:.3f}"
            )
            rows.append([image, pixels_of(strokes.content), pixels_of(boxes.content), overlay])
    return sheet(rows)


def hair_crop(truth: np.ndarray) -> tuple[slice, slice]:
    """A square around the soft pixels of the subject's upper half (hair; fur)."""
    rows, cols = np.nonzero((truth > 12) & (truth < 243))
    upper = rows <= np.median(rows)
    y, x = int(rows[upper].mean()), int(cols[upper].mean())
    half = max(truth.shape) // 7
    top, left = max(0, y - half), max(0, x - half)
    return slice(top, top + 2 * half), slice(left, left + 2 * half)


def on_color(rgb: np.ndarray, alpha: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return composite(rgb, alpha, np.broadcast_to(np.array(color, np.uint8), rgb.shape))


async def hair_sheet(container: Any, shared: Path) -> np.ndarray:
    cutter = Cutter(await container.get(InferenceKernel))
    rows = []
    for image_path, mask_path in soft_pairs(shared / "testdata" / "cutout"):
        if image_path.stem not in HAIR_PHOTOS:
            continue
        rgb, truth = read_full(image_path, "RGB"), read_full(mask_path, "L")
        crop = hair_crop(truth)
        results = [cutter.cut(rgb, matte=matte) for matte in (False, True)]
        results.append((truth, estimate_foreground(rgb, truth)))
        cut = [(alpha[crop], fg[crop]) for alpha, fg in results]
        row = [rgb[crop]]
        row += [on_checkerboard(np.dstack([fg, alpha])) for alpha, fg in cut[:2]]
        for color in ((0, 0, 255), (230, 20, 20)):
            row += [on_color(fg, alpha, color) for alpha, fg in cut]
        rows.append(row)
    return sheet(rows)


async def make_sheets(shared: Path) -> tuple[np.ndarray, ...]:
    settings = bench_settings(slices={"text_erase": {"enabled": True}})
    container = build_container(build_runtime(settings))
    try:
        checker, blue = await cutout_sheets(container, shared)
        text = await text_sheet(container, shared)
        hair = await hair_sheet(container, shared)
    finally:
        await container.close()
    return checker, blue, text, hair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "sheets")
    args = parser.parse_args()
    if not (args.shared / "testdata").is_dir():
        sys.exit(f"no shared test data at {args.shared}")
    checker, blue, text, hair = asyncio.run(make_sheets(args.shared))
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(checker).save(args.out / "cutout.png")
    Image.fromarray(blue).save(args.out / "blue.png")
    if text is not None:
        Image.fromarray(text).save(args.out / "text.png")
    Image.fromarray(hair).save(args.out / "hair.png")
    print(f"sheets written to {args.out}")
    print("hair.png columns: photo | checkerboard before, after | blue before, after, truth | red")


if __name__ == "__main__":
    main()
