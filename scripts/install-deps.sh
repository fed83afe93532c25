#!/usr/bin/env bash
# Installs everything alisa needs to build and test, from Debian 12 packages only.
# Idempotent: does nothing (not even apt-get update) when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libcaf-dev libssl-dev librocksdb-dev libdeflate-dev libabsl-dev
  libsentencepiece-dev nlohmann-json3-dev libhwy-dev
  libgtest-dev libgmock-dev libcli11-dev libcpp-httplib-dev libspdlog-dev
  python3-prometheus-client curl
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
