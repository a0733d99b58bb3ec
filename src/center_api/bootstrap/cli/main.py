"""The ``center-api`` command: serve, models, plugins, and one-shot image commands."""

import asyncio
import os
import sys
from pathlib import Path

import click
import msgspec

from center_api.bootstrap.cli.config import config
from center_api.bootstrap.cli.db import db
from center_api.bootstrap.cli.images import cutout
from center_api.bootstrap.cli.keys import keys
from center_api.bootstrap.cli.models import models
from center_api.bootstrap.cli.plugins import plugins
from center_api.bootstrap.cli.remote import remove
from center_api.core.settings import (
    Settings,
    SettingsError,
    check_backends_installed,
    load_settings,
)
from center_api.db import migrate


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
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker"]),
    default=None,
    help="all: HTTP and tasks; api: HTTP, enqueue only; worker: tasks, no HTTP "
    "(api/worker need QUEUE_URL). Default: server.role, else all.",
)
@click.pass_obj
def serve(
    settings: Settings, host: str | None, port: int | None, workers: int | None, role: str | None
) -> None:
    """Apply pending migrations (unless switched off), then serve the HTTP API with uvicorn.

    With ``--role worker`` no HTTP is served: the process only runs queued tasks.
    """
    import uvicorn  # noqa: PLC0415 - only this command needs it

    role = role or settings.server.role
    try:
        check_backends_installed(settings)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if role != "all" and not settings.queue.url:
        click.echo(f"error: --role {role} needs a shared queue: set QUEUE_URL", err=True)
        sys.exit(2)
    os.environ["CENTER_API__SERVER__ROLE"] = role  # the app factory reads settings again
    if host:  # the app factory reads settings again; it must see the address it is bound to
        os.environ["HOST"] = host
    if settings.database.migrate_on_start:
        migrate.upgrade(settings.database.url)
    if role == "worker":
        from center_api.bootstrap.worker import run_worker  # noqa: PLC0415 - heavy import, this path only

        server = msgspec.structs.replace(settings.server, role="worker")
        asyncio.run(run_worker(msgspec.structs.replace(settings, server=server)))
        return
    uvicorn.run(
        "center_api.bootstrap.app:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers or settings.server.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


cli.add_command(config)
cli.add_command(db)
cli.add_command(keys)
cli.add_command(models)
cli.add_command(plugins)
cli.add_command(cutout)
cli.add_command(remove)
