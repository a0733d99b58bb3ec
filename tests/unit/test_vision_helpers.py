import ipaddress

import numpy as np
import pytest

from center_api.core.errors import ValidationError
from center_api.core.outbound.policy import is_public
from center_api.sdk.vision.colors import parse_color
from center_api.sdk.vision.compositing import cutout_rgba, flatten_on_color
from center_api.sdk.vision.geometry import expand_box, parse_margin, parse_roi
from center_api.sdk.vision.matting import clean_mask


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("2606:4700:4700::1111", True),
    ],
)
def test_only_global_unicast_addresses_are_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("#628bce", (98, 139, 206, 255)),
        ("628bce", (98, 139, 206, 255)),
        ("#ff000080", (255, 0, 0, 128)),
        ("fff", (255, 255, 255, 255)),
        ("red", (255, 0, 0, 255)),
        ("LightGrey", (211, 211, 211, 255)),
    ],
)
def test_colours_in_every_accepted_spelling(text, rgba):
    assert parse_color(text) == rgba


def test_a_non_colour_is_a_validation_error():
    with pytest.raises(ValidationError):
        parse_color("#12345")


def test_margins_follow_css_order_in_px_and_percent():
    assert parse_margin("10", 200, 100) == (10, 10, 10, 10)
    assert parse_margin("10px 5%", 200, 100) == (10, 10, 10, 10)
    assert parse_margin("1 2 3 4", 200, 100) == (1, 2, 3, 4)
    assert expand_box((10, 10, 20, 20), (5, 5, 5, 50), 25, 100) == (0, 5, 25, 25)


def test_roi_in_percent_is_clipped_and_must_be_non_empty():
    assert parse_roi("0 0 50% 100%", 200, 100) == (0, 0, 100, 100)
    assert parse_roi("0 0 500 50", 200, 100) == (0, 0, 200, 50)
    with pytest.raises(ValidationError):
        parse_roi("50 50 10 10", 200, 100)


def test_clean_mask_drops_specks_fills_pinholes_and_keeps_soft_edges():
    alpha = np.zeros((100, 100), dtype=np.uint8)
    alpha[20:80, 20:80] = 255
    alpha[19, 20:80] = 128  # a soft edge row
    alpha[50, 50] = 0  # a pinhole
    alpha[2:4, 2:4] = 255  # a speck
    cleaned = clean_mask(alpha)
    assert cleaned[50, 50] == 255
    assert cleaned[2:4, 2:4].max() == 0
    assert cleaned[19, 50] == 128


def test_flatten_over_a_translucent_colour_uses_the_over_operator():
    rgba = np.zeros((1, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    out = flatten_on_color(rgba, (0, 0, 255, 128))
    assert out[0, 0].tolist() == [255, 0, 0, 255]
    assert out[0, 1].tolist() == [0, 0, 255, 128]  # only the backdrop shows


def test_cutout_keeps_colour_where_visible_and_stores_transparent_black_elsewhere():
    rgb = np.full((2, 4, 3), 200, dtype=np.uint8)
    alpha = np.array([[0, 1, 128, 255]] * 2, dtype=np.uint8)
    out = cutout_rgba(rgb, alpha)
    assert out[0].tolist() == [
        [0, 0, 0, 0],
        [200, 200, 200, 1],
        [200, 200, 200, 128],
        [200, 200, 200, 255],
    ]
    # An input with its own transparency: the alphas multiply, and zero stays black.
    out = cutout_rgba(np.dstack([rgb, np.full((2, 4), 128, dtype=np.uint8)]), alpha)
    assert out[0, :, 3].tolist() == [0, 1, 64, 128] and out[0, 0].tolist() == [0, 0, 0, 0]
