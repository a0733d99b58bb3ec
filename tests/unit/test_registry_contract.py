"""Registry API versions and slice-contributed models."""

import pytest
from click.testing import CliRunner

from center_api.bootstrap.cli.main import cli
from center_api.core.settings import settings_from_mapping
from center_api.kernel.model_store import ModelSpec, ModelStore, Source
from center_api.registry.loader import api_version_problem, discover_slices, store_with_slice_models
from center_api.registry.spec import API_VERSION
from tests.support.fake_slices import entry_point, install_module, make_slice

SPEC = ModelSpec(
    id="fake-det",
    task="text_detection",
    file="fake-det.onnx",
    sha256="0" * 64,
    license="MIT",
    commercial_use=True,
    sources=[Source(url="https://example.invalid/fake-det.onnx")],
)


def discover(store, points, **config):
    return discover_slices(settings_from_mapping(config), store, lambda: points)


@pytest.mark.parametrize("version", ["1.0", API_VERSION])
def test_slices_built_for_this_or_an_older_minor_load(version):
    assert api_version_problem(version) is None


@pytest.mark.parametrize(
    ("version", "needle"),
    [
        ("2.0", "incompatible registry API: built for registry API '2.0'"),
        ("0.9", "incompatible registry API"),
        ("1.99", "loads slices built for 1.0 to"),
        ("one", "is not 'MAJOR.MINOR'"),
    ],
)
def test_incompatible_api_versions_are_failed_with_a_clear_reason(
    monkeypatch, model_dir, version, needle
):
    store = ModelStore.from_directory(model_dir)
    install_module(monkeypatch, thing=make_slice("future", api_version=version))
    registry = discover(store, [entry_point("future", "thing")], slices={"future": {"enabled": 1}})
    status, reason = registry.get("future").status(store)
    assert status == "failed"
    assert needle in reason and API_VERSION in reason


def test_a_slices_model_specs_join_the_store_even_while_switched_off(monkeypatch, tmp_path):
    store = ModelStore(tmp_path, [])
    install_module(monkeypatch, thing=make_slice("det", model_specs=(SPEC,)))
    registry = discover(store, [entry_point("det", "thing")])
    assert registry.get("det").status(store)[0] == "disabled"
    assert "fake-det" in store.ids() and store.state("fake-det") == "missing"


def test_model_specs_must_be_model_specs(monkeypatch, tmp_path):
    store = ModelStore(tmp_path, [])
    install_module(monkeypatch, thing=make_slice("det", model_specs=("nope",)))
    registry = discover(store, [entry_point("det", "thing")], slices={"det": {"enabled": True}})
    assert "model_specs must be a tuple of ModelSpec" in registry.get("det").status(store)[1]


def test_the_cli_store_knows_plugin_models(monkeypatch, tmp_path):
    install_module(monkeypatch, thing=make_slice("det", model_specs=(SPEC,)))
    settings = settings_from_mapping({"models": {"dir": str(tmp_path)}})
    store = store_with_slice_models(settings, lambda: [entry_point("det", "thing")])
    assert "fake-det" in store.ids()


def test_models_pull_installs_the_text_erase_detector(model_dir):
    pytest.importorskip("center_api_text_erase", reason="text-erase plugin not pip-installed")
    result = CliRunner().invoke(cli, ["models", "pull", "ch-ppocr-v4-det"])
    assert result.exit_code == 0, result.output
    assert "ch-ppocr-v4-det: installed and verified" in result.output
