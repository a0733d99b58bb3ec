"""``center-api plugins list``: the slices this installation has and their status."""

import sys
from pathlib import Path

import click

from center_api.core.settings import Settings
from center_api.kernel.model_store import ModelStore
from center_api.registry.catalog import build_catalog
from center_api.registry.loader import RegistryError, discover_slices


@click.group()
def plugins() -> None:
    """Slices (built-in and third-party)."""


@plugins.command("list")
@click.pass_obj
def list_plugins(settings: Settings) -> None:
    """Show every installed slice, its distribution, version and status."""
    store = ModelStore.from_directory(Path(settings.models.dir))
    try:
        registry = discover_slices(settings, store)
    except RegistryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{'SLICE':20} {'DISTRIBUTION':28} {'VERSION':10} {'STATUS':9} MODELS / REASON")
    for tool in build_catalog(registry, store):
        models = ", ".join(f"{m.id}:{m.state}" for m in tool.models)
        click.echo(
            f"{tool.name:20} {tool.distribution or '?':28} {tool.version or '?':10} "
            f"{tool.status:9} {tool.reason or models}"
        )
