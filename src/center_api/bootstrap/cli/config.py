"""``center-api config show``: every effective setting, where it came from, secrets masked."""

from pathlib import Path

import click
import msgspec

from center_api.core.settings import SettingsError, load_settings_with_sources
from center_api.core.settings_sources import flatten, masked


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per setting.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Print each setting as ``key = value  # source``.

    The source is ``default``, the config file, ``.env NAME`` or ``environment NAME`` (the
    environment beats ``.env``, which beats the file). Secrets and URL passwords are masked.
    """
    config_file: Path | None = ctx.find_root().params.get("config")
    try:
        settings, sources = load_settings_with_sources(config_file)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    for path, value in flatten(msgspec.to_builtins(settings)):
        key, shown, source = ".".join(path), masked(path, value), sources.of(path)
        if as_json:
            line = {"key": key, "value": shown, "source": source}
            click.echo(msgspec.json.encode(line).decode())
        else:
            click.echo(f"{key} = {msgspec.json.encode(shown).decode()}  # {source}")
