"""u2netp as static int8, calibrated on the shared photos: each recipe's accuracy next to its speed.

``python bench/quantize.py [--data ../shared/testdata/cutout] [--only LABEL,...] [--out FILE]``

Upgrades u2netp to opset 13 (per-channel weights need DequantizeLinear's axis), calibrates on
every other image/mask pair (26) and quantises it by each recipe in ``RECIPES``; then scores every
model on all 52 and on the 26 held out (IoU at alpha > 0.5 and boundary F, as
bench/cutout_quality.py computes them) and times ``session.run`` at 320x320 as an inference slot
runs it (one thread, arena on, memory pattern off), all models in the same rounds so that the
machine's load falls on each alike. A recipe qualifies when its mean IoU is within 0.005 of the
float model's on all 52 and on the held-out half, and it takes >= 20 % less CPU a run.

First it shows where the accuracy goes: the signal-to-quantisation-noise ratio (dB) of each
tensor of the fully quantised model against the float one, and the nodes where it falls most.
``--out`` writes the recipe ``SHIPPED`` (model_store/u2netp-int8.onnx is made this way).
Calibration ranges are cached in ``--work`` (default: a temporary directory).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.qdq_loss_debug import (
    collect_activations,
    compute_activation_error,
    create_activation_matching,
    modify_model_output_intermediate_tensors,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO
from cutout_quality import score

from center_api.core.metrics import Metrics
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import InferenceStats, LoadedModel
from center_api.sdk.vision.segmentation import predict_alpha, to_tensor

MAX_IOU_DROP = 0.005
MIN_CPU_SAVING = 0.20
# One channel of Conv_765 is a near-constant ~228 (bias 228, weights <= 0.03) that Conv_787
# cancels with biases down to -1361. Quantised per tensor, that channel takes the whole uint8
# range of the tensors in between, every other channel (values ~1) rounds to 0 or 1, and the
# cancellation in Conv_787 turns the rounding into noise larger than its output (SQNR 45 dB ->
# -7 dB there). Kept in float, the rest of the network quantises almost losslessly.
OUTLIER_CHAIN = ("Conv_765", "Relu_766", "Resize_785", "Concat_786", "Conv_787")
Triple = tuple[str, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Recipe:
    """One way to quantise: what stays float, how ranges are found, which integer types."""

    label: str
    keep_float: tuple[str, ...] = ()  # "head" (side outputs, fuse conv, sigmoids), "chain"
    method: str = "MinMax"  # a CalibrationMethod name
    per_channel: bool = True
    reduce_range: bool = False
    quant_format: QuantFormat = QuantFormat.QDQ
    activation_type: QuantType = QuantType.QUInt8
    extra: dict[str, Any] = field(default_factory=dict)


MIXED = ("head", "chain")
RECIPES = (
    Recipe("all int8 MinMax"),
    Recipe("all int8 Percentile", method="Percentile"),
    Recipe("all int8 Entropy", method="Entropy"),
    Recipe("head float", keep_float=("head",)),
    Recipe("chain float", keep_float=("chain",)),
    Recipe("mixed MinMax", keep_float=MIXED),
    Recipe("mixed MinMax rr", keep_float=MIXED, reduce_range=True),
    Recipe("mixed MovingAvg", keep_float=MIXED, extra={"CalibMovingAverage": True}),
    Recipe("mixed Percentile", keep_float=MIXED, method="Percentile"),
    Recipe("mixed Entropy", keep_float=MIXED, method="Entropy"),
    Recipe("mixed per-tensor", keep_float=MIXED, per_channel=False),
    Recipe("mixed act-symmetric", keep_float=MIXED, extra={"ActivationSymmetric": True}),
    Recipe(
        "mixed S8S8",
        keep_float=MIXED,
        activation_type=QuantType.QInt8,
        extra={"ActivationSymmetric": True},
    ),
    Recipe("mixed QOperator", keep_float=MIXED, quant_format=QuantFormat.QOperator),
)
# reduce_range (7-bit weights) keeps u8 x s8 products from saturating on x86 CPUs without VNNI.
SHIPPED = "mixed MinMax rr"


def pairs(data: Path) -> list[Triple]:
    """(name, RGB, mask) for every image with a mask."""
    found = []
    for image in sorted((data / "images").iterdir()):
        mask = data / "masks" / f"{image.stem}.png"
        if mask.exists():
            rgb = np.asarray(Image.open(image).convert("RGB"))
            found.append((image.stem, rgb, np.asarray(Image.open(mask).convert("L"))))
    return found


class Photos(CalibrationDataReader):
    """Feeds photos as the model's input tensors, a range at a time (strided calibration)."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._feeds = feeds
        self.set_range(0, len(feeds))

    def __len__(self) -> int:
        return len(self._feeds)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next = iter(self._feeds[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._next, None)


def session(path: Path | str) -> ort.InferenceSession:
    """A session with the options the service gives u2netp: 1 thread, arena, no memory pattern."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def prepare(source: Path, work: Path) -> Path:
    """u2netp at opset 13, shapes inferred and constants folded, as the quantiser wants it."""
    prepared = work / "prepared.onnx"
    if not prepared.exists():
        upgraded = onnx.version_converter.convert_version(onnx.load(str(source)), 13)
        onnx.save(upgraded, str(work / "opset13.onnx"))
        quant_pre_process(str(work / "opset13.onnx"), str(prepared), skip_symbolic_shape=True)
    return prepared


def float_nodes(graph: onnx.GraphProto, keep_float: tuple[str, ...]) -> list[str]:
    """Names of the nodes a recipe leaves in float."""
    nodes = list(graph.node)
    names: list[str] = []
    if "head" in keep_float:
        convs = [n for n in nodes if n.op_type == "Conv" and _head_weight(n)]
        side_maps = {n.output[0] for n in convs}
        fuse_inputs = {n.input[0] for n in convs if "outconv.weight" in n.input}
        names += [n.name for n in convs]
        names += [n.name for n in nodes if n.op_type == "Sigmoid"]
        names += [n.name for n in nodes if n.op_type == "Resize" and n.input[0] in side_maps]
        names += [n.name for n in nodes if n.op_type == "Concat" and n.output[0] in fuse_inputs]
    if "chain" in keep_float:
        missing = set(OUTLIER_CHAIN) - {n.name for n in nodes}
        if missing:
            raise SystemExit(f"not the u2netp this script knows: no node {sorted(missing)}")
        names += OUTLIER_CHAIN
    return names


def _head_weight(node: onnx.NodeProto) -> bool:
    return any(name.startswith(("side", "outconv")) for name in node.input[1:])


def quantize(prepared: Path, recipe: Recipe, photos: Photos, target: Path) -> None:
    """Write ``recipe``'s int8 model; calibration ranges are cached beside ``prepared``."""
    extra = dict(recipe.extra)
    cache = f"calibration-{recipe.method}"
    if recipe.method != "MinMax":
        extra["CalibStridedMinMax"] = 2  # histograms keep every activation: 2 photos at a time
    if recipe.method == "Percentile":
        extra["CalibPercentile"] = 99.99
    if extra.get("CalibMovingAverage"):
        cache += "-moving"
    quantize_static(
        str(prepared),
        str(target),
        photos,
        quant_format=recipe.quant_format,
        per_channel=recipe.per_channel,
        reduce_range=recipe.reduce_range,
        activation_type=recipe.activation_type,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=float_nodes(onnx.load(str(prepared)).graph, recipe.keep_float),
        calibrate_method=CalibrationMethod[recipe.method],
        calibration_cache_path=prepared.parent / f"{cache}.json",
        extra_options=extra,
    )


def accuracy(model: LoadedModel, data: list[Triple]) -> tuple[float, float, float]:
    """Mean IoU on all photos, on the held-out half (odd positions), and mean boundary F."""
    scores = [score(predict_alpha(model, rgb), mask) for _, rgb, mask in data]
    ious = [s[0] for s in scores]
    return statistics.mean(ious), statistics.mean(ious[1::2]), statistics.mean(s[2] for s in scores)


def timings(paths: dict[str, Path], rounds: int = 9) -> dict[str, tuple[float, float]]:
    """Median wall ms and CPU s of one ``session.run``, every model once per round."""
    sessions = {label: session(path) for label, path in paths.items()}
    feed = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in sessions}
    for _ in range(rounds + 1):
        for label, run in sessions.items():
            wall, cpu = time.perf_counter(), time.thread_time()  # 1 thread: the caller's
            run.run(None, {run.get_inputs()[0].name: feed})
            samples[label].append((time.perf_counter() - wall, time.thread_time() - cpu))
    return {
        label: (
            1000 * statistics.median(w for w, _ in runs[1:]),
            statistics.median(c for _, c in runs[1:]),
        )
        for label, runs in samples.items()
    }


