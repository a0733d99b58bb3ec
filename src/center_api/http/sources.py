"""Where an image comes from: exactly one of an upload, a URL, or base64 text.

The upload is field ``file`` or, as remove.bg names it, ``image_file``; the body may be
multipart, urlencoded or JSON (`bodies.accept_any_body`), with the same field names.
"""

import base64
import binascii
from typing import Annotated, Any, TypeVar, cast

import msgspec
from litestar.datastructures import UploadFile
from msgspec import Meta, Struct

from center_api.core.errors import (
    FileTooLargeError,
    InvalidImageError,
    MissingSourceError,
    MultipleSourcesError,
)
from center_api.core.outbound.fetch import fetch_bytes
from center_api.core.request_facts import reserve_input
from center_api.core.settings import Settings
from center_api.kernel.imaging import probe_image

SOURCE_FIELDS = ("file", "image_file", "image_url", "image_file_b64")
UPLOAD_FIELDS = ("file", "image_file")


_SOURCE_TYPES: list[tuple[str, Any, Any]] = [
    (
        "file",
        Annotated[UploadFile | None, Meta(description="The image as a multipart upload.")],
        None,
    ),
    (
        "image_file",
        Annotated[UploadFile | None, Meta(description="Another name for `file` (remove.bg's).")],
        None,
    ),
    (
        "image_url",
        Annotated[
            str,
            Meta(
                max_length=2048,
                description="An http(s) URL to fetch the image from (public addresses only).",
            ),
        ]
        | None,
        None,
    ),
    (
        "image_file_b64",
        Annotated[
            str | None,
            Meta(description="The image as base64 text (a data: URL prefix is accepted)."),
        ],
        None,
    ),
]

OptionsT = TypeVar("OptionsT", bound=Struct)


def image_form(options_type: type[OptionsT], name: str) -> type[OptionsT]:
    """The multipart form type of a slice: its options' fields plus the three image sources.

    (msgspec Structs cannot inherit fields from two bases, so the form is built here.)
    """
    form = msgspec.defstruct(
        name,
        _SOURCE_TYPES,
        bases=(options_type,),
        kw_only=True,
        forbid_unknown_fields=True,
        module=options_type.__module__,
    )
    return cast("type[OptionsT]", form)


def options_of(form: Struct, options_type: type[OptionsT]) -> OptionsT:
    """The options part of a form (without the image source)."""
    return options_type(**{name: getattr(form, name) for name in options_type.__struct_fields__})


async def read_image_source(form: Struct, settings: Settings) -> bytes:
    """Return the image bytes from whichever single source the form carries.

    Raises:
        MissingSourceError / MultipleSourcesError: none or more than one source.
        FileTooLargeError: over ``images.max_bytes``.
        InvalidImageError: base64 that does not decode, or bytes that are not an image.
        UnsupportedFormatError / ResolutionTooHighError: refused from the image's header.
        UrlNotAllowedError / FetchFailedError: a refused or failed URL.
        InsufficientQuotaError: the image's megapixels exceed what is left of the quota.
    """
    given = [name for name in SOURCE_FIELDS if getattr(form, name, None) not in (None, "")]
    if not given:
        raise MissingSourceError(
            "No image was sent: use one of the fields file (or image_file), image_url or "
            "image_file_b64.",
            details={"fields": list(SOURCE_FIELDS)},
        )
    if len(given) > 1:
        raise MultipleSourcesError("Send exactly one image source.", details={"given": given})
    max_bytes = settings.images.max_bytes
    upload = upload_of(form)
    url, text = getattr(form, "image_url", None), getattr(form, "image_file_b64", None)
    if upload is not None:
        data = _capped(await upload.read(max_bytes + 1), max_bytes)
    elif url:
        data = await fetch_bytes(str(url), settings.fetch, max_bytes)
    else:
        data = decode_base64_image(str(text), max_bytes)
    probe_image(data, settings.images)  # refuse from the header, before any pixel
    await reserve_input()
    return data


def upload_of(form: Struct) -> UploadFile | None:
    """The form's uploaded image (field ``file`` or ``image_file``), if it carries one."""
    for name in UPLOAD_FIELDS:
        value = getattr(form, name, None)
        if isinstance(value, UploadFile):
            return value
    return None


def decode_base64_image(text: str, max_bytes: int) -> bytes:
    """Decode base64 (optionally a ``data:...;base64,`` URL) within the byte limit."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    compact = "".join(text.split())
    if len(compact) > (max_bytes + 2) // 3 * 4 + 4:
        raise FileTooLargeError(
            "The image is larger than this server accepts.", details={"max_bytes": max_bytes}
        )
    try:
        return _capped(base64.b64decode(compact, validate=True), max_bytes)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImageError("image_file_b64 is not valid base64.") from exc


def _capped(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise FileTooLargeError(
            "The image is larger than this server accepts.", details={"max_bytes": max_bytes}
        )
    return data
