"""The vendored int8 u2netp: verified, loadable, and giving the float model's answers."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import LoadedModel, SessionCache
from center_api.sdk.vision.segmentation import predict_alpha
from tests.conftest import subject_on_background

INT8 = "u2netp-int8"


@pytest.fixture(scope="module")
def models(model_dir: Path) -> tuple[LoadedModel, LoadedModel]:
    """u2netp and its int8 twin, loaded as the service loads them."""
    cache = SessionCache(ModelStore.from_directory(model_dir), InferenceSettings(), Metrics())
    return cache.get("u2netp"), cache.get(INT8)


def agreement(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """IoU of the two alphas' masks (alpha > 0.5) and their mean absolute difference in [0, 1]."""
    a, b = first > 127, second > 127
    union = (a | b).sum()
    iou = float((a & b).sum() / union) if union else 1.0
    return iou, float(np.abs(first.astype(np.int16) - second).mean() / 255)


def test_the_int8_model_ships_in_the_store_with_its_checksum_and_licence(model_dir: Path):
    store = ModelStore.from_directory(model_dir)
    spec = store.spec(INT8)
    assert store.verify(INT8)
    assert spec.input == store.spec("u2netp").input
    assert spec.license == "Apache-2.0"
    assert (model_dir / "licenses" / f"{INT8}.LICENSE").is_file()


def test_the_int8_model_cuts_out_the_subject_as_u2netp_does(models):
    image, truth = subject_on_background()
    float_alpha, int8_alpha = (predict_alpha(model, image) for model in models)
    iou, difference = agreement(float_alpha, int8_alpha)
    assert iou > 0.99
    assert difference < 0.005
    assert agreement(int8_alpha, truth.astype(np.uint8) * 255)[0] > 0.9


@pytest.mark.shared_data
def test_the_int8_model_agrees_with_u2netp_on_photos(models, shared_dir: Path):
    images = sorted((shared_dir / "testdata/cutout/images").iterdir())[1::10]
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        iou, difference = agreement(*(predict_alpha(model, rgb) for model in models))
        assert iou > 0.97, path.name
        assert difference < 0.01, path.name
