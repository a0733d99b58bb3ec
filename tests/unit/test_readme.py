"""The README stays true: its error-code table is the classes', its URLs are routes."""

import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path

from center_api.testing.apps import kit_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _error_codes_script():
    spec = importlib.util.spec_from_file_location(
        "error_codes", ROOT / "scripts" / "error_codes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_error_code_table_lists_every_code_of_core_errors():
    script = _error_codes_script()
    written = script.readme_table(README)
    assert written is not None, "README.md lost its error-codes markers"
    assert written == script.table(), (
        "README's error codes differ from core/errors.py: run "
        "`.venv/bin/python scripts/error_codes.py --write`"
    )
    assert "| `UNSUPPORTED_MEDIA_TYPE` | 415 |" in written and "| `BAD_REQUEST` | 400 |" in written


def test_every_url_in_the_readme_is_a_route(tmp_path):
    from center_api.bootstrap.app import create_app

    plugins = [e.name for e in entry_points(group="center_api.slices") if e.name == "text_erase"]
    app = create_app(kit_settings(tmp_path, tuple(plugins)))
    patterns = [
        re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path).rstrip("/") + "/?$")
        for route in app.routes
    ]
    urls = set(re.findall(r"http://127\.0\.0\.1:8000(/[^\s\"'`?)]*)", README))
    assert len(urls) > 20
    missing = sorted(
        url for url in urls if "$" not in url and not any(p.match(url) for p in patterns)
    )
    assert not missing, f"README names URLs that are not routes: {missing}"
