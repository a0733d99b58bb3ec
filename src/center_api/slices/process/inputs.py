"""A batch's images: repeated uploads, or a zip read with bounds (no zip bomb gets through).

Every entry is checked from the zip's directory first (count, declared sizes), then read
through a bounded reader, so a lying directory cannot make it inflate more than the limits.
"""

import io
import zipfile
from pathlib import PurePosixPath

from litestar.datastructures import UploadFile

from center_api.sdk import MissingSourceError, Settings, ValidationError
from center_api.slices.process.schemas import BatchForm

# Everything a zip may inflate to, in all: this many times the largest request body.
TOTAL_FACTOR = 4
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


async def batch_inputs(form: BatchForm, settings: Settings) -> tuple[list[bytes], list[str | None]]:
    """The images of ``form`` with their names: the uploads, then the zip's image entries.

    Raises:
        MissingSourceError: no image at all.
        ValidationError: more than ``tasks.max_batch`` images, an image over the byte limit,
            a zip that does not open or inflates past its bounds.
    """
    limit, max_bytes = settings.tasks.max_batch, settings.images.max_bytes
    images = [await _read(upload, max_bytes) for upload in form.files[: limit + 1]]
    names: list[str | None] = [upload.filename for upload in form.files[: limit + 1]]
    if form.archive is not None:
        raw = await form.archive.read(settings.server.max_request_bytes + 1)
        entries = _zip_entries(raw, limit - len(images), max_bytes, settings)
        images += [data for _, data in entries]
        names += [name for name, _ in entries]
    if not images:
        raise MissingSourceError("A batch needs images: repeat `files`, or send a zip `archive`.")
    if len(images) > limit:
        raise ValidationError(f"A batch holds at most {limit} images.", details={"max": limit})
    return images, names


async def _read(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            f"{upload.filename or 'An image'} is over the byte limit.",
            details={"max_bytes": max_bytes},
        )
    return data


def _zip_entries(
    raw: bytes, room: int, max_bytes: int, settings: Settings
) -> list[tuple[str, bytes]]:
    """The image entries of the zip ``raw``: at most ``room``, each at most ``max_bytes``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationError("archive is not a zip file.", details={"field": "archive"}) from exc
    budget = TOTAL_FACTOR * settings.server.max_request_bytes
    entries: list[tuple[str, bytes]] = []
    with archive:
        infos = [info for info in archive.infolist() if _is_image_entry(info)]
        if len(infos) > room:
            raise ValidationError(
                f"The zip holds {len(infos)} images; this batch has room for {max(room, 0)}.",
                details={"field": "archive", "images": len(infos), "max": max(room, 0)},
            )
        for info in infos:
            data = _inflate(archive, info, min(max_bytes, budget))
            budget -= len(data)
            entries.append((PurePosixPath(info.filename).name, data))
    return entries


def _is_image_entry(info: zipfile.ZipInfo) -> bool:
    path = PurePosixPath(info.filename)
    hidden = any(part.startswith((".", "__MACOSX")) for part in path.parts)
    return not info.is_dir() and not hidden and path.suffix.lower() in _IMAGE_SUFFIXES


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, never inflating more than ``limit`` + 1 whatever its header says."""
    where = {"field": "archive", "entry": PurePosixPath(info.filename).name[:128]}
    if info.file_size > limit:
        raise ValidationError(f"{where['entry']} is over the byte limit.", details=where)
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise ValidationError(f"{where['entry']} cannot be read.", details=where) from exc
    if len(data) > limit:
        raise ValidationError(f"{where['entry']} is over the byte limit.", details=where)
    return data
