"""``center-api remove``: background removal on a remote server, through `center_api.client`."""

import asyncio
from pathlib import Path

import click
import httpx

from center_api.client import ApiError, AsyncClient, Result
from center_api.client.api import DEFAULT_URL

_EXTENSIONS = {"image/png": ".png", "image/webp": ".webp", "image/jpeg": ".jpg"}


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option(
    "--url",
    envvar="CENTER_API_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="The server ($CENTER_API_URL).",
)
@click.option(
    "--api-key",
    envvar="CENTER_API_KEY",
    default=None,
    help="An API key ($CENTER_API_KEY); not needed in open mode.",
)
@click.option("--format", "fmt", type=click.Choice(["png", "webp", "jpg"]), default=None)
@click.option("--size", type=click.Choice(["preview", "full", "auto"]), default=None)
@click.option("--model", default=None, help="A segmentation model installed on the server.")
@click.option("--bg-color", default=None, help="Flatten onto this colour (needed for jpg).")
@click.option(
    "--jobs", type=click.IntRange(1, 16), default=2, show_default=True, help="Images sent at once."
)
def remove(  # noqa: PLR0913, PLR0917 - one parameter per option
    inputs: tuple[Path, ...],
    output: Path,
    url: str,
    api_key: str | None,
    fmt: str | None,
    size: str | None,
    model: str | None,
    bg_color: str | None,
    jobs: int,
) -> None:
    """Remove the background of INPUTS on a server; write OUTPUT (a directory for many).

    \b
    center-api remove photo.jpg out.png --url http://host:8000 --api-key ck_…
    center-api remove shots/*.jpg cutouts/      # many: a progress bar, one file each
    """  # noqa: D301 - "\b" keeps click from rewrapping the examples
    options = {"format": fmt, "size": size, "model": model, "bg_color": bg_color}
    many = len(inputs) > 1 or output.is_dir() or str(output).endswith("/")
    if many:
        output.mkdir(parents=True, exist_ok=True)
    failures = asyncio.run(_remove_all(inputs, output, many, (url, api_key, jobs), options))
    if failures:
        raise SystemExit(1)


async def _remove_all(
    inputs: tuple[Path, ...],
    output: Path,
    many: bool,
    server: tuple[str, str | None, int],
    options: dict[str, str | None],
) -> int:
    url, api_key, jobs = server
    gate = asyncio.Semaphore(jobs)
    failures = 0
    async with AsyncClient(url, api_key) as client:

        async def one(path: Path) -> tuple[Path, Result | str]:
            async with gate:
                try:
                    return path, await client.remove_background(path, **options)
                except (ApiError, httpx.HTTPError, OSError) as exc:
                    return path, str(exc) or type(exc).__name__

        bar = click.progressbar(length=len(inputs), label="Removing backgrounds", hidden=not many)
        with bar:
            for done in asyncio.as_completed([one(path) for path in inputs]):
                path, answer = await done
                bar.update(1)
                if isinstance(answer, str):
                    failures += 1
                    click.echo(f"\n{path}: {answer}", err=True)
                    continue
                target = output / (path.stem + _EXTENSIONS.get(answer.media_type, ".bin"))
                answer.save(target if many else output)
    if not many and not failures:
        click.echo(f"wrote {output}")
    return failures
