#!/usr/bin/env bash
# Run ON THE GPU MACHINE (LibTorch 2.x with CUDA inside its Python torch, nvcc and CMake; no
# registry, no internet), in the repository root, with build-device-deps/ (made here by
# scripts/device/prepare.sh) carried along:
#   1. configures against the Python package's LibTorch and the unpacked Debian packages,
#   2. builds the program and the gpu-labelled test executables,
#   3. runs the gpu-labelled tests,
#   4. runs bench/compare.sh --device cuda (the reference check, then `ecgtwin bench --suite
#      models --device cuda` and bench/reference.py at the same plan), the training steps
#      and the sampling as two steps so that one's results survive the other's running out
#      of time,
#   5. builds and runs the unit tests with the time that is left, then
#   6. runs `ecgtwin demo --device cuda`, if time is still left,
# writing the summary under $OUT (default: ./device-out): steps.txt (each step's status and
# time), machine.txt, compare_train.json, compare_sampling.json (each the last line of
# compare.sh), demo_metrics.json, and every log and JSON in results.tar.gz (a device call
# returns at most 8 files). The build keeps going past a file that fails to compile, so that
# one run shows every error; the script goes on after a failed test or benchmark step so
# that the others still report.
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
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
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
  "${CXX:-c++}" --version | head -1
  echo "cores $(nproc)"
} > "$out/machine.txt" 2>&1

multiarch=x86_64-linux-gnu
export LD_LIBRARY_PATH="$deps/usr/lib/$multiarch:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# pkg-config from the unpacked packages, seeing only their .pc files, with their /usr
# paths moved under the folder.
export PKG_CONFIG_LIBDIR="$deps/usr/lib/$multiarch/pkgconfig:$deps/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$deps"
# Hopper only: no probing of the device's architecture while configuring.
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
cmake_args=()
# Ninja where the machine has it (its image may have no make); -k: every compile error in
# one run.
if command -v ninja >/dev/null; then
  cmake_args+=(-G Ninja); keep_going=(-k 0)
else
  keep_going=(-k)
fi
# NCCL's header from the Python package's nvidia-nccl (LibTorch's include folder lacks it).
nccl_dir=$("$python" - <<'EOF'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
hits = sorted(glob.glob(os.path.join(site, "nvidia", "**", "include", "nccl.h"), recursive=True))
print(os.path.dirname(hits[0]) if hits else "")
EOF
)
echo "nccl.h ${nccl_dir:-not found}" >> "$out/machine.txt"
[[ -n "$nccl_dir" ]] && cmake_args+=("-DECGTWIN_NCCL_INCLUDE_DIR=$nccl_dir")
if nvcc=$(command -v nvcc); then cmake_args+=("-DCUDAToolkit_ROOT=$(dirname "$(dirname "$nvcc")")"); fi

# 1-2. Configure and build.
configure() {  # configure NAME [EXTRA CMAKE ARGUMENTS...]
  local name=$1; shift
  step "$name" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps/usr" \
    -DPKG_CONFIG_EXECUTABLE="$deps/usr/bin/pkgconf" \
    -DCMAKE_LIBRARY_ARCHITECTURE=$multiarch \
    -DECGTWIN_SHARED_DATA="$root/../shared/data" "${cmake_args[@]}" "$@"
}
# A LibTorch whose CMake files look for a cuDNN they cannot find: the second try turns it
# off (ecgtwin calls no cuDNN routine directly; LibTorch still uses its own copy).
if ! configure configure; then
  cp "$build"/CMakeFiles/CMakeError.log "$out/" 2>/dev/null
  rm -rf "$build"
  configure configure_without_cudnn -DCAFFE2_USE_CUDNN=OFF -DUSE_CUDNN=OFF || exit 1
fi
if (( configure_only )); then cat "$out/steps.txt"; exit 0; fi
gpu_targets=()
for f in "$root"/tests/*/*_gputest.cpp; do
  [[ -e "$f" ]] || continue
  layer=$(basename "$(dirname "$f")")
  target=test_${layer}_gpu
  [[ " ${gpu_targets[*]} " == *" $target "* ]] || gpu_targets+=("$target")
done
build() { step "$1" cmake --build "$build" -j "$jobs" --target ecgtwin_app "${gpu_targets[@]}" -- "${keep_going[@]}"; }
if ! build build; then
  grep -B2 -A6 'error' "$out/build.log" | head -150
  # The multi-GPU process group alone failing: build without NCCL, and say so.
  failed=$(grep -c '^FAILED' "$out/build.log")
  if [[ -n "$nccl_dir" ]] && (( failed == 1 )) && grep -q '^FAILED.*distributed.cpp' "$out/build.log"; then
    cmake "$build" -DECGTWIN_NCCL_INCLUDE_DIR= >> "$out/configure.log" 2>&1
    build build_without_nccl || exit 1
  else
    exit 1
  fi
fi
bin=$build/ecgtwin

# 3. The gpu-labelled tests.
step gpu_tests ctest --test-dir "$build" -L gpu --output-on-failure

# 4. The benchmarks at the published sizes, C++ and Python side by side; without Python,
# the C++ side alone.
if (( compare )); then
  for part in train sampling; do
    ECGTWIN_BIN=$bin PYTHON=$python step "compare_$part" "$root/bench/compare.sh" --device cuda \
      --parts "$part" --out "$out/compare_$part"
    tail -1 "$out/compare_$part.log" > "$out/compare_$part.json" 2>/dev/null
  done
else
  step bench_models "$bin" bench --suite models --device cuda -o "$out/bench_models_cuda.json"
fi

# 5. With the time that is left: the unit tests, built and run against this LibTorch
# (on the CPU, as everywhere; the data-labelled ones need ../shared/data, absent there).
# Two threads per test, as many tests at once as that fills the cores.
step build_tests cmake --build "$build" -j "$jobs" -- "${keep_going[@]}" &&
  OMP_NUM_THREADS=2 step unit_tests ctest --test-dir "$build" -L unit -j $(( (jobs + 1) / 2 )) \
    --output-on-failure

# 6. The whole job on CUDA, with the time that is still left: `ecgtwin demo` (simulated cohort,
# configs/tiny.yaml, evaluation against the ground truth).
step demo_cuda "$bin" demo --device cuda --out "$out/demo" &&
  cp "$out/demo/metrics.json" "$out/demo_metrics.json"
rm -rf "$out/demo"  # twins, plots and checkpoints: too large to come back

echo "run.sh: done in $(( $(date +%s) - start ))s" >> "$out/steps.txt"
for f in steps.txt machine.txt compare_train.json compare_sampling.json bench_models_cuda.json \
  demo_metrics.json; do
  [[ -f "$out/$f" ]] && cp "$out/$f" "$summary/"
done
tar -czf "$summary/results.tar.gz" -C "$out" . && rm -rf "$out"
cat "$summary/steps.txt"
