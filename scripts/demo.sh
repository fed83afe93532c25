#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job — an embedded alisa
# generating from the built-in default model (synthetic:tiny).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/bin/alisa run --model synthetic:tiny --prompt "Once upon a time" --max-tokens 48 "$@"
