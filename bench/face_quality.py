"""Face enhancement quality: degrade clean faces, enhance them, compare with the originals.

Usage: python bench/face_quality.py [--shared ../shared] [--engines classic sr]

Each clean photo is degraded (Gaussian blur, Gaussian noise, JPEG), then enhanced through the
real service. Printed per image and engine, over the faces' boxes: PSNR and SSIM of the degraded
input and of the enhanced output against the clean original, and the seam ratio: mean gradient
magnitude of (output - input) on a 5 px band along the edge of the pasted area, divided by the
same inside it. A seamless paste fades to zero at its edge (ratio well below 1); a hard paste
steps there (ratio above 1): the "hard box" row pastes the same faces with a binary box mask as
a reference. Also printed: the service's milliseconds per face.
"""

import argparse
import asyncio
import io
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, bench_settings

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.slices.face_enhance.restore import alignment_matrix, face_mask, warp_area
from center_api.slices.face_enhance.schemas import DetectOptions, FaceEnhanceOptions
from center_api.slices.face_enhance.service import FaceEnhanceService

CLEAN = (
    "fr_obama.jpg",
    "fr_biden.jpg",
    "fr_two_people.jpg",
    "fr_obama-720p.jpg",
    "sk_astronaut.png",
)
SR_FILE = "realesr-general-x4v3-fp16.onnx"


