"""Named colours, ID-photo sizes and print sheets: data, listed by ``GET .../presets``.

Sizes are physical (mm) at a print resolution, with the pixel size they give. Each size has
head rules as bands (min, max) with a target inside, checked on every result: head height (crown
to chin), headroom above the crown, the eye line's height above the bottom edge, and the roll
left in the photo. They come from the issuing standards where one exists: ICAO 9303 and ISO/IEC
19794-5 (35x45 mm passports: chin to crown 32-36 mm, i.e. 71-80 % of the height; eyes 50-70 %
of the height above the bottom; roll within 8 degrees), the US Department of State (2x2 in:
head 1-1 3/8 in, 50-69 %; eyes 1 1/8-1 3/8 in above the bottom, 56-69 %), and the Chinese photo
studio norms for the inch sizes (head about half the height, a tenth of headroom), given a
band of +-0.05 here as no issuing standard fixes one.
"""

from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from msgspec import Struct

from center_api.sdk import ValidationError
from center_api.sdk.vision import RGBA, parse_color

MM_PER_INCH = 25.4


class ColorPreset(Struct, frozen=True, kw_only=True):
    """A named background colour."""

    name: str
    hex: str
    title: str


class IdPhotoSize(Struct, frozen=True, kw_only=True):
    """A standard ID-photo size with the head placement rules that go with it.

    Attributes:
        head_height_ratio: the target crown-to-chin height as a share of the photo height.
        top_margin_ratio: the target space above the crown as a share of the photo height.
        head_height_range: the accepted crown-to-chin heights (min, max), same unit.
        top_margin_range: the accepted headroom (min, max).
        eye_line_range: the accepted height of the eye line above the bottom edge (min, max).
        max_roll_degrees: the tilt of the eye line the result may keep.
    """

    name: str
    title: str
    width_px: int
    height_px: int
    width_mm: float
    height_mm: float
    dpi: int
    head_height_ratio: float
    top_margin_ratio: float
    head_height_range: tuple[float, float]
    top_margin_range: tuple[float, float]
    eye_line_range: tuple[float, float]
    max_roll_degrees: float = 8.0


class PrintSheet(Struct, frozen=True, kw_only=True):
    """Photo paper to tile ID photos on (landscape, as the printer takes it)."""

    name: str
    title: str
    width_px: int
    height_px: int
    dpi: int


COLOR_PRESETS: tuple[ColorPreset, ...] = (
    ColorPreset(name="id_blue", hex="#628bce", title="ID-photo blue"),
    ColorPreset(name="id_red", hex="#d74532", title="ID-photo red"),
    ColorPreset(name="id_white", hex="#ffffff", title="White"),
    ColorPreset(name="id_light_grey", hex="#f2f0f0", title="Light grey (passports, visas)"),
    ColorPreset(name="id_dark_blue", hex="#4b6190", title="Dark blue"),
    ColorPreset(name="id_black", hex="#000000", title="Black"),
)


class HeadRules(NamedTuple):
    """Bands as (min, target, max) shares of the photo height; the eye line as (min, max)."""

    head: tuple[float, float, float]
    top: tuple[float, float, float]
    eyes: tuple[float, float]


def _mm(name: str, title: str, size_mm: tuple[float, float], rules: HeadRules) -> IdPhotoSize:
    width_mm, height_mm = size_mm
    return IdPhotoSize(
        name=name,
        title=title,
        width_px=round(width_mm / MM_PER_INCH * 300),
        height_px=round(height_mm / MM_PER_INCH * 300),
        width_mm=width_mm,
        height_mm=height_mm,
        dpi=300,
        head_height_ratio=rules.head[1],
        top_margin_ratio=rules.top[1],
        head_height_range=(rules.head[0], rules.head[2]),
        top_margin_range=(rules.top[0], rules.top[2]),
        eye_line_range=rules.eyes,
    )


_INCH_RULES = HeadRules(head=(0.50, 0.55, 0.60), top=(0.07, 0.10, 0.13), eyes=(0.45, 0.70))
_ICAO_RULES = HeadRules(head=(0.711, 0.755, 0.80), top=(0.06, 0.09, 0.12), eyes=(0.50, 0.70))
_US_RULES = HeadRules(head=(0.50, 0.60, 0.69), top=(0.08, 0.12, 0.18), eyes=(0.5625, 0.6875))
_CHINA_ID_RULES = HeadRules(head=(0.58, 0.62, 0.66), top=(0.05, 0.08, 0.11), eyes=(0.45, 0.70))

ID_PHOTO_SIZES: tuple[IdPhotoSize, ...] = (
    _mm("one_inch", "1 inch (25x35 mm)", (25, 35), _INCH_RULES),
    _mm("two_inch", "2 inch (35x49 mm)", (35, 49), _INCH_RULES),
    _mm("small_one_inch", "Small 1 inch (22x32 mm)", (22, 32), _INCH_RULES),
    _mm("large_one_inch", "Large 1 inch (33x48 mm)", (33, 48), _INCH_RULES),
    _mm("small_two_inch", "Small 2 inch (35x45 mm)", (35, 45), _INCH_RULES),
    _mm("passport", "Passport, ICAO (35x45 mm)", (35, 45), _ICAO_RULES),
    _mm("schengen_visa", "Schengen visa (35x45 mm)", (35, 45), _ICAO_RULES),
    _mm("us_passport", "US passport and visa (2x2 in)", (50.8, 50.8), _US_RULES),
    _mm("japan_visa", "Japan visa (45x45 mm)", (45, 45), _ICAO_RULES),
    _mm("china_id_card", "Chinese ID card (26x32 mm)", (26, 32), _CHINA_ID_RULES),
)

PRINT_SHEETS: tuple[PrintSheet, ...] = (
    PrintSheet(name="six_inch", title="6 inch (4x6 in)", width_px=1800, height_px=1200, dpi=300),
    PrintSheet(name="five_inch", title="5 inch (3.5x5 in)", width_px=1500, height_px=1050, dpi=300),
    PrintSheet(name="a4", title="A4 (297x210 mm)", width_px=3508, height_px=2480, dpi=300),
)


def resolve_color(text: str) -> RGBA:
    """A preset name (e.g. ``id_blue``), ``#RRGGBB[AA]`` (``#`` optional) or a CSS name.

    Raises:
        ValidationError: none of these.
    """
    key = text.strip().lower()
    preset = next((p for p in COLOR_PRESETS if p.name == key), None)
    if preset is not None:
        return parse_color(preset.hex)
    try:
        return parse_color(text)
    except ValidationError as exc:
        exc.details["presets"] = [p.name for p in COLOR_PRESETS]
        raise


def id_photo_size(name: str) -> IdPhotoSize:
    """The size preset ``name``.

    Raises:
        ValidationError: no such preset (the details list the known names).
    """
    message = f"{name!r} is not an ID-photo size; use a preset name or 'custom'."
    return _named(ID_PHOTO_SIZES, name, "size", message)


def print_sheet(name: str) -> PrintSheet:
    """The print sheet ``name``.

    Raises:
        ValidationError: no such sheet.
    """
    return _named(PRINT_SHEETS, name, "print_sheet", f"{name!r} is not a print sheet.")


NamedT = TypeVar("NamedT", IdPhotoSize, PrintSheet)


def _named(presets: Sequence[NamedT], name: str, field: str, message: str) -> NamedT:
    found = next((preset for preset in presets if preset.name == name), None)
    if found is None:
        raise ValidationError(message, details={field: name, "known": [p.name for p in presets]})
    return found
