"""``center-api models list|pull|verify``."""

import sys

import click

from center_api.core.settings import Settings
from center_api.kernel.model_store import ModelPullError, ModelStore
from center_api.registry.loader import store_with_slice_models


def _store(settings: Settings) -> ModelStore:
    # The manifest plus the models installed slices (plugins) declare.
    return store_with_slice_models(settings)


@click.group()
def models() -> None:
    """Model weights: list, pull, verify."""


@models.command("list")
@click.pass_obj
def list_models(settings: Settings) -> None:
    """Show every manifest model and whether it is installed."""
    store = _store(settings)
    click.echo(f"{'MODEL':26} {'TASK':14} {'STATE':10} {'SIZE':>12}  LICENCE (commercial use)")
    for row in store.statuses():
        size = f"{row.size:,}" if row.size else "?"
        commercial = "yes" if row.commercial_use else "NO"
        click.echo(
            f"{row.id:26} {row.task:14} {row.state:10} {size:>12}  {row.license} ({commercial})"
        )


@models.command()
@click.argument("model_ids", nargs=-1)
@click.option("--force", is_flag=True, help="Download again even if a verified copy exists.")
@click.pass_obj
def pull(settings: Settings, model_ids: tuple[str, ...], force: bool) -> None:
    """Fetch and verify MODEL_IDS (default: the manifest's offline defaults)."""
    store = _store(settings)
    failed = 0
    for model_id in model_ids or store.default_ids():
        if model_id not in store.ids():
            click.echo(f"{model_id}: not in the manifest (known: {', '.join(store.ids())})")
            failed += 1
            continue
        try:
            path = store.pull(model_id, force=force, timeout_s=settings.models.pull_timeout_s)
        except ModelPullError as exc:
            click.echo(f"{model_id}: FAILED: {exc}", err=True)
            failed += 1
        else:
            click.echo(f"{model_id}: installed and verified at {path}")
    sys.exit(1 if failed else 0)


@models.command()
@click.argument("model_ids", nargs=-1)
@click.pass_obj
def verify(settings: Settings, model_ids: tuple[str, ...]) -> None:
    """Check the checksum of installed models (all installed ones by default)."""
    store = _store(settings)
    ids = model_ids or tuple(m for m in store.ids() if store.is_installed(m))
    bad = [m for m in ids if not store.verify(m)]
    for model_id in ids:
        click.echo(f"{model_id}: {'BAD' if model_id in bad else 'ok'}")
    sys.exit(1 if bad else 0)
