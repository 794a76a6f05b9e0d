#!/usr/bin/env bash
# Install everything (venv, dependencies, headless Chromium for the screenshots) and run the
# end-to-end demo on real London data. Output goes to ./demo-output (or the directory given as the
# first argument); the two screenshots are also copied to docs/img, where the README shows them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
OUT="${1:-demo-output}"
# headless Chromium takes the screenshots (Debian package, as scripts/test.sh installs it)
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "==> installing Debian chromium for the demo's screenshots"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
geocrime demo --out "$OUT"
for png in internal_map.png public_page.png; do
  if [ -f "$OUT/$png" ]; then
    cp "$OUT/$png" "$ROOT/docs/img/$png"
    echo "==> $OUT/$png copied to docs/img/$png"
  else
    echo "==> no screenshot $OUT/$png (see $OUT/summary.json)" >&2
  fi
done
