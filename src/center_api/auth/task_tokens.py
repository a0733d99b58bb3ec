"""Short-lived tokens that let a browser open a task's WebSocket (it cannot send headers).

``POST /api/v1/tasks/{id}/ws-token`` (authenticated like any route) issues one; the socket
takes it as ``?token=``. A token is ``<payload>.<signature>``: the payload (base64url JSON)
names the task ids, the owner and the role, and the expiry (``TTL_S`` after issue); the
signature is HMAC-SHA256 with ``auth.task_token_secret`` (several API processes behind one
address need the same secret; empty: a random secret per process). A token is not one-time:
within its minute it may reconnect a dropped socket, but only to its own tasks, as its owner.
"""

import base64
import hashlib
import hmac
import secrets
import time

import msgspec

TTL_S = 60
TOKEN_QUERY = "token"
# Route opt: the route also admits a task token instead of a key (the WebSocket routes).
TASK_TOKEN = "task_token"
# Scope state: the task ids a token-admitted connection may follow.
TASK_GRANT = "task_grant"
_PROCESS_SECRET = secrets.token_bytes(32)


class TaskToken(msgspec.Struct, frozen=True):
    """What a token grants: these tasks, seen as this owner (role), until ``expires``."""

    tasks: tuple[str, ...]
    owner: str
    role: str
    expires: int


def _key(secret: str | None) -> bytes:
    return secret.encode() if secret else _PROCESS_SECRET


def _sign(payload: bytes, secret: str | None) -> str:
    return hmac.new(_key(secret), payload, hashlib.sha256).hexdigest()


def issue(tasks: tuple[str, ...], owner: str, role: str, secret: str | None) -> str:
    """A token for ``tasks`` of ``owner``, valid for ``TTL_S`` seconds."""
    grant = TaskToken(tasks=tasks, owner=owner, role=role, expires=int(time.time()) + TTL_S)
    payload = base64.urlsafe_b64encode(msgspec.json.encode(grant)).rstrip(b"=")
    return f"{payload.decode()}.{_sign(payload, secret)}"


def verify(token: str, secret: str | None) -> TaskToken | None:
    """The grant of a genuine, unexpired ``token``; None for anything else."""
    payload, _, signature = token.partition(".")
    if not payload or len(token) > 4096:
        return None
    if not hmac.compare_digest(_sign(payload.encode(), secret), signature):
        return None
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        grant = msgspec.json.decode(raw, type=TaskToken)
    except (ValueError, msgspec.DecodeError):
        return None
    return grant if grant.expires >= time.time() else None
