"""The ``center-api`` command: serve, models, plugins, and one-shot image commands."""

import sys
from pathlib import Path

import click

from center_api.cli.images import cutout
from center_api.cli.models import models
from center_api.cli.plugins import plugins
from center_api.core.settings import SettingsError, load_settings


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $CENTER_API_CONFIG or ./litestar.toml).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Center API: self-hosted image processing."""
    try:
        ctx.obj = load_settings(config)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@cli.command()
@click.option("--host", default=None, help="Bind address (default: server.host / HOST).")
@click.option("--port", type=int, default=None, help="Port (default: server.port / PORT).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: WORKERS).")
@click.pass_obj
def serve(settings: object, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn  # noqa: PLC0415 - only this command needs it

    from center_api.core.settings import Settings  # noqa: PLC0415

    assert isinstance(settings, Settings)
    uvicorn.run(
        "center_api.app:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers or settings.server.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


cli.add_command(models)
cli.add_command(plugins)
cli.add_command(cutout)
