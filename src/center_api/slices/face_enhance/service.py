"""Face enhancement: detect → align → (assess) → restore → (check) → paste back → encode.

``auto`` restores a face only when it needs it (`quality.assess`), at a strength set by how
degraded it is, and keeps the result only when it passes the quality check
(`quality.consistent`), trying the best installed engine, then ``classic``, then leaving the
face as it was. A named engine restores every selected face at full strength. Every face is
pasted back through the mask of its own 468-point mesh (`masks`), colour-matched.

Scheduling: decoding and detection are one kernel job, each face's restoration (with its
paste-back) is its own job, and encoding is the last; the jobs of one request run one after
another, so a 30-face photo takes one slot at a time and other requests' jobs queue between
its faces instead of waiting for the whole photo.
"""

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import cv2
import msgspec
import numpy as np

from center_api.sdk import (
    MEDIA_TYPES,
    DecodedImage,
    InferenceKernel,
    NoFaceDetectedError,
    Settings,
    SliceResult,
    ValidationError,
    decode_image,
    encode_image,
)
from center_api.sdk.vision import MESH_MODEL, Face, FaceMesh, detect_faces, face_mesh
from center_api.slices.face_enhance.engines import (
    WORK_SIZES,
    Engine,
    RestoredFace,
    accepts_fidelity,
    resolve_engine,
    restore_face,
)
from center_api.slices.face_enhance.masks import mesh_mask
from center_api.slices.face_enhance.quality import assess, consistent
from center_api.slices.face_enhance.restore import align_face, native_size, paste_face
from center_api.slices.face_enhance.schemas import (
    SKIP_REASONS,
    DetectOptions,
    FaceAction,
    FaceEnhanceOptions,
    FaceInfo,
    FaceReport,
)
from center_api.slices.face_enhance.selection import face_info, select_faces

DETECTOR = "centerface"
JSON = "application/json"
# Decoded formats that can go back as they came (Pillow names them).
_SOURCE_MEDIA = {"JPEG": MEDIA_TYPES["jpg"], "PNG": MEDIA_TYPES["png"], "WEBP": MEDIA_TYPES["webp"]}


@dataclass(frozen=True)
class _Detection:
    """The decoded image, its faces and what is done with each."""

    image: DecodedImage
    rgb: np.ndarray
    faces: list[Face]
    actions: list[FaceAction]
    report: FaceReport


@dataclass(frozen=True)
class _Source:
    """What the encoder still needs of the input once its pixels are gone."""

    width: int
    height: int
    format: str
    alpha: np.ndarray | None  # its own transparency (a copy of the plane), if it had one

    @classmethod
    def of(cls, image: DecodedImage) -> "_Source":
        alpha = image.pixels[..., 3].copy() if image.has_alpha else None
        return cls(image.width, image.height, image.format, alpha)


@dataclass
class _Scene:
    """What the detection job hands to the face jobs and the encoder."""

    source: _Source
    working: np.ndarray  # the RGB faces are aligned from (upscaled when asked)
    report: FaceReport
    selected: list[tuple[int, Face]]  # the faces to enhance (report index, working pixels)
    is_grey: bool
    canvas: np.ndarray = field(init=False)  # receives the pasted faces

    def __post_init__(self) -> None:
        self.canvas = self.working.copy()

    def finish(self) -> None:
        """Every face is pasted: let the pixels they were aligned from go before encoding."""
        self.working = self.canvas


