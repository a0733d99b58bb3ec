"""The one outbound URL policy: strict parsing, then public addresses only (IPv4 inside IPv6 too).

Literal addresses resolve without a network, so these tests need no DNS.
"""

import asyncio
import ipaddress
import socket

import pytest

from center_api.core.errors import (
    FetchFailedError,
    UrlNotAllowedError,
    ValidationError,
)
from center_api.core.outbound import policy
from center_api.core.outbound.fetch import fetch_bytes, post_json
from center_api.core.outbound.policy import (
    MAX_URL_LENGTH,
    check_url,
    embedded_ipv4,
    is_public,
    parse_url,
    resolve_checked,
)
from center_api.core.settings import FetchSettings
from tests.conftest import assert_error
from tests.support.http_server import serve_routes

STRICT = FetchSettings()
OPEN = FetchSettings(allow_private_networks=True)
SEGMENT = "/api/v1/cutout/segment"

# Teredo: 2001:0:<server IPv4>:<flags>:<port ^ 0xffff>:<client IPv4 ^ 0xffffffff>.
TEREDO_PUBLIC = "2001:0:808:808::f7f7:f7f7"  # server 8.8.8.8, client 8.8.8.8
TEREDO_PRIVATE_SERVER = "2001:0:a9fe:a9fe::f7f7:f7f7"  # server 169.254.169.254
TEREDO_PRIVATE_CLIENT = "2001:0:808:808::80ff:fffe"  # client 127.0.0.1

REFUSED_ADDRESSES = [
    # IPv4
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.0.9",
    "192.0.2.1",
    "192.88.99.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 that is not global unicast
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "2001:db8::1",
    "2001:2::1",
    "3fff::1",
    "5f00::1",
    # IPv4 inside IPv6
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::10.0.0.1",
    "::169.254.169.254",
    "::ffff:0:127.0.0.1",  # IPv4-translated: not global unicast either
    "64:ff9b::7f00:1",
    "64:ff9b::10.0.0.1",
    "64:ff9b::169.254.169.254",
    "64:ff9b:1::7f00:1",
    "64:ff9b:1:ffff::c0a8:101",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:a9fe:a9fe::1",
    TEREDO_PRIVATE_SERVER,
    TEREDO_PRIVATE_CLIENT,
]

PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1111",
    "2606:4700:4700::1111",
    "2a00:1450:4001:81c::200e",
    "::ffff:8.8.8.8",
    "::8.8.8.8",
    "64:ff9b::808:808",
    "64:ff9b:1::808:808",
    "2002:808:808::1",
    TEREDO_PUBLIC,
]


def literal_url(address: str) -> str:
    return f"http://[{address}]/x.png" if ":" in address else f"http://{address}/x.png"


def check(url: str, settings: FetchSettings = STRICT) -> None:
    asyncio.run(check_url(url, settings))


# --- the address check ----------------------------------------------------------------------


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_not_public(address):
    assert is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::7f00:1", ["127.0.0.1"]),
        ("64:ff9b:1:2:3::a00:1", ["10.0.0.1"]),
        ("2002:c0a8:101::1", ["192.168.1.1"]),
        (TEREDO_PRIVATE_CLIENT, ["8.8.8.8", "127.0.0.1"]),
        ("2606:4700::1111", []),
    ],
)
def test_the_ipv4_inside_ipv6_is_found(address, carried):
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address(address))] == carried


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_urls_naming_non_public_addresses_are_refused(address):
    with pytest.raises(UrlNotAllowedError) as caught:
        check(literal_url(address))
    assert caught.value.code == "URL_NOT_ALLOWED"
    assert caught.value.status_code == 422


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_allowing_private_networks_lets_them_through(address):
    check(literal_url(address), OPEN)


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_urls_naming_public_addresses_pass_the_check(address):
    check(literal_url(address))


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f000001", "0x7f.1", "017700000001", "0177.0.0.1", "127.1", "0", "0x0"],
)
def test_decimal_octal_and_hex_spellings_of_loopback_are_refused(host):
    with pytest.raises(UrlNotAllowedError) as caught:
        check(f"http://{host}/x.png")
    assert caught.value.details == {"host": host}
    assert "127.0.0.1" not in caught.value.message


def test_a_name_with_one_private_address_is_refused_without_naming_any(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.0.0.7", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UrlNotAllowedError) as caught:
        asyncio.run(resolve_checked("mixed.example", 443, STRICT))
    assert caught.value.details == {"host": "mixed.example"}
    text = f"{caught.value.message} {caught.value.details}"
    assert "10.0.0.7" not in text and "93.184.216.34" not in text


def test_a_host_that_does_not_resolve_is_a_fetch_failure(monkeypatch):
    def failing_getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing_getaddrinfo)
    with pytest.raises(FetchFailedError):
        check("https://nowhere.example/x.png")


