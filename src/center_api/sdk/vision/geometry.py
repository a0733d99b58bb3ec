"""Boxes and margins given as text: pixels or percentages, CSS-style shorthands."""

import re

from center_api.core.errors import ValidationError

Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)
_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(px|%)?$")


def _length(token: str, reference: int, field: str) -> int:
    match = _LENGTH.match(token.strip().lower())
    if match is None:
        raise ValidationError(
            f"{field}: {token!r} is not a length (use e.g. 20, 20px or 5%).",
            details={"field": field, "value": token},
        )
    number, unit = float(match.group(1)), match.group(2)
    return round(number * reference / 100) if unit == "%" else round(number)


def parse_margin(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """CSS-style margin: 1, 2 or 4 values (top right bottom left); % of the subject box.

    Returns (top, right, bottom, left) in pixels.
    """
    tokens = text.replace(",", " ").split()
    if len(tokens) not in (1, 2, 4):
        raise ValidationError(
            "crop_margin takes 1, 2 or 4 values (top right bottom left).",
            details={"field": "crop_margin", "value": text},
        )
    if len(tokens) == 1:
        tokens *= 4
    elif len(tokens) == 2:
        tokens = [tokens[0], tokens[1], tokens[0], tokens[1]]
    refs = (height, width, height, width)
    top, right, bottom, left = (
        _length(t, r, "crop_margin") for t, r in zip(tokens, refs, strict=True)
    )
    return top, right, bottom, left


def parse_roi(text: str, width: int, height: int) -> Box:
    """``x1 y1 x2 y2`` in pixels or % of the image; clipped to the image, must be non-empty."""
    tokens = text.replace(",", " ").split()
    if len(tokens) != 4:
        raise ValidationError(
            "roi takes 4 values: x1 y1 x2 y2.", details={"field": "roi", "value": text}
        )
    x1, y1, x2, y2 = (
        _length(t, r, "roi") for t, r in zip(tokens, (width, height, width, height), strict=True)
    )
    box = (max(0, x1), max(0, y1), min(width, x2), min(height, y2))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValidationError(
            "roi is empty inside the image.",
            details={"field": "roi", "value": text, "image": [width, height]},
        )
    return box


def expand_box(box: Box, margin: tuple[int, int, int, int], width: int, height: int) -> Box:
    """Grow ``box`` by (top, right, bottom, left), clipped to the image."""
    top, right, bottom, left = margin
    return (
        max(0, box[0] - left),
        max(0, box[1] - top),
        min(width, box[2] + right),
        min(height, box[3] + bottom),
    )
