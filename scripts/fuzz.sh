#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for
# SECONDS (default 600). Crashes are saved under build-fuzz/crashes/<target>/; each one
# found becomes a regression test under tests/io/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_wfdb_header fuzz_wfdb_signal fuzz_npy)
command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (apt-get install clang libclang-rt-14-dev)"; exit 2; }
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DECGTWIN_FUZZ=ON -DECGTWIN_WITH_TORCH=OFF -DECGTWIN_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  echo "fuzz.sh: $t for ${SECONDS_PER_TARGET}s"
  "build-fuzz/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/crashes/$t/" "build-fuzz/corpus/$t" 2>&1 | tail -n 3
done
