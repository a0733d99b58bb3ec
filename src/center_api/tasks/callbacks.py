"""The optional ``callback_url``: told the final status once the task ends.

A delivery is one JSON body, serialized once and sent as the same bytes on every attempt:

* ``X-Center-Signature: sha256=<hex HMAC-SHA256(tasks.webhook_secret, body)>`` (left out when no
  secret is configured), ``X-Center-Delivery`` (the same on every attempt of one delivery) and
  ``X-Center-Timestamp`` (unix seconds; the body's ``sent_at`` carries the same time, signed).
* 2xx: delivered. 5xx, 429, a timeout or a connection error: sent again after
  ``webhook_backoff_s``, doubling, at most ``webhook_max_attempts`` times and never later than
  ``webhook_max_total_s`` after the first attempt. Any other answer (a 3xx included: redirects
  are never followed) ends the delivery, as does a URL the address policy refuses.
* The outcome is written on the task: ``callback_status`` ("200", "503", "timeout", "error",
  "refused"), ``callback_attempts`` and ``callback_at``.
"""

import asyncio
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from center_api.core.errors import (
    AppException,
    FetchFailedError,
    UrlNotAllowedError,
    ValidationError,
)
from center_api.core.logging import get_logger
from center_api.core.outbound.fetch import post_json
from center_api.core.settings import API_PREFIX, FetchSettings, TaskSettings
from center_api.tasks.store import TaskStore

logger = get_logger("center_api.tasks.callbacks")

SIGNATURE_HEADER = "X-Center-Signature"
DELIVERY_HEADER = "X-Center-Delivery"
TIMESTAMP_HEADER = "X-Center-Timestamp"

# Outcomes that are not an HTTP status.
TIMEOUT, ERROR, REFUSED = "timeout", "error", "refused"


class Delivery(msgspec.Struct, frozen=True):
    """One callback: the exact bytes to send and the headers that go with them."""

    delivery_id: str
    body: bytes
    headers: dict[str, str]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Center-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def build_delivery(payload: dict[str, Any], secret: str | None) -> Delivery:
    """Add ``delivery_id`` and ``sent_at`` to ``payload``, serialize it once and sign it."""
    delivery_id = uuid.uuid4().hex
    sent_at = datetime.now(UTC).replace(microsecond=0)
    body = msgspec.json.encode({**payload, "delivery_id": delivery_id, "sent_at": sent_at})
    headers = {DELIVERY_HEADER: delivery_id, TIMESTAMP_HEADER: str(int(sent_at.timestamp()))}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return Delivery(delivery_id=delivery_id, body=body, headers=headers)


def should_retry(outcome: str) -> bool:
    """5xx, 429, a timeout and a connection error are worth another attempt; nothing else."""
    if outcome in (TIMEOUT, ERROR):
        return True
    return outcome.isdigit() and (int(outcome) >= 500 or int(outcome) == 429)


async def attempt_once(url: str, delivery: Delivery, settings: FetchSettings) -> str:
    """Send ``delivery`` once; the outcome as ``callback_status`` records it."""
    try:
        status = await post_json(url, delivery.body, settings, delivery.headers)
    except (UrlNotAllowedError, ValidationError):
        return REFUSED
    except FetchFailedError as exc:
        return TIMEOUT if exc.details.get("reason") == "timeout" else ERROR
    return str(status)


async def send_callback(
    store: TaskStore, task_id: str, url: str, fetch: FetchSettings, tasks: TaskSettings
) -> None:
    """Deliver the task's final status to ``url``; failures are logged and recorded, never raised.

    ``{id, status, tool, error, result, delivery_id, sent_at}`` is POSTed as described in the
    module docstring.
    """
    try:
        task = await store.get(task_id)
    except AppException as exc:
        logger.warning("task.callback_skipped", task_id=task_id, code=exc.code)
        return
    payload = {
        "id": task_id,
        "status": task.status,
        "tool": task.tool,
        "error": {"code": task.error_code, "message": task.error_message}
        if task.error_code
        else None,
        "result": f"{API_PREFIX}/tasks/{task_id}/result" if task.status == "COMPLETED" else None,
    }
    delivery = build_delivery(payload, tasks.webhook_secret)
    outcome, attempts = await _deliver(store, task_id, url, delivery, (fetch, tasks))
    delivered = outcome.isdigit() and 200 <= int(outcome) < 300
    log = logger.info if delivered else logger.warning
    log(
        "task.callback_delivered" if delivered else "task.callback_failed",
        task_id=task_id,
        delivery_id=delivery.delivery_id,
        attempts=attempts,
        outcome=outcome,
    )


async def _deliver(
    store: TaskStore,
    task_id: str,
    url: str,
    delivery: Delivery,
    settings: tuple[FetchSettings, TaskSettings],
) -> tuple[str, int]:
    """Attempt ``delivery`` until it is accepted, refused or out of attempts or time.

    Returns:
        The last outcome and the number of attempts made.
    """
    fetch, tasks = settings
    started, attempt = time.monotonic(), 1
    while True:
        outcome = await attempt_once(url, delivery, fetch)
        logger.info(
            "task.callback_attempt",
            task_id=task_id,
            delivery_id=delivery.delivery_id,
            attempt=attempt,
            outcome=outcome,
        )
        await _record(store, task_id, outcome, attempt)
        delay = tasks.webhook_backoff_s * 2 ** (attempt - 1)
        if (
            not should_retry(outcome)
            or attempt >= tasks.webhook_max_attempts
            or time.monotonic() - started + delay > tasks.webhook_max_total_s
        ):
            return outcome, attempt
        await asyncio.sleep(delay)
        attempt += 1


async def _record(store: TaskStore, task_id: str, outcome: str, attempts: int) -> None:
    try:
        await store.set_fields(
            task_id,
            callback_status=outcome,
            callback_attempts=attempts,
            callback_at=datetime.now(UTC),
        )
    except SQLAlchemyError as exc:
        logger.warning("task.callback_unrecorded", task_id=task_id, error=type(exc).__name__)
