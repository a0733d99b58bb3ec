"""Cutout request options (msgspec; constraints appear in OpenAPI)."""

from typing import Annotated, Literal

from litestar.datastructures import UploadFile
from msgspec import Meta, Struct

ModelId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="Segmentation model id from the manifest (`center-api models list`).",
    ),
]


class CutoutOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """Options of one cutout."""

    model: ModelId = "u2netp"
    format: Annotated[
        Literal["png", "webp"], Meta(description="Output format; both keep transparency.")
    ] = "png"


class CutoutForm(CutoutOptions, forbid_unknown_fields=True, kw_only=True):
    """Multipart form: the image in ``file`` plus the options as fields."""

    file: Annotated[UploadFile | None, Meta(description="The image (JPEG, PNG, WebP, …).")] = None

    def options(self) -> CutoutOptions:
        """The options without the upload."""
        return CutoutOptions(model=self.model, format=self.format)
