#!/usr/bin/env bash
# README command (1): install dependencies, build the `alisa` binary (not the tests), and run the
# main job — an embedded alisa generating from the built-in default model (stories260K, a real
# 260K-parameter TinyStories Llama shipped in model/builtin/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
ALISA_BUILD_TARGET=alisa bash scripts/build.sh
./build/bin/alisa run --prompt "Once upon a time" --max-tokens 96 "$@"
