#!/usr/bin/env bash
# Install everything (venv, dependencies, sample data) and run the end-to-end demo on real London data.
# Output goes to ./demo-output (or the directory given as the first argument).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
OUT="${1:-demo-output}"
geocrime demo --out "$OUT"
