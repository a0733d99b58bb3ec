import pytest

from center_api.core.settings import settings_from_mapping
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import BUILTIN_SLICES, RegistryError, discover_slices
from center_api.registry.spec import Capabilities, Slice
from tests.support.fake_slices import entry_point, install_module, make_slice, needs_model

BUILTINS = sorted(BUILTIN_SLICES)


@pytest.fixture
def store(model_dir) -> ModelStore:
    return ModelStore.from_directory(model_dir)


def discover(store, points, **config):
    settings = settings_from_mapping(config)
    return discover_slices(settings, store, lambda: points)


def status_of(registry, store, name):
    return registry.get(name).status(store)


def test_builtins_load_through_the_same_path_even_without_entry_points(store):
    registry = discover(store, [])
    assert [e.name for e in registry.entries] == BUILTINS
    for name in BUILTINS:
        assert status_of(registry, store, name)[0] in ("enabled", "failed")  # failed: no model
    assert status_of(registry, store, "cutout") == ("enabled", None)
    assert registry.get("cutout").distribution == "center-api"


def test_third_party_is_installed_but_off_until_enabled(monkeypatch, store):
    install_module(monkeypatch, echo=make_slice("echo"))
    points = [entry_point("echo", "echo")]
    off = discover(store, points)
    assert status_of(off, store, "echo") == ("disabled", "switched off in config")
    assert [s.name for s in off.switched_off()] == ["echo"]
    on = discover(store, points, slices={"echo": {"enabled": True}})
    assert status_of(on, store, "echo") == ("enabled", None)
    assert sorted(s.name for s in on.mounted()) == sorted([*BUILTINS, "echo"])


def test_builtins_can_be_switched_off(store):
    registry = discover(store, [], slices={"cutout": {"enabled": False}})
    assert status_of(registry, store, "cutout")[0] == "disabled"
    assert "cutout" not in [s.name for s in registry.mounted()]


def test_import_failure_is_failed_with_reason_not_a_crash(store):
    registry = discover(store, [entry_point("ghost", "x", module="no_such_module_xyz")])
    status, reason = status_of(registry, store, "ghost")
    assert status == "failed"
    assert "ModuleNotFoundError" in reason
    assert [s.name for s in registry.mounted()] == BUILTINS


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ("not a slice", "does not name a Slice"),
        (make_slice("other"), "differs from its entry point name"),
        (make_slice("bad", api_version="2.0"), "registry API '2.0'"),
        (make_slice("bad", path="nope"), "path must be"),
        (make_slice("bad", options_type=dict), "options_type"),
        (make_slice("bad", run=Slice.run), "must define run()"),
    ],
)
def test_invalid_slices_are_failed_with_the_reason(monkeypatch, store, obj, reason):
    install_module(monkeypatch, thing=obj)
    registry = discover(store, [entry_point("bad", "thing")], slices={"bad": {"enabled": True}})
    status, why = status_of(registry, store, "bad")
    assert status == "failed"
    assert reason in why


def test_a_slice_that_takes_no_image_needs_no_run(monkeypatch, store):
    listing = Capabilities(produces=("json",), accepts_image=False, supports_tasks=False)
    install_module(monkeypatch, thing=make_slice("lister", run=Slice.run, capabilities=listing))
    registry = discover(
        store, [entry_point("lister", "thing")], slices={"lister": {"enabled": True}}
    )
    assert status_of(registry, store, "lister") == ("enabled", None)


def test_duplicate_names_are_refused_and_the_first_owner_kept(monkeypatch, store):
    install_module(monkeypatch, cut=make_slice("cutout"), a=make_slice("dup"), b=make_slice("dup"))
    points = [entry_point("cutout", "cut"), entry_point("dup", "b"), entry_point("dup", "a")]
    registry = discover(store, points, slices={"dup": {"enabled": True}})
    cutouts = {(e.is_builtin, e.error is None) for e in registry.entries if e.name == "cutout"}
    assert cutouts == {(True, True), (False, False)}  # the built-in owns its name
    dups = [(e.target.rsplit(":", 1)[1], e.error) for e in registry.entries if e.name == "dup"]
    owners = [target for target, error in dups if error is None]
    refused = [error for _, error in dups if error is not None]
    assert owners == ["a"]  # stable order, whatever the discovery order was
    assert len(refused) == 1 and "duplicate slice name 'dup'" in refused[0]


def test_order_is_deterministic(monkeypatch, store):
    install_module(monkeypatch, **{n: make_slice(n) for n in ("zeta", "alpha", "mid")})
    points = [entry_point(n, n) for n in ("zeta", "alpha", "mid")]
    first = [e.name for e in discover(store, points).entries]
    second = [e.name for e in discover(store, list(reversed(points))).entries]
    assert first == second == sorted([*BUILTINS, "alpha", "mid", "zeta"])


def test_builtins_only_ignores_third_party_without_importing_it(store):
    points = [entry_point("ghost", "x", module="no_such_module_xyz")]
    registry = discover(
        store, points, registry={"builtins_only": True}, slices={"ghost": {"enabled": True}}
    )
    assert status_of(registry, store, "ghost")[0] == "disabled"
    assert registry.get("ghost").error is None


def test_a_missing_required_model_marks_the_slice_failed_with_the_pull_command(monkeypatch, store):
    install_module(monkeypatch, echo=make_slice("echo", models=needs_model("u2net")))
    if store.is_installed("u2net"):
        pytest.skip("u2net is installed here")
    registry = discover(store, [entry_point("echo", "echo")], slices={"echo": {"enabled": True}})
    status, reason = status_of(registry, store, "echo")
    assert status == "failed"
    assert "center-api models pull u2net" in reason


def test_strict_mode_refuses_to_start_with_a_failed_slice(store):
    points = [entry_point("ghost", "x", module="no_such_module_xyz")]
    with pytest.raises(RegistryError, match="ghost"):
        discover(store, points, registry={"strict": True})
    discover(store, [], registry={"strict": True})  # healthy: no error