class FaceEnhanceService:
    """Face detection and restoration for one image."""

    def __init__(self, kernel: InferenceKernel, settings: Settings) -> None:
        self._kernel = kernel
        self._images = settings.images

    async def detect(self, data: bytes, options: DetectOptions) -> FaceReport:
        """The faces of ``data`` and what `enhance` would do with each.

        Raises:
            ModelNotAvailableError: the face detector is not installed.
            InputError: the bytes are not an acceptable image.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        self._kernel.store.require(DETECTOR)
        detection = await self._kernel.run(
            partial(self._detect_now, data, options, 1), label="face_enhance.detect"
        )
        return detection.report

    async def enhance(self, data: bytes, options: FaceEnhanceOptions) -> SliceResult:
        """Restore every selected face of ``data`` and paste it back.

        Raises:
            ValidationError: unknown engine, fidelity for an engine without it, or an output
                over the megapixel limit.
            NoFaceDetectedError: no face at all (unless ``allow_no_face``).
            ModelNotAvailableError: the detector or the engine's weights are not installed.
            InputError: the bytes are not an acceptable image.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        start = time.perf_counter()
        if options.return_faces == "instead":  # detection only: no engine is needed
            report = await self.detect(data, options)
            metadata = {"detector": DETECTOR, "faces_found": report.faces_found}
            metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
            return SliceResult(
                content=msgspec.json.encode(report), media_type=JSON, metadata=metadata
            )
        engine = self._engine_for(options)
        scene = await self._kernel.run(
            partial(self._prepare, data, options), label="face_enhance.detect"
        )
        if scene.report.faces_found == 0:
            return await self._no_face(data, scene, options, engine)
        restore_start = time.perf_counter()
        for index, face in scene.selected:
            await self._kernel.run(
                partial(self._restore_one, scene, face, engine, options, scene.report.faces[index]),
                label="face_enhance.face",
            )
        restore_ms = (time.perf_counter() - restore_start) * 1000
        scene.finish()
        content = await self._kernel.run(
            partial(self._encode, scene, options), label="face_enhance.encode"
        )
        metadata = _metadata(scene, engine, options)
        metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
        metadata["ms_per_face"] = round(restore_ms / max(1, len(scene.selected)), 1)
        if options.return_faces == "beside":
            metadata["faces"] = msgspec.to_builtins(scene.report.faces)
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )

    def _engine_for(self, options: FaceEnhanceOptions) -> Engine:
        """Resolve the engine and check the options against it, before anything is queued."""
        store = self._kernel.store
        store.require(DETECTOR)
        store.require(MESH_MODEL)
        engine = resolve_engine(store, options.engine)
        if options.fidelity is not None and not accepts_fidelity(store, engine):
            raise ValidationError(
                f"fidelity applies to CodeFormer only; engine {engine.name!r} has no such input.",
                details={"engine": engine.name, "fidelity": options.fidelity},
            )
        return engine

    def _detect_now(self, data: bytes, options: DetectOptions, upscale: int) -> _Detection:
        """Decode, detect and select."""
        image = decode_image(data, self._images)
        megapixels = image.megapixels * upscale**2
        if megapixels > self._images.max_megapixels:
            raise ValidationError(
                f"upscale={upscale} would give {megapixels:.1f} MP; the limit is "
                f"{self._images.max_megapixels:g} MP.",
                details={"upscale": upscale, "max_megapixels": self._images.max_megapixels},
            )
        rgb = np.ascontiguousarray(image.rgb())
        faces = detect_faces(self._kernel.model(DETECTOR), rgb)
        actions = select_faces(faces, image.width, image.height, options)
        report = FaceReport(
            width=image.width,
            height=image.height,
            detector=DETECTOR,
            faces_found=len(faces),
            faces=[face_info(f, a) for f, a in zip(faces, actions, strict=True)],
        )
        return _Detection(image, rgb, faces, actions, report)

    def _prepare(self, data: bytes, options: FaceEnhanceOptions) -> _Scene:
        """Detect, then set up the canvas the faces are pasted into (one job)."""
        found = self._detect_now(data, options, options.upscale)
        selected = [
            (index, _scaled(face, options.upscale))
            for index, (face, action) in enumerate(zip(found.faces, found.actions, strict=True))
            if action == "enhance"
        ]
        working = _upscaled(found.rgb, options.upscale)
        source = _Source.of(found.image)
        return _Scene(source, working, found.report, selected, is_grey=_is_grey(found.rgb))

    def _restore_one(
        self,
        scene: _Scene,
        face: Face,
        engine: Engine,
        options: FaceEnhanceOptions,
        info: FaceInfo,
    ) -> None:
        """Restore one face and paste it into the scene's canvas; note the outcome in ``info``."""
        mesh = face_mesh(self._kernel.model(MESH_MODEL), scene.working, face)
        blend = options.blend / 100.0
        if not engine.auto:
            restored = self._restored(scene, engine, face, options)
            self._paste(scene, restored, mesh, blend)
            info.engine, info.strength = engine.name, round(blend, 3)
            return
        native = int(min(WORK_SIZES[1], max(64, round(native_size(face.landmarks)))))
        assessment = assess(align_face(scene.working, face.landmarks, native).crop)
        info.degradation = round(assessment.score, 3)
        if assessment.verdict != "restore":
            info.action = "skip_clean" if assessment.verdict == "clean" else "skip_unrecoverable"
            return
        candidates = [engine]
        if engine.kind != "classic":  # the weightless engine is the fallback
            candidates.append(Engine("classic", "classic"))
        for candidate in candidates:
            restored = self._restored(scene, candidate, face, options)
            original = align_face(scene.working, face.landmarks, restored.crop.shape[0]).crop
            for strength in (assessment.strength, assessment.strength / 2):
                if consistent(restored.crop, original, strength):
                    self._paste(scene, restored, mesh, strength * blend)
                    info.engine, info.strength = candidate.name, round(strength * blend, 3)
                    return
        info.action = "skip_quality"

    def _restored(
        self, scene: _Scene, engine: Engine, face: Face, options: FaceEnhanceOptions
    ) -> RestoredFace:
        restored = restore_face(
            self._kernel, engine, scene.working, face.landmarks, options.fidelity
        )
        if scene.is_grey:  # a network must not colourise a black-and-white photo
            grey = restored.crop @ np.array([0.299, 0.587, 0.114], np.float32)
            return RestoredFace(np.repeat(grey[..., None], 3, axis=2), restored.matrix)
        return restored

    @staticmethod
    def _paste(scene: _Scene, restored: RestoredFace, mesh: FaceMesh, strength: float) -> None:
        mask = mesh_mask(mesh, restored.matrix, restored.crop.shape[0])
        paste_face(scene.canvas, restored.crop, restored.matrix, strength, mask)

    def _encode(self, scene: _Scene, options: FaceEnhanceOptions) -> bytes:
        pixels = scene.canvas
        if scene.source.alpha is not None and options.format != "jpg":
            alpha = _upscaled(scene.source.alpha, options.upscale)
            pixels = np.dstack([pixels, alpha])
        return encode_image(np.ascontiguousarray(pixels), options.format, self._images)

    async def _no_face(
        self, data: bytes, scene: _Scene, options: FaceEnhanceOptions, engine: Engine
    ) -> SliceResult:
        if not options.allow_no_face:
            raise NoFaceDetectedError(
                "No face was found in the image.", details={"faces": 0, "detector": DETECTOR}
            )
        metadata = _metadata(scene, engine, options) | {"unchanged": True}
        media_type = _SOURCE_MEDIA.get(scene.source.format)
        if media_type is not None and options.upscale == 1:
            return SliceResult(content=data, media_type=media_type, metadata=metadata)
        content = await self._kernel.run(
            partial(self._encode, scene, options), label="face_enhance.encode"
        )
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )


