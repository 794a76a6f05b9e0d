#!/usr/bin/env bash
# Install everything (venv, dependencies, libpostal model) and run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k areas
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
if geocrime --help 2>/dev/null | grep -q libpostal; then
  echo "==> libpostal model (downloaded once, verified by SHA-256, cached)"
  geocrime libpostal install
fi
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
