# Sourced by scripts/demo.sh and scripts/test.sh: make .venv and install geocrime into it.
# Needs only python3 (>= 3.10) and access to the package registries.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtual environment .venv"
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
EXTRAS="${GEOCRIME_EXTRAS:-test}"
STAMP=".venv/.geocrime-installed-$EXTRAS"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "==> installing geocrime[$EXTRAS] and its dependencies into .venv"
  "$VPY" -m pip install --disable-pip-version-check -q --upgrade pip
  "$VPY" -m pip install --disable-pip-version-check -q -e ".[$EXTRAS]"
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
