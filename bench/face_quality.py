"""Face enhancement quality: degrade clean faces, enhance them, compare with the originals.

Usage: python bench/face_quality.py [--shared ../shared] [--engines auto classic sr]

Each clean photo is enhanced as it is (sharp) and degraded two ways: Gaussian blur + noise +
JPEG, and x4 down + JPEG 35 + x4 up (a face from a small web copy); each goes through the real
service with every engine (``auto`` is the default; ``sr`` when the shared Real-ESRGAN is there).
Printed per face, over its box: PSNR and SSIM of the degraded input and of the output against
the clean original, PSNR of the output against its input (how much it changed: on sharp faces
this must stay >= 30 dB), and the seam ratio: mean gradient
magnitude of (output - input) on a 5 px band along the edge of the pasted area, divided by the
same inside it. A seamless paste fades to zero at its edge (ratio well below 1); a hard paste
steps there (ratio above 1): the "hard box" row pastes the same faces with a binary box mask as
a reference. Also printed: the service's milliseconds per face, and a verdict on the default:
never worse than its input on any degraded face, better on average, sharp faces kept.
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


def degrade_x4(rgb: np.ndarray) -> np.ndarray:
    """Down x4 (area), JPEG quality 35, up x4 (bicubic): a face from a small web copy."""
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 35]
    )
    assert ok
    small = cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


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


def hard_paste(source: np.ndarray, output: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The same restoration pasted with a binary mask (alpha >= 0.5): what a seam looks like."""
    inside = alpha >= 0.5
    weight = np.maximum(alpha, 0.5)[..., None]
    full = source + (output.astype(np.float32) - source) / weight
    pasted = source.copy()
    pasted[inside] = np.clip(np.rint(full[inside]), 0, 255).astype(np.uint8)
    return pasted


def model_store(shared: Path, store: Path, *, sr: bool = True) -> Path:
    """A store in ``store``: the project's manifest, detector and mesh (+ shared Real-ESRGAN)."""
    shutil.copyfile(REPO / "model_store" / "manifest.toml", store / "manifest.toml")
    for name in ("centerface.onnx", "face_mesh_468.onnx"):
        (store / name).symlink_to(REPO / "model_store" / name)
    if sr and (shared / "models" / SR_FILE).is_file():
        (store / SR_FILE).symlink_to(shared / "models" / SR_FILE)
    return store


Row = dict[str, Any]
DEGRADATIONS = {"sharp": None, "blur_noise_jpeg": degrade, "x4_jpeg35": degrade_x4}


async def score_image(
    service: FaceEnhanceService, clean: np.ndarray, engines: list[str]
) -> list[Row]:
    """Per face: each degradation of ``clean`` through each engine, against the original."""
    rows = []
    for kind, damage in DEGRADATIONS.items():
        source = clean if damage is None else damage(clean)
        data = png(source)
        report = await service.detect(data, DetectOptions())
        boxes = [face_box(face.box, clean.shape) for face in report.faces]
        marks = [np.array(f.landmarks, np.float32) for f in report.faces]
        for engine in engines:
            result = await service.enhance(data, FaceEnhanceOptions(engine=engine, max_faces=30))
            out = np.asarray(Image.open(io.BytesIO(result.content)).convert("RGB"))
            alpha = paste_alpha(out.shape, marks)
            binary = (alpha >= 0.5).astype(np.float32)
            changed = bool(np.any(out != source))
            seam = seam_ratio(out, source, alpha) if changed else 0.0
            hard = seam_ratio(hard_paste(source, out, alpha), source, binary) if changed else 0.0
            for number, box in enumerate(boxes):
                rows.append(
                    {
                        "degradation": kind,
                        "engine": engine,
                        "face": number,
                        "psnr_degraded": psnr(source[box], clean[box]),
                        "psnr_out": psnr(out[box], clean[box]),
                        "ssim_degraded": ssim(source[box], clean[box]),
                        "ssim_out": ssim(out[box], clean[box]),
                        "psnr_change": psnr(out[box], source[box]),
                        "seam": seam,
                        "hard": hard,
                        "ms_per_face": result.metadata.get("ms_per_face", 0.0),
                    }
                )
    return rows


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def face_box(box: list[float], shape: tuple[int, ...]) -> tuple[slice, slice]:
    x1, y1, x2, y2 = (round(v) for v in box)
    return slice(max(0, y1), min(shape[0], y2)), slice(max(0, x1), min(shape[1], x2))


