"""Background replacement: check → (fetch the background) → one kernel slot for all the pixels."""

import time
from functools import partial
from typing import Any

import numpy as np

from center_api.sdk import (
    MEDIA_TYPES,
    InferenceKernel,
    InputError,
    InvalidImageError,
    MissingSourceError,
    MultipleSourcesError,
    Settings,
    SliceResult,
    decode_base64_image,
    decode_image,
    decode_scaled,
    encode_image,
    fetch_bytes,
)
from center_api.sdk.vision import (
    RGBA,
    check_segmentation_model,
    foreground_metadata,
    mask_uncertainty,
)
from center_api.slices.background_replace.effects import cast_shadow, feathered
from center_api.slices.background_replace.id_photo import FACE_MODEL, make_id_photo, plan_id_photo
from center_api.slices.background_replace.light import composite
from center_api.slices.background_replace.scenes import SceneOptions, scene_backdrop, scene_colors
from center_api.slices.background_replace.schemas import (
    BlurOptions,
    IdPhotoOptions,
    ImageOptions,
    ModeOptions,
)
from center_api.slices.background_replace.subject import Subject, cut_subject, solid_subject

BACKGROUND_FIELDS = ("background_file", "background_url", "background_b64")
JOB_LABEL = "background_replace"


class BackgroundReplaceService:
    """Put the subject of a photo on a new background, in one of five modes."""

    def __init__(self, kernel: InferenceKernel, settings: Settings) -> None:
        self._kernel = kernel
        self._settings = settings
        self._images = settings.images

    async def replace(
        self, data: bytes, options: ModeOptions, background: bytes | None = None
    ) -> SliceResult:
        """Replace the background of ``data`` as ``options`` say.

        Args:
            data: the photo's bytes.
            options: one mode's options; the mode is their type.
            background: an uploaded background photo (image mode; else it is an error to send).

        Raises:
            ValidationError: unknown model, bad colour, size or rule.
            FormatNeedsBackgroundError: jpg with a translucent colour.
            MissingSourceError / MultipleSourcesError: image mode without exactly one background.
            NoFaceDetectedError / MultipleFacesError: id_photo without exactly one face.
            ModelNotAvailableError: a model's weights are not installed.
            InputError: either image is not acceptable.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        check_segmentation_model(self._kernel.store, options.model)
        if isinstance(options, IdPhotoOptions):
            plan = plan_id_photo(options)
            self._kernel.store.require(FACE_MODEL)
            job = partial(make_id_photo, self._kernel, data, plan, self._images)
            return await self._kernel.run(job, label=JOB_LABEL)
        colors = scene_colors(options)
        if isinstance(options, ImageOptions):
            background = await self._background(options, background)
        elif background is not None:
            raise MultipleSourcesError(
                "Only the image mode takes a background photo.",
                details={"given": ["background_file"]},
            )
        scene = partial(self._scene_now, data, options, colors, background)
        return await self._kernel.run(scene, label=JOB_LABEL)

    async def _background(self, options: ImageOptions, upload: bytes | None) -> bytes:
        """The background's bytes from exactly one of the three sources."""
        values = (upload, options.background_url, options.background_b64)
        given = [name for name, value in zip(BACKGROUND_FIELDS, values, strict=True) if value]
        if not given:
            raise MissingSourceError(
                "The image mode needs a background: background_file, background_url or "
                "background_b64.",
                details={"fields": list(BACKGROUND_FIELDS)},
            )
        if len(given) > 1:
            raise MultipleSourcesError("Send exactly one background.", details={"given": given})
        max_bytes = self._images.max_bytes
        if upload:
            return upload
        if options.background_url:
            return await fetch_bytes(options.background_url, self._settings.fetch, max_bytes)
        try:
            return decode_base64_image(str(options.background_b64), max_bytes)
        except InvalidImageError as exc:
            raise InvalidImageError("background_b64 is not valid base64.") from exc

    def _scene_now(
        self,
        data: bytes,
        options: SceneOptions,
        colors: tuple[RGBA, ...],
        background: bytes | None,
    ) -> SliceResult:
        start = time.perf_counter()
        pixels, input_size = decode_scaled(data, options.size, self._images)
        subject = cut_subject(
            self._kernel,
            options.model,
            pixels,
            clean=options.post_process_mask,
            pure=options.decontaminate,
        )
        subject, uncertainty = self._solid(subject, pixels, options.model)
        subject = _feathered(subject, options)
        # Only the blur mode looks at the photo again: for the others it goes now.
        source = pixels if isinstance(options, BlurOptions) else None
        del pixels
        if background is not None:
            source = self._decode_background(background)
        backdrop = scene_backdrop(options, subject, colors, source)
        del source
        height, width = subject.alpha.shape
        sigma = options.shadow_sigma(width, height)
        backdrop = cast_shadow(
            backdrop, subject.alpha, options.shadow, sigma, options.shadow_opacity
        )
        # The backdrop is this request's own array (or a read-only view): compose into it.
        out = composite(subject.foreground, subject.alpha, backdrop, in_place=True)
        metadata = _metadata(options, input_size, out, subject.alpha)
        metadata["uncertainty"] = uncertainty
        del subject, backdrop  # only the result is left to encode
        content = encode_image(np.ascontiguousarray(out), options.format, self._images)
        metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )

    def _solid(self, subject: Subject, pixels: np.ndarray, model: str) -> tuple[Subject, float]:
        """The subject with a solid interior (`solid_subject`), and how much the model doubted.

        The doubt (`mask_uncertainty`) is measured before the interior is made solid.
        """
        uncertainty = mask_uncertainty(subject.alpha)
        return solid_subject(self._kernel, model, subject, pixels), uncertainty

    def _decode_background(self, data: bytes) -> np.ndarray:
        """Decode the background photo; its errors say they are about the background."""
        try:
            return decode_image(data, self._images).pixels
        except InputError as exc:
            raise type(exc)(
                f"Background image: {exc.message}", details={**exc.details, "field": "background"}
            ) from exc


def _feathered(subject: Subject, options: SceneOptions) -> Subject:
    """The subject with its edge softened as the options say (as it was when they do not)."""
    height, width = subject.alpha.shape
    sigma = options.feather_sigma(width, height)
    if sigma <= 0:
        return subject
    return Subject(feathered(subject.alpha, sigma), subject.foreground)


def _metadata(
    options: SceneOptions, input_size: tuple[int, int], out: np.ndarray, alpha: np.ndarray
) -> dict[str, Any]:
    return {
        "mode": type(options).__struct_config__.tag,
        "width": int(out.shape[1]),
        "height": int(out.shape[0]),
        "input_width": input_size[0],
        "input_height": input_size[1],
        "model": options.model,
        **foreground_metadata(alpha),
    }
