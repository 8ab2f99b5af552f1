#!/usr/bin/env bash
# Program-level cases for `ecgtwin simulate`: simulate.sh CASE ECGTWIN_BIN WORK_DIR
set -u
case_name=$1
bin=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

small_cohort() {  # DIR SEED
  "$bin" -q simulate --patients 4 --records-per-patient 3 --conditions afib,lbbb,pvc,brady \
    --fs 100 --seconds 3 --seed "$2" --out "$1"
}

case "$case_name" in
  cohort_layout)
    small_cohort "$work/a" 5 || fail "exit code $?"
    for f in ptbxl_database.csv scp_statements.csv simulation.json persons/1.json persons/4.json \
             records100/00000/00001_lr.hea records100/00000/00001_lr.dat records100/00000/00012_lr.dat; do
      [ -s "$work/a/$f" ] || fail "missing $f"
    done
    [ "$(wc -l < "$work/a/ptbxl_database.csv")" -eq 13 ] || fail "expected 12 rows"
    head -1 "$work/a/ptbxl_database.csv" | grep -q '^ecg_id,patient_id,age,sex,' || fail "header"
    head -1 "$work/a/ptbxl_database.csv" | grep -q 'scp_codes' || fail "no scp_codes"
    grep -q "\"{'NORM': 100.0, 'SR': 0.0}\"" "$work/a/ptbxl_database.csv" || fail "scp_codes dict"
    grep -q '^SR,sinus rhythm,' "$work/a/scp_statements.csv" || fail "SR statement row"
    # 100 Hz x 3 s x 12 leads x 2 bytes
    [ "$(stat -c %s "$work/a/records100/00000/00001_lr.dat")" -eq 7200 ] || fail ".dat size"
    ;;
  cohort_deterministic)
    small_cohort "$work/a" 7 || fail "first run"
    small_cohort "$work/b" 7 || fail "second run"
    small_cohort "$work/c" 8 || fail "third run"
    diff -r "$work/a" "$work/b" > /dev/null || fail "same seed gave different files"
    cmp -s "$work/a/records100/00000/00002_lr.dat" "$work/c/records100/00000/00002_lr.dat" \
      && fail "another seed gave the same record"
    ;;
  twin)
    "$bin" -q simulate --twin-of 2 --seed 5 --condition "afib+lbbb" --hr 90 --fs 250 --seconds 4 \
      --out "$work/twin.hea" || fail "twin from an id"
    [ -s "$work/twin.hea" ] && [ -s "$work/twin.dat" ] && [ -s "$work/twin.json" ] || fail "twin files"
    [ "$(stat -c %s "$work/twin.dat")" -eq 24000 ] || fail "twin .dat size"
    grep -q '"target_heart_rate": 90' "$work/twin.json" || fail "twin rate"
    # The same person from the cohort's JSON gives the same twin as the id and seed.
    small_cohort "$work/cohort" 5 || fail "cohort"
    "$bin" -q simulate --twin-of "$work/cohort/persons/2.json" --condition "afib+lbbb" --hr 90 \
      --fs 250 --seconds 4 --seed 5 --out "$work/again.csv" || fail "twin from json"
    "$bin" -q simulate --twin-of 2 --seed 5 --condition "afib+lbbb" --hr 90 --fs 250 --seconds 4 \
      --out "$work/direct.csv" || fail "twin csv"
    cmp -s "$work/again.csv" "$work/direct.csv" || fail "json and id twins differ"
    [ "$(wc -l < "$work/direct.csv")" -eq 1001 ] || fail "csv rows"
    ;;
  bad_input)
    "$bin" -q simulate --twin-of 1 --condition "afib+1avb" --out "$work/x.hea" 2> "$work/err"
    [ $? -eq 2 ] || fail "incompatible condition: expected exit 2"
    grep -q "1avb" "$work/err" || fail "message does not name the condition"
    [ -e "$work/x.hea" ] || [ -e "$work/x.json" ] && fail "output left behind"
    "$bin" -q simulate --twin-of 1 --condition brady --hr 80 --out "$work/y.hea"
    [ $? -eq 2 ] || fail "rate outside the rhythm: expected exit 2"
    [ -e "$work/y.hea" ] && fail "output left behind"
    "$bin" -q simulate --patients 2 --conditions afib,nonsense --out "$work/cohort"
    [ $? -eq 2 ] || fail "unknown condition: expected exit 2"
    [ -e "$work/cohort" ] && fail "cohort folder left behind"
    mkdir -p "$work/full" && touch "$work/full/keep"
    "$bin" -q simulate --patients 2 --out "$work/full"
    [ $? -eq 2 ] || fail "non-empty --out: expected exit 2"
    [ "$(ls "$work/full")" = "keep" ] || fail "non-empty --out was touched"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
