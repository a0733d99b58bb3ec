"""structlog set-up: JSON off a TTY, readable on one; stdlib loggers (uvicorn, litestar) share it.

Every line inside a request carries ``request_id`` through structlog's contextvars.
"""

import logging
import sys
from typing import Any

import structlog

from center_api.core.redaction import redact_secrets
from center_api.core.settings import LoggingSettings

_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_secrets,
]


def configure_logging(settings: LoggingSettings) -> None:
    """Configure structlog and the stdlib root logger (idempotent, safe to call per app)."""
    use_json = settings.json if settings.json is not None else not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Caching would pin the first configuration; tests build many apps.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if use_json else _identity,
            redact_secrets,  # again: formatted tracebacks can quote headers
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("center_api")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "center_api"]
    root.addHandler(handler)
    root.setLevel(settings.level)
    # Our middleware writes one access line per request with the request id; uvicorn's is noise.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def _identity(_: Any, __: str, event_dict: Any) -> Any:
    return event_dict


def get_logger(name: str) -> Any:
    """Return a structlog logger bound to ``name``."""
    return structlog.stdlib.get_logger(name)
