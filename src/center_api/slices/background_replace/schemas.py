"""Background-replace options, one Struct per mode (msgspec; constraints appear in OpenAPI).

Each mode's Struct is tagged with ``mode``, so `BackgroundReplaceOptions` (what tasks send and
``run()`` takes) can hold any of them: ``{"replace": {"mode": "blur", "radius": 30}}``. On the
HTTP routes the path names the mode: the forms are untagged.
"""

from typing import Annotated, TypeVar, cast

import msgspec
import numpy as np
from litestar.datastructures import UploadFile
from msgspec import Meta, Struct

from center_api.sdk import OutputFormat, OutputSize, image_form
from center_api.sdk.vision import DEFAULT_SEGMENTATION_MODEL, SegmentationModelId
from center_api.slices.background_replace.backgrounds import Fit, GradientKind, Position
from center_api.slices.background_replace.effects import ShadowKind
from center_api.slices.background_replace.presets import ColorPreset, IdPhotoSize, PrintSheet

Color = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=32,
        description=(
            "A preset name from GET /presets (e.g. id_blue), #RRGGBB or #RRGGBBAA (the # is "
            "optional), or a CSS colour name."
        ),
    ),
]
Format = Annotated[
    OutputFormat,
    Meta(description="Output format. jpg has no transparency: colours must be opaque."),
]
Name = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
Pixels = Annotated[int, Meta(ge=16, le=4000)]
Millimetres = Annotated[float, Meta(ge=5.0, le=300.0)]
# A size in pixels that overrides its *_ratio twin (a share of the image diagonal).
PixelSize = Annotated[float, Meta(gt=0.0, le=200.0)]


def size_in_pixels(pixels: float | None, ratio: float, width: int, height: int) -> float:
    """A size in pixels: ``pixels`` when given, else ``ratio`` of the image's diagonal.

    Every size-relative option (blur, feather, shadow) goes through here, so a photo looks
    the same at 512 px and at 4000 px unless the client pins a pixel size.
    """
    if pixels is not None:
        return pixels
    return ratio * float(np.hypot(width, height))


class ReplaceOptions(Struct, tag_field="mode", forbid_unknown_fields=True, kw_only=True):
    """What every mode shares."""

    model: SegmentationModelId = DEFAULT_SEGMENTATION_MODEL
    format: Format = "png"
    decontaminate: Annotated[
        bool,
        Meta(
            description="Re-measure soft edges from the colours and remove the old background's "
            "colour from them (no halo)."
        ),
    ] = True
    post_process_mask: Annotated[
        bool, Meta(description="Remove specks and fill pinholes in the subject mask.")
    ] = True


class SceneOptions(ReplaceOptions):
    """What the four scene modes (all but id_photo) share."""

    size: OutputSize = "auto"
    feather: (
        Annotated[PixelSize, Meta(description="Edge softening in pixels (overrides the ratio).")]
        | None
    ) = None
    feather_ratio: Annotated[
        float,
        Meta(
            ge=0.0,
            le=0.05,
            description="Soften the subject's edge inwards over this share of the image "
            "diagonal (0.003: 0.3 %); 0: off.",
        ),
    ] = 0.0
    shadow: Annotated[
        ShadowKind,
        Meta(
            description="A soft shadow on the new background: drop (the silhouette, offset "
            "right and down) or contact (a flat shadow where the subject stands)."
        ),
    ] = "none"
    shadow_opacity: Annotated[
        float, Meta(ge=0.0, le=1.0, description="How dark the shadow is at its core.")
    ] = 0.5
    shadow_radius: (
        Annotated[PixelSize, Meta(description="Shadow softness in pixels (overrides the ratio).")]
        | None
    ) = None
    shadow_ratio: Annotated[
        float,
        Meta(
            gt=0.0,
            le=0.1,
            description="Shadow softness (Gaussian sigma) as a share of the image diagonal.",
        ),
    ] = 0.01

    def feather_sigma(self, width: int, height: int) -> float:
        """The feather's sigma in pixels for a ``width`` x ``height`` image (0: none)."""
        return size_in_pixels(self.feather, self.feather_ratio, width, height)

    def shadow_sigma(self, width: int, height: int) -> float:
        """The shadow's softness in pixels for a ``width`` x ``height`` image."""
        return size_in_pixels(self.shadow_radius, self.shadow_ratio, width, height)


class ColorOptions(SceneOptions, tag="color"):
    """The subject on a solid colour."""

    color: Color = "white"


class GradientOptions(SceneOptions, tag="gradient"):
    """The subject on a two-colour gradient."""

    start_color: Annotated[Color, Meta(description="Top (vertical) or centre (radial).")] = "white"
    end_color: Annotated[Color, Meta(description="Bottom (vertical) or corners (radial).")] = (
        "id_blue"
    )
    kind: Annotated[
        GradientKind, Meta(description="vertical: top to bottom; radial: centre to corners.")
    ] = "vertical"


