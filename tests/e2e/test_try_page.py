"""The try-it page in a real headless Chromium against a real server: upload → result shown.

Needs the ``playwright`` package (the dev extra) and a Chromium binary (Debian's ``chromium``:
``apt-get install chromium``; ``scripts/test`` installs it when run as root). No browser is
downloaded: Playwright drives the system's Chromium through ``executable_path``.
"""

import shutil
from collections.abc import Iterator

import pytest

from center_api.testing.apps import sample_png

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
)
CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
if CHROMIUM is None:
    pytest.skip(
        "no Chromium binary: apt-get install chromium (scripts/test does it as root)",
        allow_module_level=True,
    )


@pytest.fixture
def base_url(default_server) -> str:
    return default_server.base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_upload_shows_the_result_under_the_pages_own_csp(base_url, browser, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(sample_png((320, 240)))
    page = browser.new_page(viewport={"width": 900, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(base_url + "/")
    page.get_by_label("Tool").select_option("/api/v1/cutout/segment")
    page.set_input_files("#file", str(photo))
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    page.wait_for_function("document.getElementById('after').naturalWidth > 0")
    assert page.eval_on_selector("#after", "img => img.naturalWidth") == 320
    assert page.get_attribute("#download", "href").startswith("blob:")
    curl = page.input_value("#curl")
    assert curl.startswith("curl -F file=@photo.png") and "/api/v1/cutout/segment" in curl
    assert "Done: 320\u00d7240" in page.text_content("#status")
    page.fill("#slider", "80")  # the before/after slider moves the clip
    assert "80%" in page.eval_on_selector("#after-clip", "e => e.style.clipPath")
    assert not problems, problems  # no CSP violation, no script error


def test_keyboard_labels_and_phone_width(base_url, browser):
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(base_url + "/")
    for label in ("Tool", "Format", "Size", "Crop to the subject"):
        assert page.get_by_label(label).count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"  # the photo comes first
    page.get_by_label("Tool").select_option("/api/v1/background-replace/color")
    assert page.get_by_label("Colour").is_visible() and not page.get_by_label("Format").is_visible()
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360  # nothing wider than a phone
    page.get_by_role("button", name="Run").click()
    assert "Choose a photo first" in page.text_content("#status")