def diagnose(prepared: Path, quantized: Path, photos: list[dict[str, np.ndarray]]) -> None:
    """Print the nodes where the quantised model's SQNR against the float one falls most."""
    work = prepared.parent
    modify_model_output_intermediate_tensors(str(prepared), str(work / "float-all.onnx"))
    modify_model_output_intermediate_tensors(str(quantized), str(work / "int8-all.onnx"))
    floats = collect_activations(str(work / "float-all.onnx"), Photos(photos))
    ints = collect_activations(str(work / "int8-all.onnx"), Photos(photos))
    errors = compute_activation_error(create_activation_matching(ints, floats))
    graph = onnx.load(str(prepared)).graph
    nodes, alpha = graph.node, graph.output[0].name
    sqnr = {t: float(e["xmodel_err"]) for t, e in errors.items()}
    producer = {t: node for node in nodes for t in node.output}

    def known(tensor: str) -> float:
        """SQNR of ``tensor``, or of the nearest measured tensors it is computed from."""
        if tensor in sqnr or tensor not in producer:
            return sqnr.get(tensor, float("inf"))
        return min((known(t) for t in producer[tensor].input), default=float("inf"))

    falls = [
        (min((known(t) for t in node.input), default=float("inf")), node)
        for node in nodes
        if node.output[0] in sqnr
    ]
    falls = sorted(
        (f for f in falls if np.isfinite(f[0])), key=lambda f: sqnr[f[1].output[0]] - f[0]
    )
    print("where all-int8 loses it (SQNR vs float of a node's inputs -> its output, dB):")
    for before, node in falls[:4]:
        # A fused node (a Conv before its Relu) has no tensor of its own: name it with the next.
        fused = [producer[t].name for t in node.input if t in producer and t not in sqnr]
        name = "+".join([*fused, node.name])
        print(f"  {name:22} {before:6.1f} -> {sqnr[node.output[0]]:6.1f}")
    print(f"  the alpha output: {sqnr[alpha]:.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/testdata/cutout")
    parser.add_argument("--work", type=Path, default=None, help="keep models and ranges here")
    parser.add_argument("--only", default="", help="comma-separated recipe labels")
    parser.add_argument("--out", type=Path, default=None, help=f"write {SHIPPED!r} here")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    store = ModelStore.from_directory(REPO / "model_store")
    spec, source = store.spec("u2netp"), store.require("u2netp")
    data = pairs(args.data)
    feeds = [{"input.1": to_tensor(rgb, spec.input)} for _, rgb, _ in data]
    wanted = {label.strip() for label in args.only.split(",") if label.strip()}
    recipes = [r for r in RECIPES if not wanted or r.label in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        prepared = prepare(source, work)
        paths = {"float32": source}
        for recipe in recipes:
            paths[recipe.label] = work / (recipe.label.replace(" ", "_") + ".onnx")
            if not paths[recipe.label].exists():
                quantize(prepared, recipe, Photos(feeds[::2]), paths[recipe.label])
        if "all int8 MinMax" in paths:
            diagnose(prepared, paths["all int8 MinMax"], feeds[1:8:2])
        if args.out:
            quantize(
                prepared,
                next(r for r in RECIPES if r.label == SHIPPED),
                Photos(feeds[::2]),
                args.out,
            )
        report(store, paths, data)


def report(store: ModelStore, paths: dict[str, Path], data: list[Triple]) -> None:
    """Score and time every model; print the table and which recipes qualify."""
    scores = {
        label: accuracy(
            LoadedModel(store.spec("u2netp"), session(path), InferenceStats(), Metrics()), data
        )
        for label, path in paths.items()
    }
    speed = timings(paths)
    print(f"\nu2netp, {len(data)} photos ({len(data[::2])} calibrate), 1 thread, arena on")
    print(
        f"{'recipe':22} {'run ms':>7} {'CPU s':>6} {'IoU':>7} {'held-out':>8} {'BF':>6}"
        f" {'MB':>4}  verdict"
    )
    base_iou, base_held, _ = scores["float32"]
    base_cpu = speed["float32"][1]
    for label, path in paths.items():
        iou, held, bf = scores[label]
        ms, cpu = speed[label]
        accurate = base_iou - iou < MAX_IOU_DROP and base_held - held < MAX_IOU_DROP
        faster = cpu <= (1 - MIN_CPU_SAVING) * base_cpu
        verdict = "-" if label == "float32" else _verdict(accurate, faster)
        print(
            f"{label:22} {ms:7.1f} {cpu:6.3f} {iou:7.4f} {held:8.4f} {bf:6.3f}"
            f" {path.stat().st_size / 1e6:4.1f}  {verdict}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


def _verdict(accurate: bool, faster: bool) -> str:
    if accurate and faster:
        return "qualifies"
    return ", ".join(
        reason for ok, reason in ((accurate, "loses IoU"), (faster, "not 20 % faster")) if not ok
    )


if __name__ == "__main__":
    main()
