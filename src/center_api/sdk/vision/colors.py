"""Colour parsing shared by every slice that takes a colour."""

from PIL import ImageColor

from center_api.core.errors import ValidationError

RGBA = tuple[int, int, int, int]


def parse_color(text: str) -> RGBA:
    """Parse ``#RRGGBB``, ``#RRGGBBAA``, ``#RGB``, the same without ``#``, or a CSS name.

    Raises:
        ValidationError: not a colour.
    """
    value = text.strip()
    candidates = [value]
    if not value.startswith("#") and len(value) in (3, 4, 6, 8):
        candidates.insert(0, f"#{value}")
    for candidate in candidates:
        try:
            rgba = ImageColor.getcolor(candidate, "RGBA")
        except ValueError:
            continue
        if isinstance(rgba, tuple) and len(rgba) == 4:
            return (int(rgba[0]), int(rgba[1]), int(rgba[2]), int(rgba[3]))
    raise ValidationError(
        f"{text!r} is not a colour: use #RRGGBB, #RRGGBBAA or a CSS colour name.",
        details={"value": text[:64]},
    )
