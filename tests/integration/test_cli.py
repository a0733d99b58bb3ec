"""The center-api command, run in-process with click's runner."""

import numpy as np
from click.testing import CliRunner
from PIL import Image

from center_api.bootstrap.cli.main import cli
from tests.conftest import encode_png, subject_on_background


def run(args, model_dir, tmp_path, extra_config=""):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[models]\ndir = "{model_dir}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/app.db"\n' + extra_config
    )
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_plugins_list_shows_builtins_with_status(model_dir, tmp_path):
    result = run(["plugins", "list"], model_dir, tmp_path)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("cutout"))
    assert "center-api" in line and "enabled" in line
    off = run(["plugins", "list"], model_dir, tmp_path, "[slices.cutout]\nenabled = false\n")
    line = next(line for line in off.output.splitlines() if line.startswith("cutout"))
    assert "disabled" in line


def test_models_list_and_verify(model_dir, tmp_path):
    listing = run(["models", "list"], model_dir, tmp_path)
    assert listing.exit_code == 0
    row = next(line for line in listing.output.splitlines() if line.startswith("u2netp "))
    assert "installed" in row and "4,574,861" in row
    assert "missing" in next(line for line in listing.output.splitlines() if "birefnet" in line)
    verify = run(["models", "verify", "u2netp"], model_dir, tmp_path)
    assert verify.exit_code == 0 and "u2netp: ok" in verify.output


def test_pulling_an_unknown_model_fails_clearly(model_dir, tmp_path):
    result = run(["models", "pull", "nope"], model_dir, tmp_path)
    assert result.exit_code == 1
    assert "not in the manifest" in result.output


def test_one_shot_cutout_writes_a_transparent_png(model_dir, tmp_path):
    image, truth = subject_on_background()
    source = tmp_path / "in.png"
    source.write_bytes(encode_png(image))
    target = tmp_path / "out.png"
    result = run(["cutout", str(source), "-o", str(target)], model_dir, tmp_path)
    assert result.exit_code == 0, result.output
    alpha = np.asarray(Image.open(target))[..., 3]
    assert alpha[truth].mean() > 200 and alpha[~truth].mean() < 30


def test_a_bad_setting_stops_the_command_naming_the_key(model_dir, tmp_path):
    result = run(["plugins", "list"], model_dir, tmp_path, "[inference]\nqueue_max_size = -3\n")
    assert result.exit_code == 2
    assert "inference.queue_max_size" in result.output