class ImageOptions(SceneOptions, tag="image"):
    """The subject on another photo (an upload on the route, or a URL or base64 here)."""

    background_url: (
        Annotated[
            str,
            Meta(max_length=2048, description="An http(s) URL of the background (public only)."),
        ]
        | None
    ) = None
    background_b64: Annotated[
        str | None, Meta(description="The background as base64 (a data: URL is accepted).")
    ] = None
    fit: Annotated[
        Fit,
        Meta(
            description="fill: cover the output, crop the overflow; fit: show it all, pad with "
            "pad_color; stretch: ignore the aspect ratio."
        ),
    ] = "fill"
    position: Annotated[
        Position, Meta(description="Which part is kept (fill) or where it sits (fit).")
    ] = "center"
    pad_color: Annotated[Color, Meta(description="Padding (fit) and transparent parts.")] = "white"


class BlurOptions(SceneOptions, tag="blur"):
    """The subject, sharp, in front of its own background blurred."""

    radius: (
        Annotated[
            float,
            Meta(
                gt=0.0,
                le=200.0,
                description="Blur strength: Gaussian sigma in pixels (overrides radius_ratio).",
            ),
        ]
        | None
    ) = None
    radius_ratio: Annotated[
        float,
        Meta(
            gt=0.0,
            le=0.2,
            description="Blur strength as a share of the image diagonal (0.015: 1.5 %), so a "
            "photo looks the same at any size.",
        ),
    ] = 0.015

    def sigma(self, width: int, height: int) -> float:
        """The Gaussian's sigma in pixels for a ``width`` x ``height`` image."""
        return size_in_pixels(self.radius, self.radius_ratio, width, height)


class IdPhotoOptions(ReplaceOptions, tag="id_photo"):
    """An ID photo: one face, framed by the size's head rules, on a plain colour."""

    format: Format = "jpg"
    photo_size: Annotated[
        Name, Meta(description="A size from GET /presets, or `custom` with width/height.")
    ] = "one_inch"
    width_px: Annotated[Pixels, Meta(description="Custom width in pixels.")] | None = None
    height_px: Annotated[Pixels, Meta(description="Custom height in pixels.")] | None = None
    width_mm: Annotated[Millimetres, Meta(description="Custom width in mm (with dpi).")] | None = (
        None
    )
    height_mm: Annotated[Millimetres, Meta(description="Custom height in mm.")] | None = None
    dpi: Annotated[int, Meta(ge=72, le=1200, description="Print resolution.")] | None = None
    color: Color = "id_white"
    head_height_ratio: (
        Annotated[float, Meta(ge=0.2, le=0.9, description="Crown to chin / photo height.")] | None
    ) = None
    top_margin_ratio: (
        Annotated[float, Meta(ge=0.0, le=0.4, description="Space above the crown / height.")] | None
    ) = None
    level_eyes: Annotated[bool, Meta(description="Turn the photo so the eyes are level.")] = True
    target_kb: (
        Annotated[
            int, Meta(ge=1, le=10240, description="jpg only: best quality within this many KB.")
        ]
        | None
    ) = None
    print_sheet: (
        Annotated[Name, Meta(description="Tile copies on this sheet (GET /presets).")] | None
    ) = None


ModeOptions = ColorOptions | GradientOptions | ImageOptions | BlurOptions | IdPhotoOptions


class BackgroundReplaceOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """One replacement in any mode: the mode's options, tagged by ``mode``."""

    replace: ModeOptions


class ImageUpload(ImageOptions, tag=False):
    """The image mode's fields on the route: the options plus an uploaded background."""

    background_file: Annotated[
        UploadFile | None, Meta(description="The background as a multipart upload.")
    ] = None


class PresetCatalog(Struct, kw_only=True):
    """Named colours, ID-photo sizes (with head rules) and print sheets."""

    colors: list[ColorPreset]
    id_photo_sizes: list[IdPhotoSize]
    print_sheets: list[PrintSheet]


ModeT = TypeVar("ModeT", bound=Struct)


def _form(options_type: type[ModeT], name: str) -> type[ModeT]:
    """The route's multipart form: untagged, since on a route the path names the mode."""
    fields = msgspec.defstruct(
        f"{name}Fields", [], bases=(options_type,), tag=False, module=__name__
    )
    return image_form(cast("type[ModeT]", fields), name)


# Multipart forms: one image source (file | image_url | image_file_b64) plus the mode's options.
ColorForm = _form(ColorOptions, "ColorForm")
GradientForm = _form(GradientOptions, "GradientForm")
ImageForm = image_form(ImageUpload, "ImageForm")
BlurForm = _form(BlurOptions, "BlurForm")
IdPhotoForm = _form(IdPhotoOptions, "IdPhotoForm")
