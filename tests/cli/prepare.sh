#!/usr/bin/env bash
# Program-level checks of `ecgtwin prepare`.
# Usage: prepare.sh CASE ECGTWIN_BIN SHARED_DATA OUT_DIR
set -u
case_name=$1 bin=$2 data=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The integer value of KEY in a JSON file written by nlohmann::json (one key per line).
json_int() { sed -n "s/^  \"$2\": \([0-9]*\),\{0,1\}$/\1/p" "$1"; }

case $case_name in
  ptbxl)
    [ -d "$data/ptbxl-500" ] || { echo "needs $data/ptbxl-500; not found, so skipped"; exit 0; }
    "$bin" prepare --dataset ptbxl "$data/ptbxl-500" --out "$out/cache" 2> "$out/log" \
      || fail "exit code $? $(cat "$out/log")"
    s=$out/cache/summary.json
    [ -s "$s" ] && [ -s "$out/cache/index.json" ] && [ -s "$out/cache/shard_00000.npy" ] || fail "files"
    # PTB-XL records 1..500: 466 patients, 25 with two or more records (README of the data).
    [ "$(json_int "$s" records)" = 500 ] || fail "records: $(cat "$s")"
    [ "$(json_int "$s" patients)" = 466 ] || fail "patients: $(cat "$s")"
    [ "$(json_int "$s" patients_with_multiple_records)" = 25 ] || fail "multiple: $(cat "$s")"
    [ "$(json_int "$s" skipped)" = 0 ] || fail "skipped: $(cat "$s")"
    grep -Eq '^  "seconds": [0-9.e+-]+,?$' "$s" || fail "seconds: $(cat "$s")"
    grep -q 'read 500 records' "$out/log" || fail "log: $(cat "$out/log")"
    grep -q 'skipped 0 records' "$out/log" || fail "log: $(cat "$out/log")"
    # float32 [500, 12, 1024] after a 128-byte NPY header.
    [ "$(stat -c %s "$out/cache/shard_00000.npy")" = $((128 + 500 * 12 * 1024 * 4)) ] || fail "shard size"
    # A second run reuses the cache.
    before=$(stat -c %Y.%s "$out/cache/shard_00000.npy")
    "$bin" prepare --dataset ptbxl "$data/ptbxl-500" --out "$out/cache" 2> "$out/log2" || fail "rerun"
    grep -q 'up to date' "$out/log2" || fail "rerun log: $(cat "$out/log2")"
    [ "$(stat -c %Y.%s "$out/cache/shard_00000.npy")" = "$before" ] || fail "rerun rewrote the shard"
    ;;
  simulated)
    "$bin" -q simulate --patients 6 --records-per-patient 3 --seed 1 --out "$out/cohort" \
      || fail "simulate exit code $?"
    "$bin" prepare --dataset ptbxl "$out/cohort" --out "$out/cache" 2> "$out/log" \
      || fail "prepare exit code $? $(cat "$out/log")"
    s=$out/cache/summary.json
    [ "$(json_int "$s" records)" = 18 ] || fail "records: $(cat "$s")"
    [ "$(json_int "$s" patients)" = 6 ] || fail "patients: $(cat "$s")"
    [ "$(json_int "$s" patients_with_multiple_records)" = 6 ] || fail "multiple: $(cat "$s")"
    [ "$(json_int "$s" skipped)" = 0 ] || fail "skipped: $(cat "$s")"
    # The simulator's statements and rates travel unchanged into the cache index.
    grep -q '"sinus rhythm"' "$out/cache/index.json" || fail "statements"
    rate=$(sed -n 2p "$out/cohort/ptbxl_database.csv" | awk -F, '{print $(NF-1)}')
    grep -q "\"hr\": $rate" "$out/cache/index.json" || fail "rate $rate of record 1 not in the index"
    ;;
  bad_input)
    "$bin" prepare --dataset ptbxl "$out/missing" --out "$out/a" 2> "$out/err"
    [ $? = 2 ] || fail "missing folder: expected exit 2"
    grep -q 'missing' "$out/err" || fail "message does not name the folder: $(cat "$out/err")"
    [ ! -e "$out/a" ] || fail "missing folder: output left behind"
    mkdir -p "$out/in"
    "$bin" prepare --dataset physionet "$out/in" --out "$out/b" 2> "$out/err"
    [ $? = 2 ] || fail "bad --dataset: expected exit 2"
    grep -q 'dataset' "$out/err" || fail "message does not name --dataset: $(cat "$out/err")"
    [ ! -e "$out/b" ] || fail "bad --dataset: output left behind"
    "$bin" prepare --dataset ptbxl "$out/in" --out "$out/c" --fs-source 250 2> "$out/err"
    [ $? = 2 ] || fail "bad --fs-source: expected exit 2"
    [ ! -e "$out/c" ] || fail "bad --fs-source: output left behind"
    "$bin" prepare --dataset ptbxl "$out/in" --out "$out/u" --units mmHg 2> "$out/err"
    [ $? = 2 ] || fail "bad --units: expected exit 2"
    grep -q -- '--units' "$out/err" || fail "message does not name --units: $(cat "$out/err")"
    [ ! -e "$out/u" ] || fail "bad --units: output left behind"
    "$bin" prepare --dataset ptbxl "$out/in" --out "$out/k" --set prepare.units=mmHg 2> "$out/err"
    [ $? = 2 ] || fail "bad prepare.units: expected exit 2"
    grep -q 'prepare.units' "$out/err" || fail "message does not name prepare.units: $(cat "$out/err")"
    [ ! -e "$out/k" ] || fail "bad prepare.units: output left behind"
    # A table whose only record cannot be read.
    printf 'path,patient_id,report\nnowhere.hea,1,sinus rhythm\n' > "$out/in/manifest.csv"
    "$bin" prepare --dataset manifest "$out/in/manifest.csv" --out "$out/d" 2> "$out/err"
    [ $? = 2 ] || fail "unreadable records: expected exit 2"
    grep -q 'nowhere' "$out/err" || fail "message does not name the record: $(cat "$out/err")"
    [ ! -e "$out/d" ] || fail "unreadable records: output left behind"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok $case_name"