# --- strict parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com:99999/",
        "http://example.com:65536/",
        "http://example.com:0/",
        "http://example.com:abc/",
        "http://example.com:-1/",
        "http://example.com:8 0/",
        "http://[::1/",
        "http://[zz]/",
        "http://[::1]x/",
        "http://[v1.fe]/",
        "http://[fe80::1%25eth0]/",
        "http://127.0.0.%31/",
        "http://exa mple.com/",
        " http://example.com/",
        "http://example.com/\n",
        "http://example.com/a\tb",
        "http://exam\x00ple.com/",
        "http://example.com/\x7f",
        "http://example.com/\x85",
        "http://a..b/",
        "http://.example.com/",
        "http://ex*ample.com/",
        "http://ex!ample.com/",
        "http://" + "a" * 64 + ".com/",
        "http://" + ".".join(["a" * 63] * 4) + ".com/",
        "http://\u2ff0x.com/",
        "http://\u05d0a.com/",
        "http:///x.png",
        "http://:80/",
        "http://example.com/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_malformed_urls_are_validation_errors(url):
    with pytest.raises(ValidationError) as caught:
        parse_url(url)
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.status_code == 422
    with pytest.raises(ValidationError):
        check(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "x.png",
        "//example.com/x.png",
        "http://user:secret@example.com/x.png",
        "http://user@example.com/x.png",
        "http://:pw@example.com/x.png",
    ],
)
def test_other_schemes_and_credentials_are_not_allowed(url):
    with pytest.raises(UrlNotAllowedError):
        parse_url(url)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://example.com/x.png", ("http", "example.com", 80)),
        ("https://example.com/x.png", ("https", "example.com", 443)),
        ("HTTPS://Example.COM:8443/x", ("https", "example.com", 8443)),
        ("http://example.com:/x", ("http", "example.com", 80)),
        ("http://example.com.:65535/", ("http", "example.com.", 65535)),
        ("http://bücher.example/x", ("http", "xn--bcher-kva.example", 80)),
        ("http://under_score.example/", ("http", "under_score.example", 80)),
        ("http://[2606:4700::1111]:8080/x", ("http", "2606:4700::1111", 8080)),
        ("http://[::FFFF:8.8.8.8]/", ("http", "::ffff:808:808", 80)),
        ("http://" + "a" * 63 + ".example/", ("http", "a" * 63 + ".example", 80)),
        ("http://93.184.216.34/x?y=1#z", ("http", "93.184.216.34", 80)),
    ],
)
def test_well_formed_urls_parse(url, parts):
    assert tuple(parse_url(url)) == parts


def test_a_malformed_url_never_reaches_the_network():
    with pytest.raises(ValidationError):
        asyncio.run(fetch_bytes("http://example.com:99999/x.png", STRICT, 1000))
    with pytest.raises(ValidationError):
        asyncio.run(post_json("http://[::1/", b"{}", STRICT))


# --- redirects: each hop parsed and checked again ----------------------------------------------


def test_a_redirect_to_a_malformed_url_is_a_fetch_failure():
    routes = {
        "/bad-port": (302, {"Location": "http://example.com:99999/"}, b""),
        "/bad-v6": (302, {"Location": "http://[::1/"}, b""),
    }
    with serve_routes(routes) as base:
        for path in routes:
            with pytest.raises(FetchFailedError):
                asyncio.run(fetch_bytes(f"{base}{path}", OPEN, 1000))


def test_a_redirect_to_an_embedded_loopback_is_refused(monkeypatch):
    real = policy.is_public
    # Only the test server's own address counts as public here, so the first hop is let through
    # and every next hop meets the real rules.
    monkeypatch.setattr(policy, "is_public", lambda a: str(a) == "127.0.0.1" or real(a))
    hops = ["http://[::127.0.0.1]/x", "http://[64:ff9b::7f00:1]/x", "http://[::ffff:10.0.0.1]/x"]
    routes = {f"/{i}": (302, {"Location": hop}, b"") for i, hop in enumerate(hops)}
    with serve_routes(routes) as base:
        for path in routes:
            with pytest.raises(UrlNotAllowedError):
                asyncio.run(fetch_bytes(f"{base}{path}", STRICT, 1000))


# --- through the real app ----------------------------------------------------------------------


def post_url(client, url: str):
    return client.post(SEGMENT, files={"image_url": (None, url)})


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://[::127.0.0.1]/x.png", "127.0.0.1"),
        ("http://[64:ff9b::7f00:1]/", "127.0.0.1"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "169.254.169.254"),
        ("http://2130706433/x.png", "127.0.0.1"),
        ("http://0x7f.1/x.png", "127.0.0.1"),
        ("http://017700000001/x.png", "127.0.0.1"),
    ],
)
def test_the_api_refuses_embedded_and_odd_spellings_of_private_addresses(client, url, address):
    body = assert_error(post_url(client, url), 422, "URL_NOT_ALLOWED")
    assert "addresses" not in body["error"]["details"]
    if address not in url:
        assert address not in str(body)


@pytest.mark.parametrize(
    "url",
    ["http://example.com:99999/", "http://[::1/", "http://example.com:abc/x.png", "http://[zz]/"],
)
def test_the_api_answers_malformed_urls_with_a_validation_error(client, url):
    assert_error(post_url(client, url), 422, "VALIDATION_ERROR")
