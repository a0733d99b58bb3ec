"""The outbound URL policy: which URLs this server may fetch from or post to.

One policy for every outbound URL (``image_url``, ``background_url``, ``callback_url`` and each
redirect hop):

* The URL is parsed strictly: http/https only, no credentials, a port in 1..65535, a host that
  is a valid IPv6 literal or an IDNA-encodable name (labels of at most 63 characters, at most 253
  in all), at most 2048 characters and no whitespace or control characters. A malformed URL is a
  `ValidationError`; a refused one a `UrlNotAllowedError`.
* Every address the host resolves to must be public unless private networks are allowed in
  config. An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is
  judged by the IPv4 address(es) inside it; any other IPv6 address must be global unicast.
* The connection goes to the address that was checked (`pinned_url`, used by `fetch`).

Resolved addresses never appear in errors: the client learns the host it named, nothing more.
"""

import asyncio
import ipaddress
import re
import socket
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit, urlunsplit

from center_api.core.errors import FetchFailedError, UrlNotAllowedError, ValidationError
from center_api.core.settings import FetchSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
# What may follow the userinfo: a bracketed literal or a name, then an optional port.
_HOST_PORT = re.compile(r"(\[[^\[\]]*\]|[^\[\]:]*)(:[0-9]*)?")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Refused whatever this Python's ``is_global`` says (its tables changed between releases).
_IPV4_REFUSED = tuple(
    _V4(net)
    for net in (
        "0.0.0.0/8",  # "this" network
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_GLOBAL_UNICAST = _V6("2000::/3")
_IPV6_REFUSED = tuple(
    _V6(net)
    for net in (
        "2001::/23",  # IETF protocol assignments (Teredo is unwrapped before this)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4 (unwrapped before this)
        "3fff::/20",  # documentation
    )
)
_IPV4_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
# Local-use NAT64 prefixes are read in the /96 layout DNS64 uses (the IPv4 in the last 32 bits).
_NAT64_LOCAL = _V6("64:ff9b:1::/48")


class UrlParts(NamedTuple):
    """A URL that passed the syntax rules: scheme, ASCII host (no brackets), port."""

    scheme: str
    host: str
    port: int


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 address(es) an IPv6 address carries, or ``()`` when it carries none."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.teredo is not None:
        return address.teredo  # the server and the (de-obfuscated) client
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address in _IPV4_COMPATIBLE or address in _NAT64 or address in _NAT64_LOCAL:
        return (ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF),)
    return ()


def _ipv4_is_public(address: ipaddress.IPv4Address) -> bool:
    return (
        address.is_global
        and not (address.is_multicast or address.is_reserved or address.is_unspecified)
        and not any(address in net for net in _IPV4_REFUSED)
    )


def _ipv6_is_public(address: ipaddress.IPv6Address) -> bool:
    return (
        address in _GLOBAL_UNICAST
        and address.is_global
        and not (address.is_multicast or address.is_reserved or address.is_unspecified)
        and not any(address in net for net in _IPV6_REFUSED)
    )


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses.

    An IPv6 address carrying an IPv4 one is public when every IPv4 address it carries is
    (Teredo carries two); any other IPv6 address must be global unicast.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_is_public(address)
    carried = embedded_ipv4(address)
    if carried:
        return all(_ipv4_is_public(inner) for inner in carried)
    return _ipv6_is_public(address)


async def resolve_checked(host: str, port: int, settings: FetchSettings) -> str:
    """Resolve ``host`` and return one address that passed the checks.

    Raises:
        UrlNotAllowedError: the host resolves to a refused address.
        FetchFailedError: the host does not resolve.
    """
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise FetchFailedError(f"The host {host!r} does not resolve.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise FetchFailedError(f"The host {host!r} does not resolve.")
    if not settings.allow_private_networks and not all(is_public(a) for a in addresses):
        raise UrlNotAllowedError(
            f"The URL's host {host!r} resolves to a non-public address; this server does not "
            "fetch from private networks.",
            details={"host": host},
        )
    return str(addresses[0])


def _malformed(message: str, url: str) -> ValidationError:
    return ValidationError(message, details={"url": url[:200]})


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(
            f"The URL is longer than {MAX_URL_LENGTH} characters.",
            details={"max_length": MAX_URL_LENGTH},
        )
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        raise _malformed("The URL contains whitespace or control characters.", url)
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise _malformed(f"The URL is malformed: {exc}.", url) from exc


def _port(parts: SplitResult, url: str) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise _malformed("The URL's port is not a number from 1 to 65535.", url) from exc
    if port is None:
        return _DEFAULT_PORTS[parts.scheme]
    if not 1 <= port <= 65535:
        raise _malformed("The URL's port is not a number from 1 to 65535.", url)
    return port


def _ascii_host(parts: SplitResult, url: str) -> str:
    """The host as it goes to the resolver: an IPv6 literal, or an IDNA-encoded name."""
    host = parts.hostname or ""
    if "%" in host:
        raise _malformed("The URL's host may not contain '%' (nor an IPv6 zone).", url)
    if parts.netloc.rpartition("@")[2].startswith("["):
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError as exc:
            raise _malformed("The URL's host is not a valid IPv6 address.", url) from exc
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise _malformed("The URL's host is not a valid host name.", url) from exc
    bare = name.removesuffix(".")
    if len(bare) > _MAX_HOST_LENGTH or not all(_LABEL.fullmatch(x) for x in bare.split(".")):
        raise _malformed(
            "The URL's host is not a valid host name (labels of letters, digits and '-', "
            f"at most 63 characters each and {_MAX_HOST_LENGTH} in all).",
            url,
        )
    return name


def parse_url(url: str) -> UrlParts:
    """Check ``url`` against the syntax rules (no network).

    Raises:
        ValidationError: the URL is malformed (length, characters, port, host).
        UrlNotAllowedError: not http/https, or carries credentials.
    """
    parts = _split(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise UrlNotAllowedError(
            "Only absolute http and https URLs can be fetched.", details={"url": url[:200]}
        )
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowedError("URLs with credentials are not fetched.")
    if not parts.hostname:
        raise _malformed("The URL has no host.", url)
    if not _HOST_PORT.fullmatch(parts.netloc.rpartition("@")[2]):
        raise _malformed("The URL's host and port are malformed.", url)
    return UrlParts(parts.scheme, _ascii_host(parts, url), _port(parts, url))


def host_header(parts: UrlParts) -> str:
    """The ``Host`` header for ``parts`` (the port only when it is not the default)."""
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    return host if parts.port == _DEFAULT_PORTS[parts.scheme] else f"{host}:{parts.port}"


def pinned_url(url: str, parts: UrlParts, address: str) -> str:
    """``url`` aimed at the checked ``address`` (the name travels in Host and SNI)."""
    raw = urlsplit(url)
    pinned_host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{pinned_host}:{parts.port}", raw.path or "/", raw.query, ""))


async def check_url(url: str, settings: FetchSettings) -> None:
    """Refuse ``url`` now if fetching (or posting to) it later would be refused.

    Raises:
        ValidationError: the URL is malformed.
        UrlNotAllowedError: scheme, credentials or address refused.
        FetchFailedError: the host does not resolve.
    """
    parts = parse_url(url)
    await resolve_checked(parts.host, parts.port, settings)
