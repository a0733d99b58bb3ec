"""The id_photo mode: check the options, then (in a kernel slot) detect, frame, compose, encode."""

import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from center_api.sdk import (
    MEDIA_TYPES,
    FormatNeedsBackgroundError,
    ImageSettings,
    InferenceKernel,
    MultipleFacesError,
    NoFaceDetectedError,
    SliceResult,
    ValidationError,
    decode_image,
)
from center_api.sdk.vision import MESH_MODEL, RGBA, Face, detect_faces, face_mesh
from center_api.slices.background_replace.backgrounds import solid
from center_api.slices.background_replace.framing import frame_subject, locate_head, working_scale
from center_api.slices.background_replace.id_rules import (
    MAX_HEAD_AND_MARGIN,
    HeadRules,
    check_face,
    place,
)
from center_api.slices.background_replace.light import composite
from center_api.slices.background_replace.presets import (
    MM_PER_INCH,
    IdPhotoSize,
    PrintSheet,
    id_photo_size,
    print_sheet,
    resolve_color,
)
from center_api.slices.background_replace.print_output import (
    Encoded,
    encode_jpeg_within,
    encode_with_dpi,
    tile_on_sheet,
)
from center_api.slices.background_replace.schemas import IdPhotoOptions
from center_api.slices.background_replace.subject import cut_subject, solid_subject

FACE_MODEL = "centerface"
# Face height (px) at which the detector's landmarks are most precise.
_LANDMARK_FACE_PX = 240


@dataclass(frozen=True)
class IdPhotoPlan:
    """Validated id_photo options, resolved against the presets."""

    options: IdPhotoOptions
    size: tuple[int, int]
    dpi: int
    rules: HeadRules
    color: RGBA
    sheet: PrintSheet | None


def plan_id_photo(options: IdPhotoOptions) -> IdPhotoPlan:
    """Resolve sizes, rules and colour; everything a client can get wrong fails here.

    Raises:
        ValidationError: unknown size or sheet, incomplete custom size, impossible head rules,
            a colour that is not one, or target_kb without jpg.
        FormatNeedsBackgroundError: jpg with a translucent colour.
    """
    base = _base_size(options)
    dpi = options.dpi or base.dpi
    size = _pixel_size(options, base, dpi)
    rules = _rules(options, base)
    head, top = rules.head[1], rules.top[1]
    if head + top > MAX_HEAD_AND_MARGIN:
        raise ValidationError(
            "head_height_ratio + top_margin_ratio leaves no room below the chin.",
            details={"head_height_ratio": head, "top_margin_ratio": top},
        )
    color = resolve_color(options.color)
    if color[3] < 255 and options.format == "jpg":
        raise FormatNeedsBackgroundError(
            "jpg has no transparency: use an opaque colour or ask for png/webp.",
            details={"format": "jpg", "color": options.color},
        )
    if options.target_kb is not None and options.format != "jpg":
        raise ValidationError("target_kb needs format=jpg.", details={"format": options.format})
    sheet = print_sheet(options.print_sheet) if options.print_sheet else None
    return IdPhotoPlan(options, size, dpi, rules, color, sheet)


def _rules(options: IdPhotoOptions, base: IdPhotoSize) -> HeadRules:
    """The size's bands; a ratio the client sets is a band of one value."""
    head = (base.head_height_range[0], base.head_height_ratio, base.head_height_range[1])
    top = (base.top_margin_range[0], base.top_margin_ratio, base.top_margin_range[1])
    if options.head_height_ratio is not None:
        head = (options.head_height_ratio,) * 3
    if options.top_margin_ratio is not None:
        top = (options.top_margin_ratio,) * 3
    return HeadRules(head=head, top=top, eyes=base.eye_line_range, max_roll=base.max_roll_degrees)


def _base_size(options: IdPhotoOptions) -> IdPhotoSize:
    if options.photo_size != "custom":
        custom = [
            f for f in ("width_px", "height_px", "width_mm", "height_mm") if getattr(options, f)
        ]
        if custom:
            raise ValidationError(
                f"{', '.join(custom)} only go with photo_size=custom.", details={"fields": custom}
            )
        return id_photo_size(options.photo_size)
    return id_photo_size("one_inch")  # rules and dpi for custom sizes: the 1-inch ones


def _pixel_size(options: IdPhotoOptions, base: IdPhotoSize, dpi: int) -> tuple[int, int]:
    if options.photo_size != "custom":
        if options.dpi is None or options.dpi == base.dpi:
            return base.width_px, base.height_px
        return _px(base.width_mm, dpi), _px(base.height_mm, dpi)
    if options.width_px and options.height_px:
        return options.width_px, options.height_px
    if options.width_mm and options.height_mm:
        return _px(options.width_mm, dpi), _px(options.height_mm, dpi)
    raise ValidationError(
        "photo_size=custom needs width_px and height_px, or width_mm and height_mm (with dpi).",
        details={"photo_size": "custom"},
    )


def _px(millimetres: float, dpi: int) -> int:
    return round(millimetres / MM_PER_INCH * dpi)


