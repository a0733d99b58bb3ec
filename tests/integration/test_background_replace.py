"""background_replace scene modes (colour, gradient, image, blur) through the real app."""

import base64
import io

import cv2
import msgspec
import numpy as np
import pytest
from PIL import Image

from center_api.slices.background_replace import SLICE
from center_api.slices.background_replace.schemas import BackgroundReplaceOptions
from tests.conftest import assert_error, decode_png, encode_png, subject_on_background
from tests.support.background_replace import API, GREEN, ID_BLUE, edge_band, green_excess, ok


def post(client, mode: str, image: np.ndarray | bytes, files=None, **fields):
    data = image if isinstance(image, bytes) else encode_png(image)
    return client.post(
        f"{API}/{mode}",
        files={"file": ("photo.png", data, "image/png"), **(files or {})},
        data=fields or None,
    )


def near(pixel, colour, tolerance: int = 3) -> bool:
    return bool(np.abs(np.asarray(pixel[:3], int) - np.asarray(colour, int)).max() <= tolerance)


# --- colour -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("color", "expected"),
    [
        ("#628bce", ID_BLUE),
        ("628bce", ID_BLUE),
        ("id_blue", ID_BLUE),
        ("id_red", (0xD7, 0x45, 0x32)),
        ("cornflowerblue", (100, 149, 237)),
    ],
)
def test_color_takes_hex_without_hash_css_names_and_presets(client, color, expected):
    image, truth = subject_on_background()
    out = ok(post(client, "color", image, color=color))
    assert out.shape == (*truth.shape, 3)  # opaque colour: no alpha channel
    assert near(out[3, 3], expected) and near(out[-3, -3], expected)
    assert np.abs(out[truth].astype(int) - image[truth]).mean() < 4  # subject kept


def test_color_answers_json_with_metadata_when_asked(client):
    response = client.post(
        f"{API}/color",
        files={"file": ("p.png", encode_png(subject_on_background()[0]), "image/png")},
        data={"color": "white", "format": "jpg"},
        headers={"Accept": "application/json"},
    )
    body = response.json()
    assert body["success"] is True and body["media_type"] == "image/jpeg"
    assert body["metadata"]["mode"] == "color" and body["metadata"]["model"] == "u2netp-int8"
    assert Image.open(io.BytesIO(base64.b64decode(body["image_b64"]))).format == "JPEG"


def test_a_translucent_colour_keeps_alpha_and_is_refused_for_jpg(client):
    image, truth = subject_on_background()
    out = ok(post(client, "color", image, color="#ff000040", format="webp"))
    assert out.shape[2] == 4 and abs(int(out[3, 3, 3]) - 0x40) <= 1
    assert out[truth][:, 3].mean() > 250
    response = post(client, "color", image, color="#ff000040", format="jpg")
    assert_error(response, 422, "FORMAT_NEEDS_BACKGROUND")


def test_bad_options_are_validation_errors(client):
    image = subject_on_background()[0]
    body = assert_error(post(client, "color", image, color="ultraviolet"), 422, "VALIDATION_ERROR")
    assert "id_blue" in body["error"]["details"]["presets"]
    assert_error(post(client, "color", image, colour="red"), 422, "VALIDATION_ERROR")
    assert_error(post(client, "blur", image, radius="0"), 422, "VALIDATION_ERROR")
    assert_error(post(client, "color", image, model="nope"), 422, "VALIDATION_ERROR")
    no_image = client.post(f"{API}/color", files={"color": (None, "red")})
    assert_error(no_image, 422, "MISSING_SOURCE")


# --- gradient -----------------------------------------------------------------------------------
def test_vertical_gradient_runs_from_top_to_bottom(client):
    out = ok(
        post(
            client,
            "gradient",
            subject_on_background()[0],
            start_color="white",
            end_color="id_blue",
            kind="vertical",
        )
    ).astype(int)
    assert near(out[0, 0], (255, 255, 255)) and near(out[0, -1], (255, 255, 255))
    assert near(out[-1, 0], ID_BLUE) and near(out[-1, -1], ID_BLUE)
    assert out[0, 5, 0] > out[100, 5, 0] > out[-1, 5, 0]