def degrade(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Blur (sigma 2), noise (sigma 8) and JPEG (quality 35)."""
    rng = np.random.default_rng(seed)
    blurred = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 2.0)
    noisy = np.clip(blurred + rng.normal(0.0, 8.0, rgb.shape), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 35]
    )
    assert ok
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM on luminance (Wang et al. 2004: Gaussian window sigma 1.5)."""
    x, y = (cv2.cvtColor(v, cv2.COLOR_RGB2GRAY).astype(np.float64) for v in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(v: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(v, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(index[5:-5, 5:-5].mean())


def paste_alpha(shape: tuple[int, ...], landmarks: list[np.ndarray]) -> np.ndarray:
    """Where the service pasted, in image pixels: its soft face masks warped back."""
    alpha = np.zeros(shape[:2], np.float32)
    for points in landmarks:
        inverse = cv2.invertAffineTransform(alignment_matrix(points, 512))
        warped = warp_area(face_mask(512), inverse, (shape[1], shape[0]))
        alpha = np.maximum(alpha, np.clip(warped, 0, 1))
    return alpha


def seam_ratio(output: np.ndarray, source: np.ndarray, alpha: np.ndarray) -> float:
    """Gradient energy of (output - source) on the paste's edge band over that inside it."""
    delta = output.astype(np.float32) - source.astype(np.float32)
    grad = sum(
        cv2.magnitude(
            cv2.Sobel(delta[..., c], cv2.CV_32F, 1, 0), cv2.Sobel(delta[..., c], cv2.CV_32F, 0, 1)
        )
        for c in range(3)
    )
    support = (alpha > 0.01).astype(np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    band = cv2.dilate(support, kernel).astype(bool) & ~cv2.erode(support, kernel).astype(bool)
    inside = cv2.erode(support, np.ones((11, 11), np.uint8)).astype(bool)
    return float(grad[band].mean() / max(float(grad[inside].mean()), 1e-6))


def face_region(report: Any, shape: tuple[int, ...]) -> np.ndarray:
    region = np.zeros(shape[:2], bool)
    for face in report.faces:
        x1, y1, x2, y2 = (round(v) for v in face.box)
        region[max(0, y1) : y2, max(0, x1) : x2] = True
    return region


def hard_paste(source: np.ndarray, output: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The same restoration pasted with a binary mask (alpha >= 0.5): what a seam looks like."""
    inside = alpha >= 0.5
    weight = np.maximum(alpha, 0.5)[..., None]
    full = source + (output.astype(np.float32) - source) / weight
    pasted = source.copy()
    pasted[inside] = np.clip(np.rint(full[inside]), 0, 255).astype(np.uint8)
    return pasted


def model_store(shared: Path, store: Path) -> Path:
    """A store in ``store``: the project's manifest and detector plus the shared Real-ESRGAN."""
    shutil.copyfile(REPO / "model_store" / "manifest.toml", store / "manifest.toml")
    (store / "centerface.onnx").symlink_to(REPO / "model_store" / "centerface.onnx")
    if (shared / "models" / SR_FILE).is_file():
        (store / SR_FILE).symlink_to(shared / "models" / SR_FILE)
    return store


Row = dict[str, Any]
COLUMNS = (
    ("psnr_degraded", "PSNR deg", "9.2f"),
    ("psnr_out", "PSNR out", "9.2f"),
    ("ssim_degraded", "SSIM deg", "9.3f"),
    ("ssim_out", "SSIM out", "9.3f"),
    ("seam", "seam", "7.2f"),
    ("hard", "hard", "7.2f"),
    ("ms_per_face", "ms/face", "9.0f"),
)


async def score_image(
    service: FaceEnhanceService, clean: np.ndarray, engines: list[str]
) -> list[Row]:
    """Degrade ``clean``, enhance it with each engine, and score each result."""
    source = degrade(clean)
    buffer = io.BytesIO()
    Image.fromarray(source).save(buffer, format="PNG")
    data = buffer.getvalue()
    report = await service.detect(data, DetectOptions())
    region = face_region(report, clean.shape)
    marks = [np.array(f.landmarks, np.float32) for f in report.faces if f.action == "enhance"]
    base = {
        "psnr_degraded": psnr(source[region], clean[region]),
        "ssim_degraded": ssim_region(source, clean, region),
    }
    rows = []
    for engine in engines:
        result = await service.enhance(data, FaceEnhanceOptions(engine=engine))
        out = np.asarray(Image.open(io.BytesIO(result.content)).convert("RGB"))
        alpha = paste_alpha(out.shape, marks)
        binary = (alpha >= 0.5).astype(np.float32)
        rows.append(
            base
            | {
                "engine": engine,
                "psnr_out": psnr(out[region], clean[region]),
                "ssim_out": ssim_region(out, clean, region),
                "seam": seam_ratio(out, source, alpha),
                "hard": seam_ratio(hard_paste(source, out, alpha), source, binary),
                "ms_per_face": result.metadata["ms_per_face"],
            }
        )
    return rows


async def run(shared: Path, engines: list[str]) -> list[Row]:
    """Every clean photo through every engine, in one container."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="face-bench-") as tmp:
        settings = bench_settings(models={"dir": str(model_store(shared, Path(tmp)))})
        container = build_container(build_runtime(settings))
        try:
            async with container() as scope:
                service = await scope.get(FaceEnhanceService)
                for name in CLEAN:
                    path = shared / "testdata" / "faces" / name
                    clean = np.asarray(Image.open(path).convert("RGB"))
                    scored = await score_image(service, clean, engines)
                    rows += [row | {"image": name} for row in scored]
        finally:
            await container.close()
    return rows


def ssim_region(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    ys, xs = np.nonzero(region)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return ssim(a[box], b[box])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--engines", nargs="+", default=["classic", "sr"])
    args = parser.parse_args()
    rows = asyncio.run(run(args.shared.resolve(), args.engines))
    widths = [int(fmt.split(".")[0]) for _, _, fmt in COLUMNS]
    header = "".join(
        f"{title:>{width}}" for (_, title, _), width in zip(COLUMNS, widths, strict=True)
    )
    print(f"{'image':20}{'engine':9}{header}")
    for row in rows:
        cells = "".join(f"{row[key]:{fmt}}" for key, _, fmt in COLUMNS)
        print(f"{row['image']:20}{row['engine']:9}{cells}")
    print("\nmean per engine:")
    for engine in args.engines:
        mean = {
            key: float(np.mean([r[key] for r in rows if r["engine"] == engine]))
            for key, _, _ in COLUMNS
        }
        print(
            f"  {engine:8} PSNR {mean['psnr_degraded']:.2f} -> {mean['psnr_out']:.2f} dB"
            f"   SSIM {mean['ssim_degraded']:.3f} -> {mean['ssim_out']:.3f}"
            f"   seam {mean['seam']:.2f} (hard paste {mean['hard']:.2f})"
            f"   {mean['ms_per_face']:.0f} ms/face"
        )


if __name__ == "__main__":
    main()
