"""The contract kit over every built-in slice and the example plugin: built-ins are plugins too."""

from importlib.metadata import entry_points

import msgspec
import pytest

from center_api.slices.background_replace.schemas import BackgroundReplaceOptions
from center_api.slices.face_enhance.schemas import FaceEnhanceOptions
from center_api.testing import ContractError, check_slice
from tests.conftest import encode_png, subject_on_background

SAMPLE = encode_png(subject_on_background()[0])


def test_cutout_honours_the_contract(tmp_path, model_dir):
    report = check_slice("cutout", tmp_path, sample=SAMPLE)
    assert "/api/v1/cutout/segment" in report.routes
    assert report.result is not None and report.result.media_type == "image/png"


def test_tools_honours_the_contract_without_an_image(tmp_path, model_dir):
    report = check_slice("tools", tmp_path)
    assert "/api/v1/tools" in report.routes
    assert report.result is None  # accepts_image=False: run() is not called
    assert report.error_codes and all(code.isupper() for code in report.error_codes)


def test_background_replace_honours_the_contract(tmp_path, model_dir):
    options = msgspec.convert({"replace": {"mode": "color"}}, BackgroundReplaceOptions)
    report = check_slice("background_replace", tmp_path, sample=SAMPLE, options=options)
    assert report.result is not None and report.result.metadata["mode"] == "color"


def test_face_enhance_honours_the_contract(tmp_path, model_dir):
    options = msgspec.convert({"allow_no_face": True}, FaceEnhanceOptions)
    report = check_slice("face_enhance", tmp_path, sample=SAMPLE, options=options)
    assert report.result is not None and report.result.content


def test_the_kit_names_options_it_cannot_default(tmp_path, model_dir):
    with pytest.raises(ContractError, match="pass options= to check_slice"):
        check_slice("background_replace", tmp_path, sample=SAMPLE)


def test_the_kit_refuses_an_unknown_slice(tmp_path, model_dir):
    with pytest.raises(ContractError, match="no slice named 'nope'"):
        check_slice("nope", tmp_path)


def _installed(name: str) -> bool:
    return any(ep.name == name for ep in entry_points(group="center_api.slices"))


@pytest.mark.skipif(
    not _installed("image_info"), reason="plugins/center-api-image-info is not pip-installed"
)
def test_the_example_plugin_honours_the_contract(tmp_path, model_dir):
    report = check_slice("image_info", tmp_path, sample=SAMPLE)
    assert report.routes == ["/api/v1/image-info/describe"]
    assert report.result is not None
    assert msgspec.json.decode(report.result.content)["width"] == 480
