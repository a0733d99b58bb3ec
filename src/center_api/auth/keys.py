"""API keys as credentials: format, hashing, and the caller (principal) of a request.

A key is ``ck_<prefix>_<secret>``: the prefix is public and finds the row; only the SHA-256 of
the secret is stored and it is compared in constant time. The secret has 256 bits of entropy,
so a fast hash is enough (a slow KDF protects guessable passwords, not random tokens).
"""

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from litestar.types import Scope

from center_api.db.models.api_key import ApiKey

KEY_SCHEME = "ck"
ROLES = ("admin", "user")
_KEY_PATTERN = re.compile(r"^ck_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,128})$")
_PRINCIPAL_STATE = "principal"


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: the full token (shown once), its prefix and the secret's hash."""

    token: str
    prefix: str
    secret_hash: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (``key_id``, ``role``) or, in open mode, an anonymous address."""

    key_id: str | None
    role: str
    rate_per_minute: int | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the caller sees everything: every task, usage and statistics."""
        return self.role == "admin"

    @property
    def owner(self) -> str:
        """What the caller's tasks and usage rows are recorded under."""
        return self.key_id or ANONYMOUS_OWNER

    @property
    def sees_only(self) -> str | None:
        """The owner whose tasks the caller may see; None: all of them (admins)."""
        return None if self.is_admin else self.owner


ANONYMOUS_OWNER = "anonymous"
# Open mode: no keys, one anonymous owner who may do everything.
OPEN_PRINCIPAL = Principal(key_id=None, role="admin")
# api_key mode, on a public route, without a valid key.
ANONYMOUS_PRINCIPAL = Principal(key_id=None, role="anonymous")


def principal_of_key(key: ApiKey) -> Principal:
    """The caller a live key stands for."""
    return Principal(key_id=str(key.id), role=key.role, rate_per_minute=key.rate_per_minute)


def mint_key() -> NewKey:
    """Create a random key."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(f"{KEY_SCHEME}_{prefix}_{secret}", prefix, hash_secret(secret))


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else None."""
    match = _KEY_PATTERN.match(token)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare the presented secret with the stored hash in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def presented_key(scope: Scope) -> str | None:
    """The key a request presents: ``X-API-Key``, or ``Authorization: Bearer`` as an alias.

    Two different keys in one request present none (the request is refused as unauthenticated
    rather than guessed at).
    """
    tokens = set()
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            tokens.add(value.decode("latin-1").strip())
        elif name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                tokens.add(token.strip())
    tokens.discard("")
    return tokens.pop() if len(tokens) == 1 else None


def set_principal(scope: Scope, principal: Principal) -> None:
    """Attach the caller to the request's state."""
    scope.setdefault("state", {})[_PRINCIPAL_STATE] = principal


def principal_of(scope: Scope) -> Principal | None:
    """The caller the security layer attached, if any."""
    value = (scope.get("state") or {}).get(_PRINCIPAL_STATE)
    return value if isinstance(value, Principal) else None


def key_uuid(value: str) -> uuid.UUID | None:
    """The key id ``value`` as a UUID, or None when it is not one (e.g. ``anonymous``)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
