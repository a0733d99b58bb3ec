"""The optional ``callback_url``: told the final status once the task ends."""

from center_api.core.errors import AppException
from center_api.core.logging import get_logger
from center_api.core.settings import FetchSettings
from center_api.tasks.store import TaskStore
from center_api.web.remote import post_json

logger = get_logger("center_api.tasks.callbacks")


async def send_callback(store: TaskStore, task_id: str, url: str, settings: FetchSettings) -> None:
    """POST ``{id, status, tool, error}`` to ``url``; failures are logged, never raised."""
    task = await store.get(task_id)
    payload = {
        "id": task_id,
        "status": task.status,
        "tool": task.tool,
        "error": {"code": task.error_code, "message": task.error_message}
        if task.error_code
        else None,
        "result": f"/api/v1/tasks/{task_id}/result" if task.status == "COMPLETED" else None,
    }
    try:
        status = await post_json(url, payload, settings)
    except AppException as exc:
        logger.warning("task.callback_failed", task_id=task_id, code=exc.code)
        return
    logger.info("task.callback_sent", task_id=task_id, status=status)
