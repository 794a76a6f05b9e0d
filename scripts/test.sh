#!/usr/bin/env bash
# Install everything (venv, dependencies, libpostal model) and run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k areas
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
# headless Chromium for the public-page tests (Debian package)
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if geocrime --help 2>/dev/null | grep -q libpostal; then
  echo "==> libpostal model (downloaded once, verified by SHA-256, cached)"
  geocrime libpostal install
fi
echo "==> ruff check (rules in pyproject.toml [tool.ruff])"
python -m ruff check src tests benchmarks
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
