"""`.env`, the design's variable names, unknown variables, and `config show`'s masking."""

from pathlib import Path

import pytest

from center_api.core.settings import SettingsError, load_settings, load_settings_with_sources
from center_api.core.settings_sources import masked, read_dotenv


def files(tmp_path: Path, toml: str, dotenv: str) -> tuple[Path, Path]:
    (tmp_path / "conf.toml").write_text(toml)
    (tmp_path / ".env").write_text(dotenv)
    return tmp_path / "conf.toml", tmp_path / ".env"


def test_dotenv_lines_quotes_comments_and_export(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n\nA=1\nexport B = two words # note\nC='x # y'\n"
        'D="line\\nnext \\"q\\""\nE=\n'
    )
    assert read_dotenv(path) == {
        "A": "1",
        "B": "two words",
        "C": "x # y",
        "D": 'line\nnext "q"',
        "E": "",
    }
    assert read_dotenv(tmp_path / "missing") == {}
    path.write_text("A=1\nnot a variable\n")
    with pytest.raises(ValueError, match=r"\.env:2"):
        read_dotenv(path)


def test_environment_beats_dotenv_beats_the_file(tmp_path):
    conf, dotenv = files(
        tmp_path,
        "[server]\nport = 9000\nhost = '10.0.0.1'\n[tasks]\nworkers = 5\n",
        "API_PORT=9100\nMAX_WORKERS=3\nTASK_TIMEOUT=42.5\nREDIS_URL=redis://r:6379/1\n",
    )
    settings, sources = load_settings_with_sources(conf, {"API_PORT": "9200"}, dotenv)
    assert settings.server.port == 9200 and sources.of(("server", "port")) == "environment API_PORT"
    assert settings.tasks.workers == 3 and sources.of(("tasks", "workers")) == ".env MAX_WORKERS"
    assert settings.tasks.default_timeout_s == 42.5
    assert settings.queue.url == "redis://r:6379/1"
    assert settings.server.host == "10.0.0.1" and sources.of(("server", "host")) == str(conf)
    assert sources.of(("server", "debug")) == "default"
    both = {"API_HOST": "1.1.1.1", "CENTER_API__SERVER__HOST": "2.2.2.2", "HOST": "3.3.3.3"}
    assert load_settings(conf, both).server.host == "2.2.2.2"  # the full name wins


def test_an_unknown_center_api_variable_stops_the_start_naming_it(tmp_path):
    conf, dotenv = files(tmp_path, "", "CENTER_API__TASKS__WORKRS=2\n")
    with pytest.raises(
        SettingsError, match=r"CENTER_API__TASKS__WORKRS \(from \.env\).*tasks\.workrs"
    ):
        load_settings(conf, {}, dotenv)
    with pytest.raises(SettingsError, match="CENTER_API__SERVR__PORT"):
        load_settings(conf, {"CENTER_API__SERVR__PORT": "1"})
    with pytest.raises(SettingsError, match=r"server\.port\.x"):  # below a plain value
        load_settings(conf, {"CENTER_API__SERVER__PORT__X": "1"})
    slices = {"CENTER_API__SLICES__ANY_NAME__ENABLED": "true"}  # a slice may be any name
    assert load_settings(conf, slices).slices["any_name"].enabled is True


def test_an_explicit_environment_reads_no_dotenv_unless_asked(tmp_path, monkeypatch):
    conf, _ = files(tmp_path, "", "API_PORT=9300\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings(conf, {}).server.port == 8000
    assert load_settings(conf, {}, tmp_path / ".env").server.port == 9300


def test_secrets_and_url_passwords_are_masked():
    assert masked(("tasks", "webhook_secret"), "s3cr3t") == "******"
    assert masked(("auth", "task_token_secret"), "") == ""
    url = "postgresql+asyncpg://user:hunter2@db:5432/app"
    assert masked(("database", "url"), url) == "postgresql+asyncpg://user:******@db:5432/app"
    assert masked(("queue", "url"), "redis://:pw@r:6379/0") == "redis://:******@r:6379/0"
    assert masked(("server", "port"), 8000) == 8000