def test_radial_gradient_runs_from_the_centre_to_the_corners(client):
    out = ok(
        post(
            client,
            "gradient",
            subject_on_background()[0],
            start_color="white",
            end_color="black",
            kind="radial",
        )
    ).astype(int)
    corners = [out[0, 0], out[0, -1], out[-1, 0], out[-1, -1]]
    assert all(near(corner, (0, 0, 0), 2) for corner in corners)
    assert out[180, 5, 0] > 40  # an edge midpoint is lighter than the corners
    assert out[180, 5, 0] == pytest.approx(out[180, -6, 0], abs=3)  # symmetric


# --- image --------------------------------------------------------------------------------------
def rows_red_blue(size: int = 100) -> np.ndarray:
    image = np.zeros((size, size, 3), np.uint8)
    image[: size // 2] = (255, 0, 0)
    image[size // 2 :] = (0, 0, 255)
    return image


@pytest.mark.parametrize("source", ["background_file", "background_b64"])
def test_image_background_from_an_upload_or_base64(client, source):
    image, truth = subject_on_background()
    background = encode_png(rows_red_blue())
    if source == "background_file":
        response = post(client, "image", image, files={source: ("bg.png", background)})
    else:
        response = post(client, "image", image, **{source: base64.b64encode(background).decode()})
    out = ok(response)
    assert out.shape == (*truth.shape, 3)
    assert near(out[5, 5], (255, 0, 0)) and near(out[-5, 5], (0, 0, 255))


@pytest.mark.parametrize(
    ("fit", "position", "checks"),
    [
        ("fill", "center", [((5, 170), (255, 0, 0)), ((5, 200), (0, 0, 255))]),
        ("fill", "top", [((5, 230), (255, 0, 0)), ((5, 250), (0, 0, 255))]),
        (
            "fit",
            "center",
            [((5, 5), (0, 255, 0)), ((60, 10), (255, 0, 0)), ((474, 5), (0, 255, 0))],
        ),
        ("fit", "right", [((5, 5), (0, 255, 0)), ((470, 10), (255, 0, 0))]),
        ("stretch", "center", [((5, 170), (255, 0, 0)), ((474, 190), (0, 0, 255))]),
    ],
)
def test_image_fit_fill_and_stretch_place_the_background(client, fit, position, checks):
    image = subject_on_background((480, 360))[0]
    response = post(
        client,
        "image",
        image,
        files={"background_file": ("bg.png", encode_png(rows_red_blue()))},
        fit=fit,
        position=position,
        pad_color="lime",
    )
    out = ok(response)
    assert out.shape == (360, 480, 3)
    for (x, y), colour in checks:
        assert near(out[y, x], colour), (x, y, out[y, x])


def test_image_mode_needs_exactly_one_background(client):
    image = subject_on_background()[0]
    assert_error(post(client, "image", image), 422, "MISSING_SOURCE")
    background = encode_png(rows_red_blue())
    both = post(
        client,
        "image",
        image,
        files={"background_file": ("bg.png", background)},
        background_b64=base64.b64encode(background).decode(),
    )
    body = assert_error(both, 422, "MULTIPLE_SOURCES")
    assert body["error"]["details"]["given"] == ["background_file", "background_b64"]
    broken = post(client, "image", image, files={"background_file": ("bg.png", b"nope")})
    body = assert_error(broken, 422, "INVALID_IMAGE")
    assert body["error"]["message"].startswith("Background image")


def test_a_background_url_goes_through_the_ssrf_rules(client):
    response = post(
        client, "image", subject_on_background()[0], background_url="http://127.0.0.1/bg.png"
    )
    assert_error(response, 422, "URL_NOT_ALLOWED")


# --- blur ---------------------------------------------------------------------------------------
def subject_on_stripes() -> tuple[np.ndarray, np.ndarray]:
    image, truth = subject_on_background()
    stripes = np.where((np.arange(image.shape[1]) // 3) % 2 == 0, 60, 200).astype(np.uint8)
    background = np.repeat(stripes[None, :, None], 3, axis=2).repeat(image.shape[0], axis=0)
    return np.where(truth[..., None], image, background), truth


def test_blur_keeps_the_subject_sharp_and_blurs_its_background(client):
    image, truth = subject_on_stripes()
    out = ok(post(client, "blur", image, radius="8")).astype(int)
    far = out[5:60, 5:100]
    assert image[5:60, 5:100].std() > 60 and far.std() < 5
    inner = cv2.erode(truth.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert np.abs(out[inner] - image[inner]).mean() < 4


# --- halos --------------------------------------------------------------------------------------
def on_green(sigma: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """The shaded orange subject, defocused (soft edge) on a saturated green background."""
    image, truth = subject_on_background()
    coverage = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), sigma)[..., None]
    mixed = coverage * image + (1 - coverage) * GREEN
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8), truth


HALO_MODES = [
    ("color", {"color": "id_blue"}, None),
    ("gradient", {"start_color": "navy", "end_color": "id_blue", "kind": "radial"}, None),
    ("image", {}, "background"),
]


@pytest.mark.parametrize(("mode", "fields", "extra"), HALO_MODES, ids=[m[0] for m in HALO_MODES])
def test_no_green_halo_from_the_old_background(client, mode, fields, extra):
    image, truth = on_green()
    band = edge_band(truth)
    blue = np.zeros((90, 120, 3), np.uint8)
    blue[:] = (40, 60, 200)
    outputs = {}
    for decontaminate in ("true", "false"):
        files = {"background_file": ("bg.png", encode_png(blue))} if extra else None
        response = post(client, mode, image, files, decontaminate=decontaminate, **fields)
        outputs[decontaminate] = ok(response)
    ours, naive = green_excess(outputs["true"], band), green_excess(outputs["false"], band)
    print(f"\n{mode}: green excess in the edge band: ours {ours:.2f}, naive {naive:.2f}")
    assert naive > 1.5  # the check can fail: the naive composite really has a green halo
    assert ours < 0.15 * naive


def test_blur_spreads_no_subject_glow_into_the_background(client):
    image, truth = on_green(sigma=1.0)
    out = ok(post(client, "blur", image, radius="12")).astype(np.float32)
    ring = edge_band(cv2.dilate(truth.astype(np.uint8), np.ones((15, 15), np.uint8)), 4)
    naive = cv2.GaussianBlur(image, (0, 0), 12).astype(np.float32)  # blur everything
    ours_glow = np.abs(out[ring] - GREEN).mean()
    naive_glow = np.abs(naive[ring] - GREEN).mean()
    print(
        f"\nblur: distance from the old green just outside: ours {ours_glow:.1f}, "
        f"naive {naive_glow:.1f}"
    )
    assert naive_glow > 15
    assert ours_glow < 0.15 * naive_glow


# --- tasks path ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        {"mode": "color", "color": "id_red"},
        {"mode": "gradient", "kind": "radial"},
        {"mode": "blur", "radius": "5"},
        {"mode": "image", "background_b64": base64.b64encode(encode_png(rows_red_blue())).decode()},
    ],
    ids=lambda raw: raw["mode"],
)
def test_run_dispatches_every_mode_from_task_options(client, raw):
    options = msgspec.convert({"replace": raw}, SLICE.options_type, strict=False)
    assert isinstance(options, BackgroundReplaceOptions)
    image = encode_png(subject_on_background()[0])

    async def run():
        async with client.app.state.dishka_container() as container:
            return await SLICE.run(container, image, options)

    result = client.blocking_portal.call(run)
    assert result.media_type == "image/png"
    assert result.metadata["mode"] == raw["mode"]
    assert decode_png(result.content).shape[:2] == (360, 480)


def test_presets_are_data_over_http(client):
    body = client.get(f"{API}/presets").json()
    colours = {c["name"]: c["hex"] for c in body["colors"]}
    assert colours["id_blue"] == "#628bce" and colours["id_red"] == "#d74532"
    sizes = {s["name"]: (s["width_px"], s["height_px"]) for s in body["id_photo_sizes"]}
    assert sizes["one_inch"] == (295, 413) and sizes["two_inch"] == (413, 579)
    sheets = {s["name"]: (s["width_px"], s["height_px"], s["dpi"]) for s in body["print_sheets"]}
    assert sheets["six_inch"] == (1800, 1200, 300)
    paths = client.get("/schema/openapi.json").json()["paths"]
    for mode in ("color", "gradient", "image", "blur", "id-photo"):
        assert f"{API}/{mode}" in paths
