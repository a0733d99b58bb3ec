"""A structlog processor that keeps API keys and Authorization headers out of the logs."""

import re
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[REDACTED]"
SECRET_FIELDS = frozenset(
    {"api_key", "x-api-key", "x_api_key", "authorization", "token", "secret", "password"}
)
_KEY_IN_TEXT = re.compile(r"\b(ck_[0-9a-f]{12}_)[A-Za-z0-9_\-]+")
_BEARER_IN_TEXT = re.compile(r"(?i)\b(bearer\s+)\S+")


def redact_text(text: str) -> str:
    """Mask key secrets (keeping the public prefix) and bearer tokens inside free text."""
    return _BEARER_IN_TEXT.sub(rf"\1{REDACTED}", _KEY_IN_TEXT.sub(rf"\1{REDACTED}", text))


def redact_value(value: Any, depth: int = 0) -> Any:
    """Redact strings, and secret-named fields of mappings (headers), a few levels deep."""
    if isinstance(value, str):
        return redact_text(value)
    if depth >= 4:
        return value
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret_name(k) else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, depth + 1) for v in value)
    return value


def redact_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Redact (a structlog processor) every field of the event."""
    for name in list(event_dict):
        value = event_dict[name]
        event_dict[name] = REDACTED if _is_secret_name(name) else redact_value(value)
    return event_dict


def _is_secret_name(name: object) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1", "replace")
    return isinstance(name, str) and name.lower() in SECRET_FIELDS
