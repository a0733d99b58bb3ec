"""Peak memory per request on a real server, per slice and mode, from 1 MP to the limit.

Usage: .venv/bin/python bench/memory.py [--sizes 1,12,24,max,flat] [--cases cutout,color,...]
                                         [--baseline-src OLD/src] [--json out.json]

For each size and case a fresh `center-api serve` (default settings, two inference slots) is
started on loopback and warmed up with a small image on that route; then the case is sent with
``size=full``: one request alone, then two at once. A thread samples the server's RSS every
20 ms. The figure (+MB) is the peak RSS over the idle RSS after warm-up: memory a request frees
but the allocator keeps stays counted, so the figure is what the box must have spare.

Inputs are synthetic camera-like photos (gradients, soft blobs, sensor noise and a subject with
a soft edge, as JPEG q90), a face photo scaled up (``../shared/testdata/faces``) for
face_enhance, and a "tiny but huge" flat PNG (7680x5170, about 125 KB).

``--baseline-src`` runs every measurement also on a second checkout's ``src`` (e.g. a
``git archive`` of an older commit), one server after the other under the same conditions:
the ratio column compares the two.
"""

import argparse
import io
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from _harness import REPO
from PIL import Image

from center_api.core.settings import ImageSettings
from center_api.kernel.model_store import ModelStore
from center_api.testing.cluster import Node, rss_mb, start_node
from center_api.testing.memory import rss_growth

FACE_PHOTO = REPO.parent / "shared/testdata/faces/fr_obama-1080p.jpg"
FLAT_SIZE = (7680, 5170)  # 39.7 MP of one colour: a PNG of a few hundred KB
MODELS = ("u2netp", "centerface")
TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Case:
    """One route with its form fields, and which uploads it takes."""

    name: str
    path: str
    fields: dict[str, str]
    needs_background: bool = False
    uses_face: bool = False


CASES = {
    case.name: case
    for case in (
        Case("cutout", "/api/v1/cutout/segment", {"format": "png", "size": "full"}),
        Case("color", "/api/v1/background-replace/color", {"size": "full", "color": "id_blue"}),
        Case(
            "gradient",
            "/api/v1/background-replace/gradient",
            {"size": "full", "kind": "radial", "start_color": "white", "end_color": "navy"},
        ),
        Case(
            "image",
            "/api/v1/background-replace/image",
            {"size": "full", "fit": "fill"},
            needs_background=True,
        ),
        Case("blur", "/api/v1/background-replace/blur", {"size": "full", "radius": "20"}),
        Case("face", "/api/v1/face-enhance/enhance", {"engine": "classic"}, uses_face=True),
    )
}


@dataclass
class Row:
    """One measurement."""

    case: str
    image: str
    megapixels: float
    input_kb: float
    concurrency: int
    seconds: float
    statuses: list[int]
    idle_mb: float
    peak_mb: float
    growth_mb: float
    server: str


# --- inputs ----------------------------------------------------------------------------------


def dimensions(megapixels: float) -> tuple[int, int]:
    """The largest 3:2 (width, height) with at most ``megapixels``."""
    width = math.floor(math.sqrt(megapixels * 1e6 * 1.5))
    height = math.floor(megapixels * 1e6 / width)
    return width, height


def _jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _noisy(base: np.ndarray, seed: int, sigma: float = 5.0) -> np.ndarray:
    """``base`` plus sensor-like noise, in row strips (keeps this process small)."""
    rng = np.random.default_rng(seed)
    out = np.empty(base.shape, np.uint8)
    for top in range(0, base.shape[0], 256):
        rows = base[top : top + 256].astype(np.float32)
        rows += rng.normal(0.0, sigma, rows.shape).astype(np.float32)
        out[top : top + 256] = np.clip(rows + 0.5, 0, 255).astype(np.uint8)
    return out


