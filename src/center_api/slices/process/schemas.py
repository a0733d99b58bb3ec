"""Pipeline options and forms: ``steps`` and the image (or, for a batch, many images)."""

from typing import Annotated, Any

import msgspec
from litestar.datastructures import UploadFile
from msgspec import Meta, Struct

from center_api.sdk import TaskFields, image_form

Steps = Annotated[
    str | list[dict[str, Any]],
    Meta(
        description=(
            'The steps, run in order: a JSON list of {"tool": NAME, ...that tool\'s options} '
            '(e.g. [{"tool": "cutout"}, {"tool": "background_replace", "replace": {"mode": '
            '"color", "color": "white"}}]), or the name of a pipeline defined in config.'
        )
    ),
]


class PipelineOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """A pipeline: each step's output image feeds the next."""

    steps: Steps


ProcessForm = image_form(PipelineOptions, "ProcessForm")


class BatchForm(TaskFields, forbid_unknown_fields=True, kw_only=True):
    """Many images through one pipeline: repeat ``files``, or send a zip as ``archive``."""

    steps: Steps
    files: list[UploadFile] = msgspec.field(default_factory=list)
    archive: Annotated[
        UploadFile | None, Meta(description="A zip of images (folders are flattened).")
    ] = None
