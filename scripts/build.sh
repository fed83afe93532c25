#!/usr/bin/env bash
# Configures and builds alisa in ./build (Release). Extra arguments go to cmake's configure step.
# ALISA_BUILD_TARGET=alisa builds only the binary (README command (1)); the default builds
# everything, tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
if [ -n "${ALISA_BUILD_TARGET:-}" ]; then
  cmake --build build -j "$jobs" --target "$ALISA_BUILD_TARGET"
else
  cmake --build build -j "$jobs"
fi
