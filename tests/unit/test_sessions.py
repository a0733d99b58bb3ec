import time

import numpy as np

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings, load_settings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import SessionCache, intra_op_threads, uses_arena


def test_slots_times_threads_never_exceed_cores():
    for cores in (1, 2, 4, 8):
        for slots in (1, 2, 3, 4):
            threads = intra_op_threads(InferenceSettings(max_concurrent=slots), cpus=cores)
            assert threads >= 1
            assert slots * threads <= max(cores, slots)
    assert intra_op_threads(InferenceSettings(intra_op_threads=3), cpus=2) == 3


def test_sessions_load_once_and_unload_when_idle(model_dir):
    settings = InferenceSettings(session_idle_ttl_s=60)
    cache = SessionCache(ModelStore.from_directory(model_dir), settings, Metrics())
    first = cache.get("u2netp")
    assert cache.get("u2netp") is first
    assert cache.loaded() == ["u2netp"]
    assert cache.sweep(now=time.monotonic() + 30) == []
    assert cache.sweep(now=time.monotonic() + 120) == ["u2netp"]
    assert cache.loaded() == []
    assert cache.get("u2netp") is not first  # reloaded on next use


def test_the_session_budget_evicts_the_least_recently_used(model_dir, tmp_path):
    (tmp_path / "manifest.toml").write_text(
        (model_dir / "manifest.toml").read_text()
        + "\n[models.u2netp-copy]\n"
        + 'task = "segmentation"\nfile = "u2netp.onnx"\n'
        + 'sha256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"\n'
        + 'license = "Apache-2.0"\ncommercial_use = true\n'
    )
    (tmp_path / "u2netp.onnx").symlink_to(model_dir / "u2netp.onnx")
    cache = SessionCache(
        ModelStore.from_directory(tmp_path), InferenceSettings(max_loaded_sessions=1), Metrics()
    )
    cache.get("u2netp")
    cache.get("u2netp-copy")
    assert cache.loaded() == ["u2netp-copy"]


def test_a_fixed_shape_model_is_made_to_accept_any_image_size(model_dir):
    store = ModelStore.from_directory(model_dir)
    if not store.is_installed("centerface"):
        store.pull("centerface")
    model = SessionCache(store, InferenceSettings(), Metrics()).get("centerface")
    for height, width in ((480, 640), (320, 256)):
        feed = {model.input_names[0]: np.zeros((1, 3, height, width), dtype=np.float32)}
        heatmap = model.run(feed)[0]
        assert heatmap.shape == (1, 1, height // 4, width // 4)


def test_the_arena_is_kept_only_for_small_fixed_inputs_unless_set(model_dir):
    store = ModelStore.from_directory(model_dir)
    auto = InferenceSettings()
    assert auto.cpu_mem_arena == "auto"
    assert uses_arena(auto, store.spec("u2netp"))  # 320x320, every run the same
    assert uses_arena(auto, store.spec("face-mesh-468"))
    assert not uses_arena(auto, store.spec("centerface"))  # any size: would keep the largest
    assert not uses_arena(auto, store.spec("birefnet-general-lite"))  # 1024x1024: gigabytes
    assert not uses_arena(auto, store.spec("realesr-general-x4v3"))
    for value in (True, False):
        chosen = InferenceSettings(cpu_mem_arena=value)
        assert {uses_arena(chosen, store.spec(m)) for m in ("u2netp", "centerface")} == {value}


def test_the_arena_setting_takes_auto_or_a_boolean_from_the_environment():
    for text, value in (("auto", "auto"), ("true", True), ("false", False)):
        environ = {"CENTER_API__INFERENCE__CPU_MEM_ARENA": text}
        assert load_settings(environ=environ).inference.cpu_mem_arena == value
