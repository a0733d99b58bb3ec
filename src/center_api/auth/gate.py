"""Access decided on the matched route: authentication, roles, rate limits and quotas.

`SecurityGate.guard` is an app-level Litestar guard, so it runs after routing, on the handler
the router resolved: no spelling of a path (``//api/v1/…``, ``/./``, ``%2F``) can reach a handler
without passing it. What a handler requires is declared in its ``opt`` (see `access`).

`SecurityHeaders` is the ASGI layer around the app: hardening headers on every answer, the
``X-RateLimit-*`` headers the guard decided, and, once the answer is sent, the settlement of the
quota the call reserved (kept on success, given back on failure).
"""

import ipaddress
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import WebSocketException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from center_api.auth.access import RATE_LIMITED, access_of, is_billable
from center_api.auth.key_store import ApiKeyStore
from center_api.auth.keys import (
    ANONYMOUS_PRINCIPAL,
    OPEN_PRINCIPAL,
    Principal,
    presented_key,
    principal_of_key,
    set_principal,
)
from center_api.auth.quotas import QuotaHold
from center_api.auth.rate_limit import RateDecision, RateLimiter
from center_api.auth.task_tokens import TASK_GRANT, TASK_TOKEN, TOKEN_QUERY, verify
from center_api.core.errors import (
    AppException,
    AuthenticationError,
    AuthorizationError,
    DatabaseError,
    RateLimitedError,
)
from center_api.core.logging import get_logger
from center_api.core.request_facts import current_request_facts
from center_api.core.settings import Settings
from center_api.db.models.api_key import ApiKey

_RATE_HEADERS = "rate_headers"
_QUOTA_HOLD = "quota_hold"

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
class SecurityGate:
    """The app-level guard (`guard`) over the key store and the rate limiter."""

    settings: Settings
    keys: ApiKeyStore
    limiter: RateLimiter

    async def guard(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """Admit the connection to ``handler`` or raise.

        Raises:
            AuthenticationError: api_key mode and no live key was presented (401).
            AuthorizationError: a user key on an admin route (403).
            RateLimitedError: the caller's window is used up (429).
            InsufficientQuotaError: a billable call with the key's call quota used up (402).
        """
        if connection.scope["type"] == "websocket":  # refused before the handshake completes
            try:
                await self._admit(connection, handler)
            except AppException as exc:
                raise websocket_refusal(exc) from exc
            return
        await self._admit(connection, handler)

    async def _admit(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        scope = connection.scope
        if scope.get("method") == "OPTIONS":  # CORS preflights carry no credentials
            return
        access = access_of(handler, self.settings)
        if handler.opt.get(TASK_TOKEN) and await self._admit_task_token(connection):
            return
        if access == "public":
            principal = await self._recognise(scope)
            set_principal(scope, principal)
            if handler.opt.get(RATE_LIMITED, True):
                await self._rate_check(scope, principal)
            return
        key = await self._authenticate(scope)
        principal = OPEN_PRINCIPAL if key is None else principal_of_key(key)
        set_principal(scope, principal)
        facts = current_request_facts()
        if facts is not None:
            facts.caller = principal.owner
        decision = await self._rate_check(scope, principal)
        if decision is not None:
            scope.setdefault("state", {})[_RATE_HEADERS] = _encode(decision.headers())
        if access == "admin" and not principal.is_admin:
            raise AuthorizationError("This endpoint needs an admin key.")
        if key is not None and is_billable(connection, handler):
            await self._hold_quota(scope, key)

    async def _admit_task_token(self, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        """A task token (``?token=``) instead of a key, where the route allows it (WebSocket).

        Only when no key is presented in api_key mode; the grant's tasks go into the scope
        for the handler to hold the socket to.

        Raises:
            AuthenticationError: a token that is forged, garbled or expired.
        """
        token = connection.query_params.get(TOKEN_QUERY)
        scope = connection.scope
        if not token or self.settings.auth.mode == "open" or presented_key(scope) is not None:
            return False
        grant = verify(token, self.settings.auth.task_token_secret)
        if grant is None:
            raise AuthenticationError("The task token is invalid or expired; ask for a new one.")
        key_id = None if grant.owner == ANONYMOUS_PRINCIPAL.owner else grant.owner
        principal = Principal(key_id=key_id, role=grant.role)
        set_principal(scope, principal)
        scope.setdefault("state", {})[TASK_GRANT] = grant.tasks
        await self._rate_check(scope, principal)
        return True

    async def _recognise(self, scope: Scope) -> Principal:
        """On a public route: the caller a valid key names, else anonymous.

        Never an authentication error, and never a database one: a public route (health)
        must answer while the database is down.
        """
        if self.settings.auth.mode == "open":
            return OPEN_PRINCIPAL
        token = presented_key(scope)
        try:
            key = await self.keys.authenticate(token) if token else None
        except DatabaseError:
            return ANONYMOUS_PRINCIPAL
        return ANONYMOUS_PRINCIPAL if key is None else principal_of_key(key)

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
            message + " Send exactly one key, as X-API-Key (or Authorization: Bearer).",
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

    async def _hold_quota(self, scope: Scope, key: ApiKey) -> None:
        """Reserve the call now; the image's megapixels follow from its header."""
        if key.quota_calls is None and key.quota_megapixels is None:
            return
        hold = QuotaHold(self.keys, str(key.id))
        scope.setdefault("state", {})[_QUOTA_HOLD] = hold
        facts = current_request_facts()
        if facts is not None:
            facts.quota = hold
        await hold.reserve(calls=1)


def websocket_refusal(exc: AppException) -> WebSocketException:
    """How a WebSocket is refused: close code 4000 + the HTTP status, reason ``CODE: message``."""
    return WebSocketException(
        detail=f"{exc.code}: {exc.message}"[:120], code=4000 + exc.status_code
    )


class SecurityHeaders:
    """ASGI layer: hardening and rate headers on every answer; the call's quota settled.

    The settlement happens before the answer's first byte leaves, so a client that got a
    failure and calls again at once finds its reservation already given back.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fixed = security_headers(scope.get("path", ""))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                facts = current_request_facts()  # a free cache hit is given back too
                is_charged = facts is None or facts.is_charged
                await _settle(state, succeeded=message["status"] < 400 and is_charged)
                rate = state.get(_RATE_HEADERS, [])
                message["headers"] = _merged(message.get("headers", []), [*fixed, *rate])
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:  # no answer started (a crash): nothing was delivered, give it all back
            await _settle(scope.get("state") or {}, succeeded=False)


async def _settle(state: dict[str, Any], *, succeeded: bool) -> None:
    hold = state.pop(_QUOTA_HOLD, None)
    if not isinstance(hold, QuotaHold):
        return
    try:
        await hold.settle(succeeded=succeeded)
    except AppException:  # the database went away: the answer still goes out (and is logged)
        logger.error("quota.settle_failed", calls=hold.calls, megapixels=hold.megapixels)


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


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _merged(current: Any, extra: list[tuple[bytes, bytes]]) -> list[Any]:
    """``current`` headers plus those of ``extra`` the app did not set itself."""
    headers: list[Any] = list(current)
    present = {bytes(name).lower() for name, _ in headers}
    return headers + [h for h in extra if h[0] not in present]