async def run(shared: Path, engines: list[str], *, sr: bool = True) -> list[Row]:
    """Every clean photo through every engine, in one container."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="face-bench-") as tmp:
        settings = bench_settings(models={"dir": str(model_store(shared, Path(tmp), sr=sr))})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--engines", nargs="+", default=["auto", "classic", "sr"])
    parser.add_argument(
        "--no-sr", action="store_true", help="leave Real-ESRGAN out (auto = the project default)"
    )
    args = parser.parse_args()
    has_sr = not args.no_sr and (args.shared / "models" / SR_FILE).is_file()
    engines = [e for e in args.engines if e != "sr" or has_sr]
    rows = asyncio.run(run(args.shared.resolve(), engines, sr=has_sr))
    print(f"{'image':20}{'face':>5} {'degradation':16}{'engine':9}", end="")
    print("PSNR deg  PSNR out  SSIM deg  SSIM out  vs input   seam   hard  ms/face")
    for row in rows:
        print(
            f"{row['image']:20}{row['face']:5d} {row['degradation']:16}{row['engine']:9}"
            f"{row['psnr_degraded']:8.2f}  {row['psnr_out']:8.2f}  {row['ssim_degraded']:8.3f}"
            f"  {row['ssim_out']:8.3f}  {row['psnr_change']:8.2f}  {row['seam']:5.2f}"
            f"  {row['hard']:5.2f}  {row['ms_per_face']:7.0f}"
        )
    print("\nper engine and degradation (faces; SSIM/PSNR against the clean original):")
    for engine in engines:
        for kind in DEGRADATIONS:
            group = [r for r in rows if r["engine"] == engine and r["degradation"] == kind]
            if not group:
                continue
            mean = {k: float(np.mean([r[k] for r in group])) for k in group[0] if k in KEYS}
            worse = sum(
                r["ssim_out"] < r["ssim_degraded"] - 1e-3
                or r["psnr_out"] < r["psnr_degraded"] - 0.05
                for r in group
            )
            if kind == "sharp":
                print(
                    f"  {engine:8}{kind:16} change on sharp faces: PSNR vs input min "
                    f"{min(r['psnr_change'] for r in group):.2f} dB, mean {mean['psnr_change']:.2f}"
                )
                continue
            print(
                f"  {engine:8}{kind:16} SSIM {mean['ssim_degraded']:.3f} -> {mean['ssim_out']:.3f}"
                f"   PSNR {mean['psnr_degraded']:.2f} -> {mean['psnr_out']:.2f} dB"
                f"   worse than the input on {worse}/{len(group)} faces"
                f"   seam {mean['seam']:.2f} (hard paste {mean['hard']:.2f})"
            )
    verdict(rows)


KEYS = ("psnr_degraded", "psnr_out", "ssim_degraded", "ssim_out", "psnr_change", "seam", "hard")


def is_worse(row: Row) -> bool:
    """The output is further from the original than its input (beyond rounding)."""
    return bool(
        row["ssim_out"] < row["ssim_degraded"] - 1e-3
        or row["psnr_out"] < row["psnr_degraded"] - 0.05
    )


def verdict(rows: list[Row]) -> None:
    """The default engine's promise: never worse, better on average, sharp faces kept."""
    auto = [r for r in rows if r["engine"] == "auto"]
    if not auto:
        return
    damaged = [r for r in auto if r["degradation"] != "sharp"]
    sharp = [r for r in auto if r["degradation"] == "sharp"]
    worse = [r for r in damaged if is_worse(r)]
    gain = np.mean([r["ssim_out"] - r["ssim_degraded"] for r in damaged])
    kept = min(r["psnr_change"] for r in sharp)
    print(
        f"\nauto (the default): worse on {len(worse)}/{len(damaged)} degraded faces, mean SSIM "
        f"gain {gain:+.4f}, sharp faces changed by at least {kept:.1f} dB PSNR (>= 30 wanted): "
        + ("PASS" if not worse and gain > 0 and kept >= 30 else "FAIL")
    )


if __name__ == "__main__":
    main()
