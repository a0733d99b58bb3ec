import importlib.util
from pathlib import Path

import pytest

from center_api.core.settings import SettingsError, check_backends_installed, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.toml"
    path.write_text(text)
    return path


def test_defaults_match_the_design(tmp_path):
    settings = load_settings(write(tmp_path, ""), environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.database.url == "sqlite+aiosqlite:///./data/app.db"
    assert settings.inference.max_concurrent == 2
    assert settings.inference.thread_pool_size == 2
    assert settings.inference.queue_max_size == 100
    assert settings.logging.level == "INFO"


def test_environment_overrides_the_file_with_the_spec_names(tmp_path):
    conf = write(tmp_path, "[server]\nport = 9000\n[inference]\nqueue_max_size = 5\n")
    env = {
        "PORT": "9100",
        "HOST": "0.0.0.0",
        "WORKERS": "3",
        "DATABASE_URL": "postgresql+asyncpg://u@h/db",
        "MAX_CONCURRENT_INFERENCE": "4",
        "THREAD_POOL_SIZE": "4",
        "LOG_LEVEL": "DEBUG",
    }
    settings = load_settings(conf, environ=env)
    assert settings.server.port == 9100
    assert settings.server.host == "0.0.0.0"
    assert settings.server.workers == 3
    assert settings.database.url == "postgresql+asyncpg://u@h/db"
    assert settings.inference.max_concurrent == 4
    assert settings.inference.thread_pool_size == 4
    assert settings.inference.queue_max_size == 5  # from the file
    assert settings.logging.level == "DEBUG"


def test_nested_env_names_reach_every_key_including_slice_toggles(tmp_path):
    env = {
        "CENTER_API__IMAGES__MAX_MEGAPIXELS": "12.5",
        "CENTER_API__SLICES__CUTOUT__ENABLED": "false",
        "CENTER_API__INFERENCE__PROVIDERS": '["CPUExecutionProvider"]',
    }
    settings = load_settings(write(tmp_path, ""), environ=env)
    assert settings.images.max_megapixels == 12.5
    assert settings.slices["cutout"].enabled is False
    assert settings.inference.providers == ["CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("env", "key", "variable"),
    [
        ({"PORT": "eighty"}, "server.port", "PORT"),
        ({"MAX_CONCURRENT_INFERENCE": "0"}, "inference.max_concurrent", "MAX_CONCURRENT_INFERENCE"),
        ({"QUEUE_MAX_SIZE": "-1"}, "inference.queue_max_size", "QUEUE_MAX_SIZE"),
        ({"LOG_LEVEL": "LOUD"}, "logging.level", "LOG_LEVEL"),
    ],
)
def test_a_bad_env_value_names_the_key_and_the_variable(tmp_path, env, key, variable):
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, ""), environ=env)
    assert key in str(err.value)
    assert variable in str(err.value)


def test_a_bad_file_value_names_the_key(tmp_path):
    with pytest.raises(SettingsError, match=r"images\.max_bytes"):
        load_settings(write(tmp_path, "[images]\nmax_bytes = 0\n"), environ={})


def test_a_heartbeat_slower_than_half_the_stale_limit_is_refused(tmp_path):
    config = "[tasks]\nheartbeat_s = 40\nstale_after_s = 60\n"
    with pytest.raises(SettingsError, match=r"tasks.*stale_after_s must be at least twice"):
        load_settings(write(tmp_path, config), environ={})


def test_an_unknown_key_is_refused_not_ignored(tmp_path):
    with pytest.raises(SettingsError, match="max_conccurent"):
        load_settings(write(tmp_path, "[inference]\nmax_conccurent = 3\n"), environ={})


def test_an_explicit_missing_file_and_invalid_toml_are_errors(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"), environ={})


def test_the_shipped_config_file_is_valid():
    root = Path(__file__).resolve().parents[2]
    settings = load_settings(root / "litestar.toml", environ={})
    assert settings.slices["cutout"].enabled is True


def test_every_env_example_variable_is_understood():
    root = Path(__file__).resolve().parents[2]
    env = {}
    for line in (root / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    env.pop("CENTER_API_CONFIG")
    settings = load_settings(root / "litestar.toml", environ=env)
    assert settings.inference.queue_max_size == 100


def test_a_backend_without_its_extra_is_a_clear_startup_error(tmp_path, monkeypatch):
    settings = load_settings(write(tmp_path, ""), environ={"QUEUE_URL": "redis://127.0.0.1/0"})
    check_backends_installed(settings)  # the dev install has the scale extra
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "saq" else real_find_spec(name)
    )
    with pytest.raises(SettingsError, match=r"QUEUE_URL needs the scale extra \(saq"):
        check_backends_installed(settings)
    check_backends_installed(load_settings(write(tmp_path, ""), environ={}))  # nothing wanted
