"""The security ASGI layer: response headers, API-key authentication, rate limits, quotas.

It sits just inside `RequestContextMiddleware` (so every refusal carries the request id and is
metered) and outside Litestar (so unknown routes and bodies are never read for an unknown
caller). The admin role is checked per route by the `require_admin` guard.
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from center_api.core.error_handlers import error_body
from center_api.core.errors import AppException, AuthenticationError, RateLimitedError
from center_api.core.logging import get_logger
from center_api.core.middleware import request_id_of
from center_api.core.rate_limit import RateDecision, RateLimiter
from center_api.core.request_facts import current_request_facts, note_error
from center_api.core.security import (
    OPEN_PRINCIPAL,
    Principal,
    presented_key,
    set_principal,
)
from center_api.core.security_keys import ApiKeyStore, ensure_quota_left
from center_api.core.settings import Settings
from center_api.db.models.api_key import ApiKey

API_PREFIX = "/api/v1"
OPEN_API_PATHS = frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/health/live"})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# The API serves JSON and images only; the /schema UI pages load their own scripts and styles.
STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
SCHEMA_PREFIX = "/schema"

logger = get_logger("center_api.security")


@dataclass(frozen=True)
class Admission:
    """A request let through: who it is, its rate headers, whether its success is charged."""

    principal: Principal
    key: ApiKey | None
    rate: RateDecision | None
    is_billable: bool


class SecurityGate:
    """Authenticate, rate-limit and quota-check ``/api/v1`` calls; harden every response."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        keys: ApiKeyStore,
        limiter: RateLimiter,
        is_metered: Callable[[str], bool],
    ) -> None:
        """Wrap ``app``; ``is_metered(path)`` says whether a path is an image-processing call."""
        self.app = app
        self.settings = settings
        self.keys = keys
        self.limiter = limiter
        self.is_metered = is_metered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, security_headers(scope.get("path", "")))
        if not _is_protected(scope):
            await self.app(scope, receive, send)
            return
        try:
            admission = await self._admit(scope)
        except AppException as exc:
            await send_error(send, exc, request_id_of(scope))
            return
        if admission.rate is not None:
            send = _with_headers(send, _encode(admission.rate.headers()))
        status = {"code": 500}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, tracking_send)
        if admission.is_billable and admission.key is not None and status["code"] < 400:
            facts = current_request_facts()
            megapixels = facts.megapixels if facts and facts.megapixels else 0.0
            await self.keys.charge(str(admission.key.id), calls=1, megapixels=megapixels)

    async def _admit(self, scope: Scope) -> Admission:
        """Establish the caller, count the request, check the quota.

        Raises:
            AuthenticationError: api_key mode and no live key was presented.
            RateLimitedError: the caller's window is used up.
            InsufficientQuotaError: a billable call with the key's quota used up.
        """
        key = await self._authenticate(scope)
        principal = OPEN_PRINCIPAL if key is None else _principal_of(key)
        set_principal(scope, principal)
        facts = current_request_facts()
        if facts is not None and principal.key_id is not None:
            facts.caller = principal.key_id
        rate = await self._rate_check(scope, principal)
        is_billable = _is_billable(scope, self.is_metered)
        if key is not None and is_billable:
            ensure_quota_left(key)
        return Admission(principal, key, rate, is_billable)

    async def _authenticate(self, scope: Scope) -> ApiKey | None:
        if self.settings.auth.mode == "open":
            return None
        token = presented_key(scope)
        key = await self.keys.authenticate(token) if token else None
        if key is not None:
            return key
        # Failed attempts count against the address, so guessing keys is rate-limited too.
        await self._rate_check(scope, OPEN_PRINCIPAL)
        message = "A valid API key is required." if token else "An API key is required."
        logger.info("auth.rejected", has_key=token is not None)
        raise AuthenticationError(
            message + " Send it as X-API-Key (or Authorization: Bearer).",
            headers={"WWW-Authenticate": 'Bearer realm="center-api"'},
        )

    async def _rate_check(self, scope: Scope, principal: Principal) -> RateDecision | None:
        limits = self.settings.rate_limit
        if not limits.enabled:
            return None
        if principal.key_id is None:
            identity, limit = f"addr:{_client_host(scope)}", limits.per_address_per_minute
        else:
            identity = f"key:{principal.key_id}"
            limit = principal.rate_per_minute or limits.per_key_per_minute
        decision = await self.limiter.check(identity, limit)
        if not decision.is_allowed:
            raise RateLimitedError(
                f"Rate limit of {limit} requests per minute exceeded; retry later.",
                details={"limit": limit, "window_s": self.limiter.window_s},
                headers={**decision.headers(), "Retry-After": str(decision.reset_s)},
            )
        return decision


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The hardening headers for a response to ``path``."""
    if path == SCHEMA_PREFIX or path.startswith(SCHEMA_PREFIX + "/"):
        return list(SECURITY_HEADERS)
    return [*SECURITY_HEADERS, STRICT_CSP]


def is_loopback_host(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_exposed(settings: Settings) -> None:
    """Log a loud warning when open mode is bound beyond loopback."""
    if settings.auth.mode == "open" and not is_loopback_host(settings.server.host):
        logger.warning(
            "security.open_mode_exposed",
            host=settings.server.host,
            message=(
                "auth.mode is 'open' and the server is bound beyond loopback: ANYONE who can "
                "reach it can use it and read usage. Set auth.mode = 'api_key' "
                "(CENTER_API__AUTH__MODE=api_key) and create keys with `center-api keys create`."
            ),
        )


async def send_error(send: Send, exc: AppException, request_id: str | None) -> None:
    """Answer ``exc`` as the error envelope from outside Litestar."""
    note_error(exc.code)
    payload = msgspec.json.encode(error_body(exc, request_id))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *_encode(exc.headers),
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def _principal_of(key: ApiKey) -> Principal:
    return Principal(key_id=str(key.id), role=key.role, rate_per_minute=key.rate_per_minute)


def _is_protected(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if scope.get("method") == "OPTIONS":  # CORS preflights carry no credentials
        return False
    return path.startswith(API_PREFIX + "/") and path not in OPEN_API_PATHS


def _is_billable(scope: Scope, is_metered: Callable[[str], bool]) -> bool:
    path: str = scope.get("path", "")
    if scope.get("method") != "POST":
        return False
    return is_metered(path) or path.rstrip("/").startswith(f"{API_PREFIX}/tasks")


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """Wrap ``send`` to add ``extra`` response headers the app did not set itself."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            current: list[Any] = list(message.get("headers", []))
            present = {bytes(name).lower() for name, _ in current}
            message["headers"] = current + [h for h in extra if h[0] not in present]
        await send(message)

    return wrapped
