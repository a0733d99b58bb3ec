"""Image-processing helpers shared by slices (the stable part of `center_api.vision`).

All of them are plain numpy/OpenCV functions: call them inside ``kernel.run(job)``, never on
the event loop.
"""

from center_api.vision.colors import RGBA, parse_color
from center_api.vision.compositing import cutout_rgba, flatten_on_color
from center_api.vision.faces import Face, detect_faces
from center_api.vision.geometry import expand_box, parse_margin, parse_roi
from center_api.vision.matting import clean_mask, estimate_foreground
from center_api.vision.segmentation import foreground_box, predict_alpha

__all__ = [
    "RGBA",
    "Face",
    "clean_mask",
    "cutout_rgba",
    "detect_faces",
    "estimate_foreground",
    "expand_box",
    "flatten_on_color",
    "foreground_box",
    "parse_color",
    "parse_margin",
    "parse_roi",
    "predict_alpha",
]
