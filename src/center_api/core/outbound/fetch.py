"""Fetching and posting under the outbound URL policy (see `policy`).

The connection goes to the address the policy checked (DNS pinned: no second lookup an attacker
could rebind); redirects are followed by hand and each hop is checked again; the body is capped
in bytes and the whole fetch in time.
"""

import asyncio
from collections.abc import Mapping
from urllib.parse import urljoin

import httpx

from center_api.core.errors import FetchFailedError, FileTooLargeError, ValidationError
from center_api.core.outbound.policy import (
    UrlParts,
    host_header,
    parse_url,
    pinned_url,
    resolve_checked,
)
from center_api.core.settings import FetchSettings

_REDIRECTS = {301, 302, 303, 307, 308}


async def fetch_bytes(url: str, settings: FetchSettings, max_bytes: int) -> bytes:
    """GET ``url`` under the rules above and return its body.

    Raises:
        ValidationError: the URL is malformed.
        UrlNotAllowedError: scheme, credentials or address refused (on any redirect hop too).
        FetchFailedError: DNS, connection, TLS, timeout, non-2xx, a malformed redirect, or too
            many redirects.
        FileTooLargeError: the body exceeds ``max_bytes``.
    """
    try:
        async with asyncio.timeout(settings.timeout_s):
            return await _follow(url, settings, max_bytes)
    except TimeoutError as exc:
        raise FetchFailedError(
            f"Fetching the URL took longer than {settings.timeout_s:g} s."
        ) from exc


async def _follow(url: str, settings: FetchSettings, max_bytes: int) -> bytes:
    async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as client:
        for _ in range(settings.max_redirects + 1):
            response_or_next = await _fetch_once(client, url, settings, max_bytes)
            if isinstance(response_or_next, bytes):
                return response_or_next
            url = response_or_next
    raise FetchFailedError(
        "The URL redirected too many times.", details={"max_redirects": settings.max_redirects}
    )


async def _fetch_once(
    client: httpx.AsyncClient, url: str, settings: FetchSettings, max_bytes: int
) -> bytes | str:
    """Return the body, or the next URL when the answer is a redirect."""
    parts = parse_url(url)
    address = await resolve_checked(parts.host, parts.port, settings)
    headers = {"Host": host_header(parts), "User-Agent": settings.user_agent}
    extensions = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
    try:
        request = client.build_request(
            "GET", pinned_url(url, parts, address), headers=headers, extensions=extensions
        )
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise FetchFailedError(f"The URL could not be fetched: {type(exc).__name__}.") from exc
    try:
        if response.status_code in _REDIRECTS and "location" in response.headers:
            return _next_hop(url, response.headers["location"])
        if not 200 <= response.status_code < 300:
            raise FetchFailedError(
                f"The URL answered HTTP {response.status_code}.",
                details={"status": response.status_code},
            )
        return await _read_capped(response, max_bytes)
    finally:
        await response.aclose()


def _next_hop(url: str, location: str) -> str:
    """The redirect's target, which must itself be a well-formed URL (it is checked again)."""
    try:
        target = urljoin(url, location)
        parse_url(target)
    except (ValueError, ValidationError) as exc:
        raise FetchFailedError("The URL redirected to a malformed URL.") from exc
    return target


async def post_json(
    url: str, content: bytes, settings: FetchSettings, headers: Mapping[str, str] | None = None
) -> int:
    """POST the JSON bytes ``content`` to ``url`` under the same rules; redirects not followed.

    ``content`` goes out exactly as given (a signature over it stays valid). The answer's body
    is not read.

    Returns:
        The HTTP status of the answer (a 3xx is returned, not followed).

    Raises:
        ValidationError: the URL is malformed.
        UrlNotAllowedError: scheme, credentials or address refused (before any connection).
        FetchFailedError: DNS, connection, TLS or timeout; ``details["reason"]`` is
            ``"timeout"`` or ``"connection"``.
    """
    parts = parse_url(url)
    try:
        async with asyncio.timeout(settings.timeout_s):
            address = await resolve_checked(parts.host, parts.port, settings)
            pinned = pinned_url(url, parts, address)
            return await _post_pinned(pinned, parts, content, settings, headers)
    except TimeoutError as exc:
        raise FetchFailedError(
            f"The URL did not answer within {settings.timeout_s:g} s.",
            details={"reason": "timeout"},
        ) from exc


async def _post_pinned(
    pinned: str,
    parts: UrlParts,
    content: bytes,
    settings: FetchSettings,
    extra_headers: Mapping[str, str] | None,
) -> int:
    headers = {
        **(extra_headers or {}),
        "Host": host_header(parts),
        "User-Agent": settings.user_agent,
        "Content-Type": "application/json",
    }
    extensions = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
    try:
        async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as client:
            request = client.build_request(
                "POST",
                pinned,
                content=content,
                headers=headers,
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            await response.aclose()
    except httpx.TimeoutException as exc:
        raise FetchFailedError(
            f"The URL did not answer in time: {type(exc).__name__}.",
            details={"reason": "timeout"},
        ) from exc
    except httpx.HTTPError as exc:
        raise FetchFailedError(
            f"The URL could not be reached: {type(exc).__name__}.",
            details={"reason": "connection"},
        ) from exc
    return response.status_code


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FileTooLargeError(
            "The image at the URL is larger than this server accepts.",
            details={"bytes": int(declared), "max_bytes": max_bytes},
        )
    chunks, total = [], 0
    try:
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise FileTooLargeError(
                    "The image at the URL is larger than this server accepts.",
                    details={"max_bytes": max_bytes},
                )
            chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise FetchFailedError(f"Reading the URL failed: {type(exc).__name__}.") from exc
    return b"".join(chunks)
