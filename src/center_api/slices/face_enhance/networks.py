"""Face restoration and super-resolution networks on aligned crops.

Pre- and post-processing come from each model's manifest entry: ``input.scale`` (``"255"``
divides by 255), ``input.mean``/``input.std`` (GFPGAN-style networks use 0.5/0.5, i.e. [-1, 1]),
``input.color``; the output is mapped back with the same normalisation. The input tensor's dtype
follows the session (the shared Real-ESRGAN export takes float16). A model whose manifest
``params`` name a ``fidelity_input`` (CodeFormer's float64 ``weight`` of shape [1]) gets the
fidelity fed there.
"""

import numpy as np

from center_api.sdk import InputSpec, LoadedModel

DEFAULT_FIDELITY = 0.5  # CodeFormer's own default: halfway between quality and identity
_DTYPES: dict[str, type[np.floating]] = {
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
}


def restore_with_network(
    model: LoadedModel, crop: np.ndarray, fidelity: float | None = None
) -> np.ndarray:
    """Run a restoration network on one aligned crop.

    Args:
        model: a loaded model whose manifest task is face restoration.
        crop: (n, n, 3) uint8 RGB aligned crop at the model's input size.
        fidelity: 0 (quality) .. 1 (identity), fed only to models with a fidelity input.

    Returns:
        The restored crop as float32 RGB 0..255, at the network's output size.

    Raises:
        ModelLoadError: the session failed to run.
    """
    params = model.spec.params
    fidelity_input = params.get("fidelity_input")
    image_input = params.get("image_input") or next(
        name for name in model.input_names if name != fidelity_input
    )
    feeds = {image_input: to_tensor(crop, model.spec.input, _input_dtype(model, image_input))}
    if fidelity_input and fidelity_input in model.input_names:
        weight = DEFAULT_FIDELITY if fidelity is None else fidelity
        feeds[fidelity_input] = np.array([weight], dtype=np.float64)
    return from_tensor(model.run(feeds)[0], model.spec.input)


def super_resolve(model: LoadedModel, crop: np.ndarray) -> np.ndarray:
    """Run a super-resolution network (e.g. Real-ESRGAN x4) on one crop.

    Returns:
        float32 RGB 0..255 at the network's scale (4x for realesr-general-x4v3).
    """
    name = model.input_names[0]
    tensor = to_tensor(crop, model.spec.input, _input_dtype(model, name))
    return from_tensor(model.run({name: tensor})[0], model.spec.input)


def to_tensor(rgb: np.ndarray, spec: InputSpec, dtype: type[np.floating]) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (1, 3, H, W) normalised as the manifest says."""
    pixels: np.ndarray = rgb.astype(np.float32)
    if spec.scale == "255":
        pixels /= np.float32(255.0)
    elif spec.scale == "max":
        pixels /= np.float32(max(float(pixels.max()), 1e-6))
    pixels = (pixels - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    if spec.color == "BGR":
        pixels = pixels[..., ::-1]
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=dtype)


def from_tensor(output: np.ndarray, spec: InputSpec) -> np.ndarray:
    """(1, 3, H, W) network output in the input's normalisation → (H, W, 3) float32 0..255."""
    pixels = np.asarray(output[0], dtype=np.float32).transpose(1, 2, 0)
    if spec.color == "BGR":
        pixels = pixels[..., ::-1]
    pixels = pixels * np.asarray(spec.std, np.float32) + np.asarray(spec.mean, np.float32)
    if spec.scale != "none":
        pixels = pixels * 255.0
    return np.ascontiguousarray(np.clip(pixels, 0.0, 255.0))


def _input_dtype(model: LoadedModel, name: str) -> type[np.floating]:
    kind = next((i.type for i in model.session.get_inputs() if i.name == name), "")
    return _DTYPES.get(kind, np.float32)
