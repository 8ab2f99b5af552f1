#!/usr/bin/env bash
# Sets up and builds ecgtwin (scripts/setup.sh), then runs the CTest suite.
# By default every test except those labelled slow or gpu; pass CTest options to choose:
#   scripts/test.sh                 # unit, cli and data tests
#   scripts/test.sh -L slow         # only the slow ones
#   scripts/test.sh --sanitize      # ASan+UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

SETUP_ARGS=()
BUILD_DIR=build
if [ "${1:-}" = "--sanitize" ]; then
  SETUP_ARGS+=(--sanitize); BUILD_DIR=build-asan; shift
  # fontconfig (through cairo) keeps caches until exit; everything else must be leak-free.
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
scripts/setup.sh "${SETUP_ARGS[@]}"

CTEST_ARGS=("$@")
if [ ${#CTEST_ARGS[@]} -eq 0 ]; then
  CTEST_ARGS=(-LE "slow|gpu")
fi
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "${CTEST_ARGS[@]}"