def scene(size: tuple[int, int], seed: int, with_subject: bool = True) -> np.ndarray:
    """A camera-like photo: lit gradient, soft coloured blobs, noise, and a soft-edged subject."""
    width, height = size
    rng = np.random.default_rng(seed)
    blobs = rng.uniform(40, 210, (6, 9, 3)).astype(np.float32)
    base: np.ndarray = cv2.resize(blobs, (width, height), interpolation=cv2.INTER_CUBIC)
    base *= np.linspace(0.75, 1.1, height, dtype=np.float32)[:, None, None]
    if with_subject:
        mask: np.ndarray = np.zeros((height, width), np.float32)
        cx, cy, unit = width // 2, height // 2, min(width, height)
        cv2.ellipse(mask, (cx, cy - unit // 5), (unit // 9, unit // 7), 0, 0, 360, 1.0, -1)
        cv2.ellipse(mask, (cx, cy + unit // 4), (unit // 4, unit // 4), 0, 180, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, unit / 600))[..., None]
        texture = cv2.resize(rng.uniform(-25, 25, (40, 60, 3)).astype(np.float32), (width, height))
        subject = np.array([200, 70, 50], np.float32) + texture
        base += mask * (subject - base)
        del mask, texture, subject
    return _noisy(np.clip(base, 0, 255).astype(np.uint8), seed)


def face_scene(size: tuple[int, int]) -> np.ndarray | None:
    """The shared face photo scaled to cover ``size`` (one large face), or None without it."""
    if not FACE_PHOTO.exists():
        return None
    width, height = size
    face = np.asarray(Image.open(FACE_PHOTO).convert("RGB"))
    scale = max(width / face.shape[1], height / face.shape[0])
    cover = (math.ceil(face.shape[1] * scale), math.ceil(face.shape[0] * scale))
    big = cv2.resize(face, cover, interpolation=cv2.INTER_CUBIC)
    left, top = (cover[0] - width) // 2, (cover[1] - height) // 2
    return _noisy(np.ascontiguousarray(big[top : top + height, left : left + width]), 7)


def flat_png() -> bytes:
    """The "tiny but huge" PNG: one colour, 39.7 MP, a few hundred KB."""
    out = io.BytesIO()
    Image.new("RGB", FLAT_SIZE, (90, 140, 200)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Inputs:
    """The uploads of one size."""

    label: str
    megapixels: float
    photo: tuple[str, bytes, str]
    background: tuple[str, bytes, str]
    face: tuple[str, bytes, str]
    has_face: bool


def inputs_for(megapixels: float, label: str) -> Inputs:
    """Photos of ``megapixels`` (JPEG)."""
    size = dimensions(megapixels)
    photo = _jpeg(scene(size, 1))
    background = _jpeg(scene(size, 2, with_subject=False))
    face_pixels = face_scene(size)
    face = photo if face_pixels is None else _jpeg(face_pixels)
    return Inputs(
        label=f"{label} {size[0]}x{size[1]}",
        megapixels=size[0] * size[1] / 1e6,
        photo=("photo.jpg", photo, "image/jpeg"),
        background=("background.jpg", background, "image/jpeg"),
        face=("face.jpg", face, "image/jpeg"),
        has_face=face_pixels is not None,
    )


def flat_inputs() -> Inputs:
    """The flat PNG for every upload (no face in it)."""
    data = ("flat.png", flat_png(), "image/png")
    megapixels = FLAT_SIZE[0] * FLAT_SIZE[1] / 1e6
    label = f"flat PNG {FLAT_SIZE[0]}x{FLAT_SIZE[1]}"
    return Inputs(label, megapixels, data, data, data, has_face=False)


# --- requests --------------------------------------------------------------------------------


def post(base: str, case: Case, inputs: Inputs) -> int:
    """Send one request of ``case``; return the status code."""
    files: dict[str, Any] = {"file": inputs.face if case.uses_face else inputs.photo}
    if case.needs_background:
        files["background_file"] = inputs.background
    fields = dict(case.fields)
    if case.uses_face and not inputs.has_face:
        fields["allow_no_face"] = "true"
    response = httpx.post(base + case.path, data=fields, files=files, timeout=TIMEOUT_S)
    return response.status_code


def measure(node: Node, case: Case, inputs: Inputs, concurrency: int, idle_mb: float) -> Row:
    """Peak RSS of the server over ``idle_mb`` while ``concurrency`` requests run at once."""
    assert node.base_url is not None
    base = node.base_url
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(post(base, case, inputs)))
        for _ in range(concurrency)
    ]
    start = time.perf_counter()
    with rss_growth(node.process.pid) as rss:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    upload = inputs.face if case.uses_face else inputs.photo
    return Row(
        case=case.name,
        image=inputs.label,
        megapixels=round(inputs.megapixels, 2),
        input_kb=round(len(upload[1]) / 1024, 1),
        concurrency=concurrency,
        seconds=round(time.perf_counter() - start, 2),
        statuses=sorted(statuses),
        idle_mb=round(idle_mb, 1),
        peak_mb=round(rss.peak_mb, 1),
        growth_mb=round(max(0.0, rss.peak_mb - idle_mb), 1),
        server="",
    )


def measure_case(
    workdir: Path, src: Path | None, case: Case, inputs: Inputs, concurrencies: list[int]
) -> list[Row]:
    """A fresh server for one case and size: warm-up, then each concurrency in turn."""
    node = start_server(workdir, src)
    try:
        warm_up(node, case)
        time.sleep(0.5)
        idle = rss_mb(node.process.pid)
        return [measure(node, case, inputs, level, idle) for level in concurrencies]
    finally:
        node.stop()


# --- servers ---------------------------------------------------------------------------------


def start_server(workdir: Path, src: Path | None) -> Node:
    """`center-api serve` with default settings on a new SQLite database in ``workdir``."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
        "MODEL_STORE_DIR": str(REPO / "model_store"),
        "CENTER_API__TASKS__RESULTS_DIR": str(folder / "results"),
        "LOG_LEVEL": "WARNING",
        "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
    }
    if src is not None:  # that checkout's code first on the path, the same venv for the rest
        env["PYTHONPATH"] = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    return start_node("all", env, folder / "server.log", timeout_s=120)


def warm_up(node: Node, case: Case) -> None:
    """One small request on the case's route: models loaded, pools allocated."""
    assert node.base_url is not None
    status = post(node.base_url, case, inputs_for(0.08, "warm-up"))
    if status != 200:
        raise RuntimeError(f"warm-up {case.name} answered {status}: {node.log_text()[-2000:]}")


# --- report ----------------------------------------------------------------------------------


def print_header(has_baseline: bool) -> None:
    """The table's column titles."""
    columns = (
        f"{'case':<9} {'image':<24} {'in KB':>8} {'conc':>4} {'s':>6} {'status':<8} "
        f"{'idle MB':>7} {'+MB':>6} {'MB/MP':>6}"
    )
    if has_baseline:
        columns += f" | {'base s':>6} {'base +MB':>8} {'ratio':>6}"
    print(columns, flush=True)


def print_row(row: Row, baseline: Row | None) -> None:
    """One table line (with the baseline server's figures when there is one)."""
    per_mp = row.growth_mb / row.megapixels
    status = ",".join(str(s) for s in row.statuses)
    line = (
        f"{row.case:<9} {row.image:<24} {row.input_kb:>8.0f} {row.concurrency:>4} "
        f"{row.seconds:>6.1f} {status:<8} {row.idle_mb:>7.0f} {row.growth_mb:>6.0f} "
        f"{per_mp:>6.1f}"
    )
    if baseline is not None:
        ratio = row.growth_mb / max(baseline.growth_mb, 1.0)
        line += f" | {baseline.seconds:>6.1f} {baseline.growth_mb:>8.0f} {ratio:>6.2f}"
    print(line, flush=True)


def ensure_models() -> None:
    """Pull the offline models the cases need, if they are missing."""
    store = ModelStore.from_directory(REPO / "model_store")
    for model_id in MODELS:
        if not store.is_installed(model_id):
            store.pull(model_id)


def parse_sizes(text: str, limit: float) -> list[tuple[float, str]]:
    """``1,12,24,max`` → megapixels with labels (``max``: the largest the limit accepts)."""
    sizes = []
    for part in text.split(","):
        if part == "max":
            sizes.append((limit, f"max {limit:g}"))
        elif part != "flat":
            sizes.append((float(part), f"{float(part):g} MP"))
    return sizes


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    """Every size, case and concurrency; prints as it goes."""
    rows: list[Row] = []
    limit = ImageSettings().max_megapixels
    batches: list[Callable[[], Inputs]] = [
        partial(inputs_for, mp, label) for mp, label in parse_sizes(args.sizes, limit)
    ]
    if "flat" in args.sizes.split(","):
        batches.append(flat_inputs)
    baseline_src = args.baseline_src.resolve() if args.baseline_src else None
    print_header(baseline_src is not None)
    for make in batches:
        inputs = make()
        for name in args.cases.split(","):
            case = CASES[name]
            before: list[Row | None] = [None] * len(args.concurrency)
            if baseline_src is not None:
                before = list(measure_case(workdir, baseline_src, case, inputs, args.concurrency))
            after = measure_case(workdir, None, case, inputs, args.concurrency)
            for row, old in zip(after, before, strict=True):
                row.server = "current"
                if old is not None:
                    old.server = "baseline"
                    rows.append(old)
                rows.append(row)
                print_row(row, old)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,12,24,max,flat", help="MP list; max; flat")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 2], help="requests at once"
    )
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src to compare")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    ensure_models()
    face = "yes" if FACE_PHOTO.exists() else "no (synthetic, allow_no_face=true)"
    print(f"face photo: {face}; a fresh server per size and case\n")
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args, Path(tmp))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=1))


if __name__ == "__main__":
    main()
