"""Request options of the text_erase slice (msgspec; constraints appear in OpenAPI)."""

from typing import Annotated, Literal

from center_api import sdk

Regions = Annotated[
    str,
    sdk.Meta(
        max_length=512,
        pattern=r"^[0-9.,;% px]*$",
        description="Regions as `x1 y1 x2 y2` in px or %, several separated by `;`.",
    ),
]


class DetectOptions(sdk.Struct, forbid_unknown_fields=True, kw_only=True):
    """Options of text detection."""

    min_score: Annotated[
        float, sdk.Meta(ge=0.0, le=1.0, description="Minimum mean text probability of a box.")
    ] = 0.5
    max_side: Annotated[
        int,
        sdk.Meta(ge=64, le=4096, description="Longest side the detector sees (larger = finer)."),
    ] = 960
    include: Regions | None = None
    exclude: Regions | None = None


class EraseOptions(DetectOptions, forbid_unknown_fields=True, kw_only=True):
    """Options of one text erase: detection, the mask, the inpainting and the answer."""

    mask: Annotated[
        Literal["strokes", "boxes"],
        sdk.Meta(
            description="strokes: only the letters' pixels inside each box, grown by their "
            "stroke width (graphics and the paper between letters stay); boxes: whole boxes."
        ),
    ] = "strokes"
    dilation: (
        Annotated[
            int,
            sdk.Meta(
                ge=0,
                le=64,
                description="Grow the mask by this many more pixels (default: 0 for strokes, "
                "4 for boxes).",
            ),
        ]
        | None
    ) = None
    method: Annotated[
        Literal["telea", "ns"],
        sdk.Meta(description="OpenCV inpainting: Telea (fast marching) or Navier-Stokes."),
    ] = "telea"
    radius: Annotated[
        int, sdk.Meta(ge=1, le=32, description="Inpainting neighbourhood radius in pixels.")
    ] = 5
    output: Annotated[
        Literal["image", "mask", "boxes"],
        sdk.Meta(description="image: text erased; mask: the erased area (grey); boxes: JSON."),
    ] = "image"
    format: Annotated[sdk.OutputFormat, sdk.Meta(description="Image output format.")] = "png"


# Multipart forms: one image source (file | image_url | image_file_b64) plus the options.
DetectForm = sdk.image_form(DetectOptions, "TextDetectForm")
EraseForm = sdk.image_form(EraseOptions, "TextEraseForm")
