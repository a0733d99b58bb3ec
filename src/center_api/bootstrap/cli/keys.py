"""``center-api keys create|list|revoke``: API keys (only a hash of each secret is stored)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from center_api.auth.key_store import ApiKeyStore, KeySpec
from center_api.core.errors import ValidationError
from center_api.core.settings import Settings
from center_api.db.config import build_db_config
from center_api.db.models.api_key import ApiKey

T = TypeVar("T")


def _run(settings: Settings, action: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    async def main() -> T:
        config = build_db_config(settings.database)
        try:
            return await action(ApiKeyStore(config))
        finally:
            await config.get_engine().dispose()

    return asyncio.run(main())


def _parse_rate(value: str | None) -> int | None:
    """``120/min`` or ``120`` → 120 requests per minute."""
    if value is None:
        return None
    number = value.strip().lower().removesuffix("/min").removesuffix("/m")
    if not number.isdigit() or int(number) <= 0:
        raise click.BadParameter("use N/min, e.g. 120/min", param_hint="--rate")
    return int(number)


@click.group()
def keys() -> None:
    """API keys for auth.mode = api_key."""


@keys.command()
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--role", type=click.Choice(["admin", "user"]), default="user", show_default=True)
@click.option("--quota", type=int, default=None, help="Calls allowed in total.")
@click.option("--quota-mp", type=float, default=None, help="Megapixels allowed in total.")
@click.option("--rate", default=None, help="Requests per minute, e.g. 120/min.")
@click.pass_obj
def create(  # noqa: PLR0913, PLR0917 - one argument per option
    settings: Settings,
    name: str,
    role: str,
    quota: int | None,
    quota_mp: float | None,
    rate: str | None,
) -> None:
    """Create a key and print it (this is the only time the secret is shown)."""
    spec = KeySpec(name, role, quota, quota_mp, _parse_rate(rate))
    try:
        row, token = _run(settings, lambda store: store.create(spec))
    except ValidationError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"created key {row.id} ({row.name}, role {row.role}, prefix {row.prefix})")
    click.echo("Store it now; it cannot be shown again:")
    click.echo(token)


@keys.command(name="list")
@click.pass_obj
def list_keys(settings: Settings) -> None:
    """List keys (prefix, role, limits, usage; never secrets)."""
    rows: list[ApiKey] = _run(settings, lambda store: store.list())
    click.echo("id\tprefix\tname\trole\tquota_calls\tused_calls\tquota_mp\tused_mp\trate\tstate")
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        click.echo(
            f"{row.id}\t{row.prefix}\t{row.name}\t{row.role}\t{row.quota_calls or '-'}\t"
            f"{row.used_calls}\t{row.quota_megapixels or '-'}\t{row.used_megapixels:.2f}\t"
            f"{row.rate_per_minute or '-'}\t{state}"
        )


@keys.command()
@click.argument("ident")
@click.pass_obj
def revoke(settings: Settings, ident: str) -> None:
    """Revoke the key with id or prefix IDENT (takes effect on the next request)."""
    if not _run(settings, lambda store: store.revoke(ident)):
        raise click.ClickException(f"no active key with id or prefix {ident!r}")
    click.echo(f"revoked {ident}")
