"""Image-processing helpers shared by slices and plugins: the vision half of the SDK.

All of them are plain numpy/OpenCV functions: call them inside ``kernel.run(job)``, never on
the event loop. A helper lives here once two slices (built-in or plugin) use it; one used by a
single slice lives in that slice.

Owns: colours, compositing, face detection and dense face landmarks (the 468-point mesh),
geometry (margins, regions), matting, salient-object segmentation, and strip/tile iteration
for full-size work without full-size float copies.
May import: `core` and `kernel` (never `slices`).
"""

from center_api.sdk.vision.colors import RGBA, parse_color
from center_api.sdk.vision.compositing import (
    FIRM_ALPHA,
    cutout_rgba,
    flatten_on_color,
    interior,
    keep_opaque,
    solid_interior,
)
from center_api.sdk.vision.face_mesh import MESH_MODEL, FaceMesh, face_mesh
from center_api.sdk.vision.faces import Face, detect_faces
from center_api.sdk.vision.geometry import expand_box, parse_margin, parse_roi
from center_api.sdk.vision.matting import clean_mask, estimate_foreground
from center_api.sdk.vision.refinement import (
    apply_in_band,
    box_mean,
    colour_covariance,
    mask_uncertainty,
    network_scale,
    refine_alpha,
    uncertain_band,
)
from center_api.sdk.vision.segmentation import (
    DEFAULT_SEGMENTATION_MODEL,
    SegmentationModelId,
    check_segmentation_model,
    foreground_box,
    foreground_metadata,
    predict_alpha,
    predict_probability,
)
from center_api.sdk.vision.tiles import (
    Tile,
    Window,
    area_weights,
    erode,
    grow_rows,
    row_strips,
    tiles,
)

__all__ = [
    "DEFAULT_SEGMENTATION_MODEL",
    "FIRM_ALPHA",
    "MESH_MODEL",
    "RGBA",
    "Face",
    "FaceMesh",
    "SegmentationModelId",
    "Tile",
    "Window",
    "apply_in_band",
    "area_weights",
    "box_mean",
    "check_segmentation_model",
    "clean_mask",
    "colour_covariance",
    "cutout_rgba",
    "detect_faces",
    "erode",
    "estimate_foreground",
    "expand_box",
    "face_mesh",
    "flatten_on_color",
    "foreground_box",
    "foreground_metadata",
    "grow_rows",
    "interior",
    "keep_opaque",
    "mask_uncertainty",
    "network_scale",
    "parse_color",
    "parse_margin",
    "parse_roi",
    "predict_alpha",
    "predict_probability",
    "refine_alpha",
    "row_strips",
    "solid_interior",
    "tiles",
    "uncertain_band",
]
