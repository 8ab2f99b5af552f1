#!/usr/bin/env bash
# Installs ecgtwin's dependencies from Debian's packages (idempotent, quiet when they are
# already there) and builds the project in Release into build/.
#   scripts/setup.sh [--no-build] [--sanitize] [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build
BUILD=1
CMAKE_EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --sanitize) CMAKE_EXTRA+=(-DECGTWIN_SANITIZE=ON); BUILD_DIR=build-asan ;;
    --build-dir) shift; BUILD_DIR="$1" ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# What the build and tests need. libopenblas0-openmp replaces Debian's reference BLAS
# (about 10x slower matrix products) through the alternatives system; libblas-dev gives
# cblas.h for attention's batched products (src/model/batched_matmul.cpp). python3-torch runs
# the Python reference of the networks (bench/reference.py) that the model tests compare
# the C++ outputs with.
PACKAGES=(
  build-essential cmake pkg-config ccache
  libtorch-dev libgloo-dev libopenblas0-openmp libblas-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev
  libcairo2-dev libsoxr-dev
  python3-torch
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$BUILD" -eq 1 ]; then
  JOBS=$(nproc)
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${CMAKE_EXTRA[@]}" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
  echo "setup.sh: built $BUILD_DIR/ecgtwin"
fi
