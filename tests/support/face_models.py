"""Model stores for face enhancement tests: stand-in restoration networks built with `onnx`.

The stand-ins have the real models' signatures (FaceFusion's GFPGAN v1.4 and CodeFormer
exports) but pass the face through, so what comes back proves the alignment, the inverse warp
and the mask rather than a network's taste.
"""

import hashlib
import shutil
from pathlib import Path

import onnx
from onnx import TensorProto, helper

SR_FILE = "realesr-general-x4v3-fp16.onnx"
GFPGAN_URL = "https://github.com/facefusion/facefusion-assets/releases/download/models-3.0.0"
_SHAPE = [1, 3, 512, 512]
NORM = 'scale = "255"'  # with mean = std = 0.5: RGB in [-1, 1]


def identity_gfpgan(path: Path) -> Path:
    """GFPGAN's exact I/O (``input`` float32 [1,3,512,512] → ``output``), as an Identity."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "gfpgan_identity",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, _SHAPE)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, _SHAPE)],
    )
    return _save(graph, path)


def shifting_codeformer(path: Path) -> Path:
    """CodeFormer's I/O (plus float64 ``weight`` [1]); output = input - weight, to see it fed."""
    nodes = [
        helper.make_node("Cast", ["weight"], ["weight32"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["input", "weight32"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "codeformer_shift",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, _SHAPE),
            helper.make_tensor_value_info("weight", TensorProto.DOUBLE, [1]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, _SHAPE)],
    )
    return _save(graph, path)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # what every onnxruntime in use reads
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def manifest_entry(model_id: str, path: Path, *, fidelity: bool = False) -> str:
    """A manifest table for a stand-in network, with its real sha256 and size."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    params = 'params = { fidelity_input = "weight" }\n' if fidelity else ""
    return f"""
[models."{model_id}"]
task = "face_restoration"
file = "{path.name}"
sha256 = "{digest}"
size = {path.stat().st_size}
license = "Apache-2.0"
commercial_use = true
{params}input = {{ size = [512, 512], mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], {NORM} }}
sources = [{{ url = "{GFPGAN_URL}/{path.name}" }}]
"""


def build_face_store(
    directory: Path, model_dir: Path, *, sr_weights: Path | None = None, networks: bool = True
) -> Path:
    """A model store in ``directory``: the project's manifest and detector, plus (optionally)
    the stand-in networks and a copy of the shared Real-ESRGAN weights."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = (model_dir / "manifest.toml").read_text(encoding="utf-8")
    for name in ("centerface.onnx", "u2netp.onnx", "face_mesh_468.onnx"):
        shutil.copyfile(model_dir / name, directory / name)
    if networks:
        gfpgan = identity_gfpgan(directory / "gfpgan_1.4.onnx")
        codeformer = shifting_codeformer(directory / "codeformer.onnx")
        manifest += manifest_entry("gfpgan-1.4", gfpgan)
        manifest += manifest_entry("codeformer", codeformer, fidelity=True)
    if sr_weights is not None:
        shutil.copyfile(sr_weights, directory / SR_FILE)
    (directory / "manifest.toml").write_text(manifest, encoding="utf-8")
    return directory
