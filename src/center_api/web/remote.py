"""Fetch a client-named URL without becoming an SSRF proxy.

Rules: http/https only; every address the host resolves to must be public unless private
networks are allowed in config; the connection goes to the address that was checked (DNS
pinned: no second lookup an attacker could rebind); redirects are followed by hand and each hop
is checked again; the body is capped in bytes and the whole fetch in time.
"""

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from center_api.core.errors import FetchFailedError, FileTooLargeError, UrlNotAllowedError
from center_api.core.settings import FetchSettings

_REDIRECTS = {301, 302, 303, 307, 308}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve_checked(host: str, port: int, settings: FetchSettings) -> str:
    """Resolve ``host`` and return one address that passed the checks.

    Raises:
        UrlNotAllowedError: the host resolves to a refused address.
        FetchFailedError: the host does not resolve.
    """
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailedError(f"The host {host!r} does not resolve.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [str(a) for a in addresses if not is_public(a)]
    if refused and not settings.allow_private_networks:
        raise UrlNotAllowedError(
            f"The URL's host {host!r} resolves to a non-public address; this server does not "
            "fetch from private networks.",
            details={"host": host, "addresses": refused},
        )
    return str(addresses[0])


def _checked_parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlNotAllowedError(
            "Only absolute http and https URLs can be fetched.", details={"url": url[:200]}
        )
    if parts.username or parts.password:
        raise UrlNotAllowedError("URLs with credentials are not fetched.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port


async def check_url(url: str, settings: FetchSettings) -> None:
    """Refuse ``url`` now if fetching (or posting to) it later would be refused."""
    _, host, port = _checked_parts(url)
    await resolve_checked(host, port, settings)


async def fetch_bytes(url: str, settings: FetchSettings, max_bytes: int) -> bytes:
    """GET ``url`` under the rules above and return its body.

    Raises:
        UrlNotAllowedError: scheme, credentials or address refused (on any redirect hop too).
        FetchFailedError: DNS, connection, TLS, timeout, non-2xx, or too many redirects.
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
    scheme, host, port = _checked_parts(url)
    address = await resolve_checked(host, port, settings)
    parts = urlsplit(url)
    pinned_host = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": settings.user_agent}
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise FetchFailedError(f"The URL could not be fetched: {type(exc).__name__}.") from exc
    try:
        if response.status_code in _REDIRECTS and "location" in response.headers:
            return urljoin(url, response.headers["location"])
        if not 200 <= response.status_code < 300:
            raise FetchFailedError(
                f"The URL answered HTTP {response.status_code}.",
                details={"status": response.status_code},
            )
        return await _read_capped(response, max_bytes)
    finally:
        await response.aclose()


async def post_json(url: str, payload: dict[str, Any], settings: FetchSettings) -> int:
    """POST ``payload`` to ``url`` under the same address rules (no redirects followed).

    Returns the HTTP status. Raises like `fetch_bytes`.
    """
    scheme, host, port = _checked_parts(url)
    address = await resolve_checked(host, port, settings)
    parts = urlsplit(url)
    pinned_host = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc, "User-Agent": settings.user_agent}
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
            request = client.build_request(
                "POST", pinned, json=payload, headers=headers, extensions=extensions
            )
            response = await client.send(request)
    except httpx.HTTPError as exc:
        raise FetchFailedError(f"The callback failed: {type(exc).__name__}.") from exc
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