def make_id_photo(
    kernel: InferenceKernel, data: bytes, plan: IdPhotoPlan, images: ImageSettings
) -> SliceResult:
    """The CPU job: decode, find the one face, cut, frame, compose, (tile), encode.

    Raises:
        NoFaceDetectedError / MultipleFacesError: not exactly one face (``details.count``).
        InputError: the bytes are not an acceptable image.
        TargetSizeUnreachableError: target_kb cannot be met.
    """
    start = time.perf_counter()
    image = decode_image(data, images)
    photo, metadata = _compose(kernel, image.pixels, plan)
    metadata |= {"input_width": image.width, "input_height": image.height}
    dpi = plan.dpi
    if plan.sheet is not None:
        sheet = tile_on_sheet(photo, plan.dpi, plan.sheet)
        photo, dpi = sheet.pixels, plan.sheet.dpi
        metadata |= {
            "print_sheet": plan.sheet.name,
            "copies": sheet.copies,
            "cells": sheet.columns * sheet.rows,
            "columns": sheet.columns,
            "rows": sheet.rows,
        }
    encoded = _encode(np.ascontiguousarray(photo), plan, images, dpi)
    metadata |= {"width": int(photo.shape[1]), "height": int(photo.shape[0]), "dpi": dpi}
    if plan.options.target_kb is not None and encoded.quality is not None:
        metadata["jpeg_quality"] = encoded.quality
    metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
    media_type = MEDIA_TYPES[plan.options.format]
    return SliceResult(content=encoded.content, media_type=media_type, metadata=metadata)


def _compose(
    kernel: InferenceKernel, pixels: np.ndarray, plan: IdPhotoPlan
) -> tuple[np.ndarray, dict[str, Any]]:
    """The framed photo on its colour, and what was measured on the way."""
    options = plan.options
    face = _one_face(kernel, pixels[..., :3])
    factor = working_scale(face.landmarks, plan.rules.head[1] * plan.size[1])
    pixels, face = _shrunk(pixels, face, factor)
    mesh = face_mesh(kernel.model(MESH_MODEL), np.ascontiguousarray(pixels[..., :3]), face)
    check_face(mesh, pixels.shape, plan.rules, level=options.level_eyes)
    subject = cut_subject(
        kernel, options.model, pixels, clean=options.post_process_mask, pure=options.decontaminate
    )
    subject = solid_subject(kernel, options.model, subject, pixels)
    head = locate_head(mesh, subject.alpha, level=options.level_eyes)
    roll = 0.0 if options.level_eyes else mesh.roll
    placement = place(head, subject.alpha, plan.size, plan.rules, roll)
    colours, alpha = frame_subject(subject.foreground, subject.alpha, placement.matrix, plan.size)
    photo = composite(colours, alpha, solid(plan.size, plan.color))
    metadata: dict[str, Any] = {
        "mode": "id_photo",
        "model": options.model,
        "face_model": FACE_MODEL,
        "landmark_model": MESH_MODEL,
        "face_score": round(face.score, 3),
        **placement.metadata(),
        "levelled_degrees": round(head.roll, 2),
        "yaw_degrees": round(mesh.yaw, 1),
        "crown": "mask" if head.crown_measured else "estimated",
        "photo_width": plan.size[0],
        "photo_height": plan.size[1],
    }
    return photo, metadata


def _one_face(kernel: InferenceKernel, rgb: np.ndarray) -> Face:
    """The only face, its landmarks measured where the detector is most precise."""
    detector = kernel.model(FACE_MODEL)
    rgb = np.ascontiguousarray(rgb)
    faces = detect_faces(detector, rgb)
    if not faces:
        raise NoFaceDetectedError(
            "No face was found: an ID photo needs one face, looking at the camera.",
            details={"count": 0},
        )
    if len(faces) > 1:
        raise MultipleFacesError(
            f"{len(faces)} faces were found: an ID photo needs exactly one.",
            details={
                "count": len(faces),
                "boxes": [[round(v) for v in face.box] for face in faces[:20]],
            },
        )
    face = faces[0]
    if face.height <= _LANDMARK_FACE_PX * 1.5:
        return face
    # CenterFace's landmarks drift on very large faces (the eyes of a 650 px face can be off by
    # 7 degrees): measure them again on a copy where the face is about _LANDMARK_FACE_PX tall.
    max_side = round(max(rgb.shape[:2]) * _LANDMARK_FACE_PX / face.height)
    again = detect_faces(detector, rgb, max_side=max_side)
    return again[0] if len(again) == 1 else face


def _shrunk(pixels: np.ndarray, face: Face, factor: float) -> tuple[np.ndarray, Face]:
    """The photo and face scaled by ``factor`` (area filter), unchanged when it is ~1."""
    if factor > 0.9:
        return pixels, face
    height, width = pixels.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    scale = np.array([size[0] / width, size[1] / height], np.float32)
    box = face.box
    scaled = Face(
        box=(box[0] * scale[0], box[1] * scale[1], box[2] * scale[0], box[3] * scale[1]),
        score=face.score,
        landmarks=face.landmarks * scale,
    )
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), scaled


def _encode(pixels: np.ndarray, plan: IdPhotoPlan, images: ImageSettings, dpi: int) -> Encoded:
    target_kb = plan.options.target_kb
    if target_kb is not None:
        return encode_jpeg_within(pixels, images, dpi, target_kb * 1024)
    content = encode_with_dpi(pixels, plan.options.format, images, dpi)
    return Encoded(content, None)
