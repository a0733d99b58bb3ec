"""Before/after contact sheet of the default face enhancement, to look at, not only to read.

Usage: python bench/contact_sheet.py [--shared ../shared] [--out face_sheet.png] [--engine auto]
       [--sr]   (default: the project's own store, so auto is the weightless engine)

Rows: the 1927 Solvay group photo (small old faces, restored through the upscaled working
crop), the public-domain astronaut portrait degraded by blur + noise + JPEG, the same degraded
by x4 down + JPEG 35 + x4 up (left as it is: its detail is gone), and a sharp official portrait
(left as it is: nothing to restore). Each row is input | output | |difference| x4, enlarged
so the faces can be judged; the label gives what the service reported for the faces. Only
public-domain photos are used, so the sheet may be shown in the project's documentation.
"""

import argparse
import asyncio
import io
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, bench_settings
from face_quality import degrade, degrade_x4, model_store, png

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.slices.face_enhance.schemas import FaceEnhanceOptions
from center_api.slices.face_enhance.service import FaceEnhanceService

# (photo, damage, crop as (y0, y1, x0, x1) of the photo, label)
ROWS = (
    ("gpen_Solvay_conference_1927.png", None, (140, 330, 690, 1100), "Solvay 1927, as it is"),
    ("sk_astronaut.png", degrade, (40, 200, 150, 300), "blur + noise + JPEG"),
    ("sk_astronaut.png", degrade_x4, (40, 200, 150, 300), "x4 down, JPEG 35, up"),
    ("fr_obama.jpg", None, (60, 460, 340, 640), "sharp portrait"),
)
CELL_HEIGHT = 300


async def render(shared: Path, engine: str, sr: bool) -> np.ndarray:
    """The sheet as RGB pixels (``sr``: with the shared Real-ESRGAN in the store)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="face-sheet-") as tmp:
        settings = bench_settings(models={"dir": str(model_store(shared, Path(tmp), sr=sr))})
        container = build_container(build_runtime(settings))
        try:
            async with container() as scope:
                service = await scope.get(FaceEnhanceService)
                for name, damage, crop, label in ROWS:
                    clean = np.asarray(
                        Image.open(shared / "testdata" / "faces" / name).convert("RGB")
                    )
                    source = clean if damage is None else damage(clean)
                    options = FaceEnhanceOptions(engine=engine, max_faces=30)
                    result = await service.enhance(png(source), options)
                    out = np.asarray(Image.open(io.BytesIO(result.content)).convert("RGB"))
                    meta = result.metadata
                    text = (
                        f"{label}: {meta['faces_enhanced']}/{meta['faces_found']} faces "
                        f"enhanced ({meta['engine']})"
                    )
                    rows.append(_row(source, out, crop, text))
        finally:
            await container.close()
    width = max(row.shape[1] for row in rows)
    padded = [
        np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    return np.concatenate(padded, axis=0)


def _row(
    source: np.ndarray, out: np.ndarray, crop: tuple[int, int, int, int], text: str
) -> np.ndarray:
    y0, y1, x0, x1 = crop
    before, after = source[y0:y1, x0:x1], out[y0:y1, x0:x1]
    diff = np.clip(np.abs(after.astype(np.int16) - before) * 4, 0, 255).astype(np.uint8)
    scale = CELL_HEIGHT / before.shape[0]
    size = (round(before.shape[1] * scale), CELL_HEIGHT)
    cells = [cv2.resize(c, size, interpolation=cv2.INTER_LANCZOS4) for c in (before, after, diff)]
    gap = np.full((CELL_HEIGHT, 6, 3), 255, np.uint8)
    body = np.concatenate([cells[0], gap, cells[1], gap, cells[2]], axis=1)
    band = np.full((28, body.shape[1], 3), 255, np.uint8)
    caption = text + "   |   input  /  output  /  |difference| x4"
    cv2.putText(band, caption, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([band, body, np.full((8, body.shape[1], 3), 255, np.uint8)], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=Path("face_sheet.png"))
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--sr", action="store_true", help="add the shared Real-ESRGAN")
    args = parser.parse_args()
    sheet = asyncio.run(render(args.shared.resolve(), args.engine, args.sr))
    Image.fromarray(sheet).save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