def _metadata(scene: _Scene, engine: Engine, options: FaceEnhanceOptions) -> dict[str, Any]:
    actions = [face.action for face in scene.report.faces]
    skipped = {
        SKIP_REASONS[action]: actions.count(action)
        for action in SKIP_REASONS
        if actions.count(action)
    }
    return {
        "width": int(scene.canvas.shape[1]),
        "height": int(scene.canvas.shape[0]),
        "input_width": scene.source.width,
        "input_height": scene.source.height,
        "engine": engine.name,
        "model": engine.model_label,
        "detector": DETECTOR,
        "faces_found": scene.report.faces_found,
        "faces_enhanced": actions.count("enhance"),
        "faces_skipped": len(actions) - actions.count("enhance"),
        "faces_skipped_small": actions.count("skip_small"),
        "faces_skipped_limit": actions.count("skip_limit") + actions.count("skip_not_center"),
        "faces_skipped_clean": actions.count("skip_clean"),
        "faces_skipped_unrecoverable": actions.count("skip_unrecoverable"),
        "faces_skipped_quality": actions.count("skip_quality"),
        "skipped": skipped,
        "blend": options.blend,
        "upscale": options.upscale,
    }


def _scaled(face: Face, factor: int) -> Face:
    """The face in the pixels of the image resized ``factor`` times (pixel-centre exact)."""
    if factor == 1:
        return face
    box = tuple((v + 0.5) * factor - 0.5 for v in face.box)
    return Face(
        box=(box[0], box[1], box[2], box[3]),
        score=face.score,
        landmarks=((face.landmarks + 0.5) * factor - 0.5).astype(np.float32),
    )


def _upscaled(pixels: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return pixels
    size = (pixels.shape[1] * factor, pixels.shape[0] * factor)
    return cv2.resize(pixels, size, interpolation=cv2.INTER_LANCZOS4)


def _is_grey(rgb: np.ndarray) -> bool:
    """A black-and-white photo: the channels differ by less than one level on average."""
    sample = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].astype(np.int16)
    spread = np.abs(sample[..., 0] - sample[..., 1]) + np.abs(sample[..., 1] - sample[..., 2])
    return float(spread.mean()) < 1.0
