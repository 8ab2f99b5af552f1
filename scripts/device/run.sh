#!/usr/bin/env bash
# Run ON THE GPU MACHINE (LibTorch 2.x with CUDA inside its Python torch, nvcc and CMake; no
# registry, no internet), in the repository root, with build-device-deps/ (made here by
# scripts/device/prepare.sh) carried along:
#   1. configures against the Python package's LibTorch and the unpacked Debian packages,
#   2. builds the program and the gpu-labelled test executables,
#   3. runs the gpu-labelled tests,
#   4. runs `ecgtwin bench --suite models --device cuda` and bench/compare.sh --device cuda,
# writing the summary under $OUT (default: ./device-out): steps.txt (each step's status and
# time), machine.txt, bench_models_cuda.json, compare.json, and every log and JSON in
# results.tar.gz (a device call returns at most 8 files). The script goes on after a failed
# test or benchmark step so that the others still report.
#
# Usage: scripts/device/run.sh [--deps DIR] [--skip-compare] [--jobs N] [--configure-only]
# Environment: OUT (results), PYTHON (default: python3), ECGTWIN_RUN_BUDGET_S (seconds the
# whole run may take; default 540, so that a 600-s device call returns its results).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
deps=$root/build-device-deps
compare=1
configure_only=0
jobs=$(nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --deps) deps=$(cd "$2" && pwd); shift 2 ;;
    --skip-compare) compare=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --configure-only) configure_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
summary=${OUT:-$root/device-out}
out=$summary/all
mkdir -p "$out"
python=${PYTHON:-python3}
build=$root/build-device
start=$(date +%s)
budget=${ECGTWIN_RUN_BUDGET_S:-540}
left() { echo $(( budget - ($(date +%s) - start) )); }
step() {  # step NAME COMMAND...: runs it with the time left, logs to $OUT/NAME.log
  local name=$1; shift
  local limit; limit=$(left)
  if (( limit < 20 )); then echo "$name skipped (no time left)" >> "$out/steps.txt"; return 1; fi
  local t0=$(date +%s) rc=0
  timeout "$limit" "$@" > "$out/$name.log" 2>&1 || rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 ))s" >> "$out/steps.txt"
  return $rc
}
: > "$out/steps.txt"

[[ -d "$deps/usr" ]] || { echo "run.sh: $deps is missing (run scripts/device/prepare.sh here first)" >&2; exit 2; }
torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)') || exit 2
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
{
  echo "date $(date -u +%FT%TZ)"
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null
  nvcc --version 2>/dev/null | tail -1
  cmake --version | head -1
  echo "cores $(nproc)"
} > "$out/machine.txt" 2>&1

multiarch=x86_64-linux-gnu
export LD_LIBRARY_PATH="$deps/usr/lib/$multiarch:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# pkg-config from the unpacked packages, seeing only their .pc files, with their /usr
# paths moved under the folder.
export PKG_CONFIG_LIBDIR="$deps/usr/lib/$multiarch/pkgconfig:$deps/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$deps"

# 1-2. Configure and build.
step configure cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps/usr" \
  -DPKG_CONFIG_EXECUTABLE="$deps/usr/bin/pkgconf" \
  -DCMAKE_LIBRARY_ARCHITECTURE=$multiarch \
  -DECGTWIN_SHARED_DATA="$root/../shared/data" || { cp "$build"/CMakeFiles/CMakeError.log "$out/" 2>/dev/null; exit 1; }
if (( configure_only )); then cat "$out/steps.txt"; exit 0; fi
gpu_targets=()
for f in "$root"/tests/*/*_gputest.cpp; do
  [[ -e "$f" ]] || continue
  layer=$(basename "$(dirname "$f")")
  target=test_${layer}_gpu
  [[ " ${gpu_targets[*]} " == *" $target "* ]] || gpu_targets+=("$target")
done
step build cmake --build "$build" -j "$jobs" --target ecgtwin_app "${gpu_targets[@]}" || exit 1
bin=$build/ecgtwin

# 3. The gpu-labelled tests.
step gpu_tests ctest --test-dir "$build" -L gpu --output-on-failure

# 4. The benchmarks: C++ alone (the published sizes), then both sides.
step bench_models "$bin" bench --suite models --device cuda -o "$out/bench_models_cuda.json"
if (( compare )); then
  ECGTWIN_BIN=$bin PYTHON=$python step compare "$root/bench/compare.sh" --device cuda --out "$out/compare"
  tail -1 "$out/compare.log" > "$out/compare.json" 2>/dev/null
fi
echo "run.sh: done in $(( $(date +%s) - start ))s" >> "$out/steps.txt"
for f in steps.txt machine.txt bench_models_cuda.json compare.json; do
  [[ -f "$out/$f" ]] && cp "$out/$f" "$summary/"
done
tar -czf "$summary/results.tar.gz" -C "$out" . && rm -rf "$out"
cat "$summary/steps.txt"
