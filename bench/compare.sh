#!/usr/bin/env bash
# C++ (ecgtwin bench --suite models) and the Python PyTorch reference (bench/reference.py)
# side by side, in one go:
#   1. the reference check: `ecgtwin reference-export` writes seeded weights, inputs and
#      outputs; reference.py loads them and compares (float32, CPU);
#   2. the C++ benchmark, then the Python one with the C++ plan (same sizes, repeats,
#      threads, device);
#   3. the last line printed is one JSON object with each figure for C++ and Python and
#      the ratios (keys *_ratio_vs_python, C++ over Python: above 1 = C++ faster).
#
# Usage: bench/compare.sh [--quick] [--parts train|sampling] [--rounds N] [--device cpu|cuda]
#                         [--threads N] [--out DIR]
#   --quick     small batches and 3 repeats (a few minutes on a 2-core machine)
#   --parts     only the training steps or only the sampling (default: both)
#   --rounds N  run the two sides in turn N times; each figure is the median over the rounds
#               (default: 1; more rounds even out a machine whose speed drifts)
#   --device    cpu (default) or cuda
#   --threads   intra-op threads of both sides (default: all cores)
#   --out DIR   keep every JSON there (default: a temporary folder)
# Environment: ECGTWIN_BIN (default: the first of build/ecgtwin, build-*/ecgtwin found),
#              PYTHON (default: the first python3 that imports torch).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
quick=() parts=() rounds=1 device=cpu threads=$(nproc) out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --parts) parts+=(--parts "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds takes a positive whole number, got $rounds" >&2; exit 2; }

bin=${ECGTWIN_BIN:-}
if [[ -z "$bin" ]]; then
  for candidate in "$root"/build/ecgtwin "$root"/build-*/ecgtwin; do
    if [[ -x "$candidate" ]]; then bin=$candidate; break; fi
  done
fi
[[ -x "$bin" ]] || { echo "compare.sh: no built ecgtwin (set ECGTWIN_BIN)" >&2; exit 2; }

find_python() {
  for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch, numpy' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}
if ! python=$(find_python); then
  echo "compare.sh: no python3 with torch; installing Debian's python3-torch" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get install -y --no-install-recommends python3-torch python3-numpy >&2
  python=$(find_python) || { echo "compare.sh: python3-torch did not install" >&2; exit 1; }
fi

if [[ -z "$out" ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
echo "compare.sh: $bin, $python ($("$python" -c 'import torch; print(torch.__version__)')), device $device, $threads threads" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. The reference check (always on the CPU in float32; one thread is enough).
rm -rf "$out/reference"
"$bin" --threads 1 reference-export -o "$out/reference" >/dev/null
check_rc=0
"$python" "$here/reference.py" check "$out/reference" > "$out/check.json" || check_rc=$?
rm -rf "$out/reference"
echo "compare.sh: reference check $([[ $check_rc -eq 0 ]] && echo passed || echo FAILED) (details: $out/check.json)" >&2

# 2. Both benchmarks in turn, C++ first; Python follows its plan. One pair per round.
results=()
for ((round = 1; round <= rounds; round++)); do
  [[ $rounds -gt 1 ]] && echo "compare.sh: round $round of $rounds" >&2
  "$bin" --threads "$threads" bench --suite models "${quick[@]}" "${parts[@]}" --device "$device" \
    -o "$out/cpp-$round.json" >/dev/null
  "$python" "$here/reference.py" bench "$out/cpp-$round.json" > "$out/python-$round.json"
  results+=("$out/cpp-$round.json" "$out/python-$round.json")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 3. One JSON object, last line.
"$python" "$here/reference.py" combine --check "$out/check.json" "${results[@]}" > "$out/combined.json"
"$python" - "$out/combined.json" "$load_before" "$load_after" <<'EOF'
import json, sys
combined = json.load(open(sys.argv[1]))
combined["load_average_before"], combined["load_average_after"] = sys.argv[2], sys.argv[3]
print(json.dumps(combined))
EOF
exit $check_rc
