"""One-shot image commands that run a slice without HTTP (same container, same code path)."""

import asyncio
import sys
from pathlib import Path

import click
from msgspec import Struct

from center_api.core.errors import AppException, FeatureDisabledError
from center_api.core.logging import configure_logging
from center_api.core.settings import Settings
from center_api.registry.spec import SliceResult
from center_api.sdk.vision import DEFAULT_SEGMENTATION_MODEL
from center_api.slices.cutout.schemas import CutoutOptions


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--model", default=DEFAULT_SEGMENTATION_MODEL, show_default=True, help="Segmentation model id."
)
@click.pass_obj
def cutout(settings: Settings, source: Path, output: Path, model: str) -> None:
    """Remove the background of SOURCE and write the cut-out to OUTPUT (.png or .webp)."""
    options = CutoutOptions(
        model=model, format="webp" if output.suffix.lower() == ".webp" else "png"
    )
    try:
        result = asyncio.run(run_slice(settings, "cutout", source.read_bytes(), options))
    except AppException as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    output.write_bytes(result.content)
    click.echo(f"wrote {output} ({len(result.content):,} bytes)")


async def run_slice(settings: Settings, name: str, image: bytes, options: Struct) -> SliceResult:
    """Run slice ``name`` once through a freshly built container."""
    from center_api.bootstrap.runtime import build_container, build_runtime  # noqa: PLC0415 - heavy imports

    configure_logging(settings.logging)
    runtime = build_runtime(settings)
    entry = runtime.registry.get(name)
    if entry is None or not entry.is_mounted or entry.slice is None:
        raise FeatureDisabledError(f"The {name!r} slice is not enabled here.")
    container = build_container(runtime)
    try:
        async with container() as request_container:
            return await entry.slice.run(request_container, image, options)
    finally:
        await container.close()
