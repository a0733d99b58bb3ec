"""Cutout request options (msgspec; constraints appear in OpenAPI)."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from center_api.sdk import OutputFormat, OutputSize, image_form
from center_api.sdk.vision import DEFAULT_SEGMENTATION_MODEL, SegmentationModelId

Spec = Annotated[str, Meta(max_length=64, pattern=r"^[0-9.,% px]+$")]


class CutoutOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """Options of one cutout."""

    model: SegmentationModelId = DEFAULT_SEGMENTATION_MODEL
    channels: Annotated[
        Literal["rgba", "alpha"],
        Meta(description="rgba: the subject on transparency; alpha: the mask only (grey)."),
    ] = "rgba"
    format: Annotated[
        OutputFormat,
        Meta(description="Output format. jpg has no transparency: it needs bg_color (or alpha)."),
    ] = "png"
    size: OutputSize = "auto"
    crop: Annotated[bool, Meta(description="Crop the result to the subject.")] = False
    crop_margin: Annotated[
        Spec,
        Meta(description="Margin around the crop: 1, 2 or 4 values in px or % (CSS order)."),
    ] = "0"
    roi: (
        Annotated[
            str,
            Meta(
                max_length=64,
                pattern=r"^[0-9.,% px]+$",
                description="Only look for the subject in `x1 y1 x2 y2` (px or %).",
            ),
        ]
        | None
    ) = None
    bg_color: (
        Annotated[
            str,
            Meta(max_length=32, description="Flatten onto this colour (#RRGGBB[AA] or CSS name)."),
        ]
        | None
    ) = None
    post_process_mask: Annotated[
        bool,
        Meta(
            description="Remove specks (small against the subject) and fill pinholes enclosed "
            "by confident foreground; translucent parts keep their partial alpha."
        ),
    ] = False
    refine: Annotated[
        bool,
        Meta(
            description="A better mask for about four times the inference: the network also "
            "sees the mirror image and the subject's box up close, then the uncertain band "
            "follows the photo's own edges (guided filter). Includes post_process_mask."
        ),
    ] = False
    decontaminate: Annotated[
        bool, Meta(description="Remove the old background's colour from soft edges.")
    ] = False


# Multipart form: one image source (file | image_url | image_file_b64) plus the options.
CutoutForm = image_form(CutoutOptions, "CutoutForm")
