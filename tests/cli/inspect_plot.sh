#!/usr/bin/env bash
# Program-level checks of `ecgtwin inspect` and `ecgtwin plot`.
# Usage: inspect_plot.sh CASE ECGTWIN_BIN SHARED_DATA OUT_DIR
set -u
case_name=$1 bin=$2 data=$3 out=$4
record=$data/ptbxl-500/records100/00000/00001_lr
mkdir -p "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }

# A float32 [12 x 1000] NPY header (NPY 1.0: 118-byte header, data at offset 128) followed by
# only 100 of the 48000 data bytes.
truncated_npy() {
  local hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (12, 1000), }"
  { printf '\x93NUMPY\x01\x00\x76\x00'; printf '%s' "$hdr"; printf '%*s' $((117 - ${#hdr})) '';
    printf '\n'; head -c 100 /dev/zero; } > "$1"
}

case $case_name in
  inspect_json)
    json=$("$bin" inspect "$record" --json) || fail "exit code $?"
    grep -q '"samples": 1000' <<<"$json" || fail "samples: $json"
    grep -Eq '"sampling_rate": 100(\.0)?,' <<<"$json" || fail "rate: $json"
    grep -q '"checksums": "verified"' <<<"$json" || fail "checksums: $json"
    grep -q '"lead": "aVR"' <<<"$json" || fail "lead names: $json"
    # PTB-XL's device derives the limb leads: what is left is the rounding to 1 uV.
    grep -Eq '"limb_lead_residual_mv": 0\.000[0-9]+,' <<<"$json" || fail "limb-lead residual: $json"
    ;;
  inspect_text)
    text=$("$bin" inspect "$record" "$data/ptbxl-500/records500/00000/00001_hr") || fail "exit code $?"
    [ "$(grep -c 'leads       12: I II III aVR aVL aVF V1 V2 V3 V4 V5 V6' <<<"$text")" = 2 ] || fail "$text"
    grep -q '100 Hz, 1000 samples, 10 s' <<<"$text" || fail "$text"
    grep -q '500 Hz, 5000 samples, 10 s' <<<"$text" || fail "$text"
    [ "$(grep -c "limb leads  0.000[0-9] mV from Einthoven's and Goldberger's relations" <<<"$text")" = 2 ] \
      || fail "limb-lead residual: $text"
    ;;
  inspect_heart_rate)
    # PTB-XL: ecg 2 is "sinus bradycardia" (below 60 bpm), ecg 263 "sinus tachycardia" (above
    # 100 bpm) in ptbxl_database.csv.
    rate_of() {
      "$bin" inspect "$1" --json | sed -n 's/^ *"heart_rate_bpm": \([0-9.]*\),\{0,1\}$/\1/p'
    }
    slow=$(rate_of "$data/ptbxl-500/records500/00000/00002_hr")
    fast=$(rate_of "$data/ptbxl-500/records500/00000/00263_hr")
    awk -v r="$slow" 'BEGIN { exit !(r >= 35 && r < 60) }' || fail "ecg 2 rate '$slow'"
    awk -v r="$fast" 'BEGIN { exit !(r > 100 && r < 160) }' || fail "ecg 263 rate '$fast'"
    "$bin" inspect "$data/ptbxl-500/records500/00000/00002_hr" | grep -Eq '^  heart rate  [0-9]+\.[0-9] bpm' \
      || fail "no heart rate in the text output"
    # A simulated twin: the rate the simulator rendered (its JSON) within 2 bpm.
    "$bin" -q simulate --twin-of 3 --seed 2 --condition sinus --hr 84 --fs 500 --seconds 10 \
      --out "$out/twin.hea" || fail "simulate exit code $?"
    truth=$(sed -n 's/^  "heart_rate": \([0-9.]*\),\{0,1\}$/\1/p' "$out/twin.json")
    measured=$(rate_of "$out/twin.hea")
    awk -v a="$truth" -v b="$measured" 'BEGIN { d = a - b; exit !(a > 0 && d < 2 && d > -2) }' \
      || fail "twin rate: simulated '$truth', measured '$measured'"
    ;;
  inspect_partial_failure)
    truncated_npy "$out/truncated.npy"
    json=$("$bin" inspect "$out/missing.hea" "$record" "$out/truncated.npy" --fs 100 --json)
    rc=$?
    [ $rc = 2 ] || fail "exit code $rc, expected 2"
    grep -q '"samples": 1000' <<<"$json" || fail "the readable record was not inspected: $json"
    [ "$(grep -c '"error"' <<<"$json")" = 2 ] || fail "two errors expected: $json"
    grep -q 'truncated NPY data' <<<"$json" || fail "$json"
    ;;
  plot_formats)
    rm -f "$out"/00001.png "$out"/00001.svg "$out"/00001.pdf
    "$bin" plot "$record" -o "$out/00001.png" --dpi 100 || fail "png exit code $?"
    "$bin" plot "$record" -o "$out/00001.svg" --overlay "$data/ptbxl-500/records500/00000/00001_hr" \
      || fail "svg exit code $?"
    "$bin" plot "$record" -o "$out/00001.pdf" || fail "pdf exit code $?"
    [ "$(head -c 8 "$out/00001.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "PNG signature"
    head -c 200 "$out/00001.svg" | grep -q '<svg' || fail "SVG"
    [ "$(head -c 5 "$out/00001.pdf")" = "%PDF-" ] || fail "PDF signature"
    [ "$(stat -c %s "$out/00001.png")" -gt 20000 ] || fail "PNG too small"
    ;;
  plot_bad_input)
    truncated_npy "$out/truncated.npy"
    for input in "$out/missing.hea" "$out/truncated.npy"; do
      rm -f "$out/bad.png"
      "$bin" plot "$input" --fs 100 -o "$out/bad.png" 2>"$out/stderr.txt"
      rc=$?
      [ $rc = 2 ] || fail "$input: exit code $rc, expected 2"
      [ ! -e "$out/bad.png" ] || fail "$input: output file left behind"
      grep -q "$(basename "$input")" "$out/stderr.txt" || fail "message does not name the file"
    done
    "$bin" plot "$record" -o "$out/bad.jpg"
    rc=$?
    [ $rc = 2 ] || fail "bad extension: exit code $rc"
    [ ! -e "$out/bad.jpg" ] || fail "bad extension: output left behind"
    ls "$out" | grep -q 'tmp' && fail "temporary file left behind"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok $case_name"
