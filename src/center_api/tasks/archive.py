"""File names of task results, and a batch's download: a zip of what succeeded plus a manifest.

A batch's zip holds one entry per completed child, named after the upload it came from with
the result's extension (``photo.jpg`` → ``photo.png``) and made unique (``photo-2.png``), and
``manifest.json``: every input in submission order with its task, status, entry name and error,
so a partly failed batch still delivers what succeeded and says what did not.
"""

import io
import re
import unicodedata
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from center_api.core.errors import ResourceNotFoundError
from center_api.db.models import ProcessingTask
from center_api.kernel.imaging import EXTENSIONS
from center_api.tasks.domain import TaskStatus

MANIFEST = "manifest.json"
MAX_NAME_CHARS = 120
# Characters that mean something to a file system or a Content-Disposition header.
_RESERVED = re.compile(r'[<>:"|?*\\/]')
_DOTS = re.compile(r"\.{2,}")

ResultReader = Callable[[str], Awaitable[bytes | None]]


def safe_name(name: str | None) -> str | None:
    """``name`` made safe as a zip entry and a download name, or None if nothing is left.

    Keeps the last path component only, drops control and format characters (a right-to-left
    override, say), replaces reserved ones with ``_``, collapses ``..`` and strips leading
    dots and spaces, and cuts the stem so the whole fits in ``MAX_NAME_CHARS`` characters.
    """
    if not name:
        return None
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = _DOTS.sub(".", _RESERVED.sub("_", name)).strip(" .")
    if not name:
        return None
    stem, dot, ext = name.rpartition(".")
    if not stem or len(ext) > 16:  # no extension worth keeping
        stem, dot, ext = name, "", ""
    stem = stem[: MAX_NAME_CHARS - len(dot + ext)].rstrip(" .")
    return f"{stem}{dot}{ext}" if stem else None


def batch_input_name(name: str | None, index: int) -> str:
    """The name a batch's ``index``-th input (from 0) is known by: its upload's, else image-<n>.

    ``n`` counts from 1; base64 inputs and unusable upload names get it.
    """
    return safe_name(name) or f"image-{index + 1}"


def result_name(input_name: str | None, media_type: str | None, fallback: str) -> str:
    """The download name of a result: the input's stem (or ``fallback``) and the result's type."""
    stem = (input_name or "").rpartition(".")[0] or input_name or fallback
    extension = EXTENSIONS.get(media_type or "") or _OTHER_EXTENSIONS.get(media_type or "", "bin")
    return f"{stem}.{extension}"


# Results that are not images: a video slice's, a JSON answer.
_OTHER_EXTENSIONS = {"video/webm": "webm", "video/mp4": "mp4", "application/json": "json"}


class _UniqueNames:
    """Hands out names no earlier one equals, ignoring case (``a.png``, ``a-2.png``, …)."""

    def __init__(self, *taken: str) -> None:
        self._taken = {name.lower() for name in taken}

    def claim(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, number = name, 1
        while candidate.lower() in self._taken:
            number += 1
            candidate = f"{stem}-{number}{dot}{ext}"
        self._taken.add(candidate.lower())
        return candidate


async def batch_zip(children: list[ProcessingTask], read: ResultReader) -> bytes:
    """The zip of a batch: each completed child's result and ``manifest.json``.

    ``children`` are in submission order; ``read`` returns a result's bytes by key (None once
    expired: the child is listed with a ``RESOURCE_NOT_FOUND`` error and no entry).
    """
    names = _UniqueNames(MANIFEST)
    items: list[dict[str, Any]] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index, child in enumerate(children):
            item = _manifest_item(index, child)
            data = None
            if child.status == TaskStatus.COMPLETED and child.result_ref:
                data = await read(child.result_ref)
            if data is not None:
                name = result_name(item["input_name"], child.result_media_type, "image")
                item["output_name"] = names.claim(name)
                archive.writestr(item["output_name"], data)
            elif child.status == TaskStatus.COMPLETED:
                message = "The result has expired."
                item["error"] = {"code": ResourceNotFoundError.code, "message": message}
            items.append(item)
        manifest = {"batch_id": _parent_id(children), "items": items}
        archive.writestr(MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
    return buffer.getvalue()


def _manifest_item(index: int, child: ProcessingTask) -> dict[str, Any]:
    """The manifest's line of one input, before its result is looked at."""
    return {
        "index": index,
        "input_name": child.input_name or batch_input_name(None, index),
        "task_id": str(child.id),
        "status": child.status,
        "output_name": None,
        "error": _error_of(child),
    }


def _error_of(task: ProcessingTask) -> dict[str, str | None] | None:
    if not task.error_code:
        return None
    return {"code": task.error_code, "message": task.error_message}


def _parent_id(children: list[ProcessingTask]) -> str | None:
    return str(children[0].parent_id) if children and children[0].parent_id else None
