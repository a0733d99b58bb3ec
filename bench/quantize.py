"""u2netp as static int8 (QDQ), calibrated on the shared photos: its speed next to its accuracy.

``python bench/quantize.py [--data ../shared/testdata/cutout] [--out u2netp-int8.onnx]``

Calibrates on every other image/mask pair (26), then scores both models on all 52 and on the
26 held out: IoU at alpha > 0.5 against the human masks (GrabCut's 128 band left out), and the
median ``session.run`` time at 320x320 with one thread, as each inference slot runs. The int8
model ships only if its mean IoU is within 0.005 of the float model's; the script says which.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO

from center_api.core.metrics import Metrics
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import InferenceStats, LoadedModel
from center_api.sdk.vision.segmentation import predict_alpha, to_tensor

MAX_IOU_DROP = 0.005


def pairs(data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, RGB, mask) for every image with a mask."""
    found = []
    for image in sorted((data / "images").iterdir()):
        mask = data / "masks" / f"{image.stem}.png"
        if mask.exists():
            rgb = np.asarray(Image.open(image).convert("RGB"))
            found.append((image.stem, rgb, np.asarray(Image.open(mask).convert("L"))))
    return found


class Photos(CalibrationDataReader):
    """Feeds the calibration photos as the model's input tensors."""

    def __init__(self, model: LoadedModel, photos: list[np.ndarray]) -> None:
        self._feeds = iter(
            [{model.input_names[0]: to_tensor(rgb, model.spec.input)} for rgb in photos]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def load(store: ModelStore, path: Path | str) -> LoadedModel:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return LoadedModel(store.spec("u2netp"), session, InferenceStats(), Metrics())


def iou(name: str, alpha: np.ndarray, mask: np.ndarray) -> float:
    keep = mask != 128 if name.startswith("gc_") else np.ones(mask.shape, bool)
    truth, guess = (mask > 127) & keep, (alpha > 127) & keep
    union = (truth | guess).sum()
    return float((truth & guess).sum() / union) if union else 1.0


def floor_ms(model: LoadedModel, runs: int = 15) -> float:
    feed = {model.input_names[0]: np.random.default_rng(0).random((1, 3, 320, 320), np.float32)}
    model.run(feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.run(feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def quantize(
    store: ModelStore, source: Path, tmp: Path, target: Path, calibration: list[np.ndarray]
) -> None:
    """Write the static int8 (QDQ, per-channel weights) model calibrated on ``calibration``."""
    prepared = tmp / "prepared.onnx"
    # Per-channel weights need DequantizeLinear's axis: opset 13 (u2netp ships opset 11).
    upgraded = onnx.version_converter.convert_version(onnx.load(str(source)), 13)
    onnx.save(upgraded, str(tmp / "opset13.onnx"))
    quant_pre_process(str(tmp / "opset13.onnx"), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(target),
        Photos(load(store, source), calibration),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/testdata/cutout")
    parser.add_argument("--out", type=Path, default=None, help="keep the int8 model here")
    parser.add_argument("--reuse", action="store_true", help="score the --out model as it is")
    args = parser.parse_args()
    store = ModelStore.from_directory(REPO / "model_store")
    source = store.require("u2netp")
    data = pairs(args.data)
    calibration = [rgb for _, rgb, _ in data[::2]]
    held_out = {name for name, _, _ in data[1::2]}
    with tempfile.TemporaryDirectory() as tmp:
        target = args.out or Path(tmp) / "u2netp-int8.onnx"
        if not (args.reuse and target.exists()):
            quantize(store, source, Path(tmp), target, calibration)
        models = {"float32": load(store, source), "int8 QDQ": load(store, target)}
        scores = {
            label: {name: iou(name, predict_alpha(model, rgb), mask) for name, rgb, mask in data}
            for label, model in models.items()
        }
        print(f"u2netp, {len(data)} photos ({len(calibration)} used to calibrate), 1 thread")
        print(
            f"{'model':10} {'session.run ms':>15} {'mean IoU':>9} {'held-out IoU':>13}"
            f" {'size MB':>8}"
        )
        for label, model in models.items():
            mean = statistics.mean(scores[label].values())
            held = statistics.mean(v for k, v in scores[label].items() if k in held_out)
            size = (source if label == "float32" else target).stat().st_size / 1e6
            print(f"{label:10} {floor_ms(model):15.1f} {mean:9.4f} {held:13.4f} {size:8.1f}")
        drop = statistics.mean(scores["float32"].values()) - statistics.mean(
            scores["int8 QDQ"].values()
        )
        verdict = "ships" if drop < MAX_IOU_DROP else "does not ship"
        print(f"IoU drop {drop:+.4f} (limit {MAX_IOU_DROP}): the int8 model {verdict}")


if __name__ == "__main__":
    main()
