#!/usr/bin/env bash
# ecgtwin convert refuses every malformed record of wfdb-conformance/bad with exit code 2,
# a message naming the file and the problem, and no output file; the control record converts.
set -u
bin=$1 data=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
bad=$data/wfdb-conformance/bad
[ -d "$bad" ] || { echo "needs $bad (../shared/data); skipped"; exit 0; }
fail=0
for hea in "$bad"/bad_*.hea; do
  name=$(basename "$hea" .hea)
  "$bin" -q convert "$bad/$name" --to csv -o "$out/$name.csv" 2>"$out/$name.err"
  rc=$?
  if [ $rc -ne 2 ]; then echo "FAIL $name: exit code $rc, expected 2"; fail=1; fi
  if [ -e "$out/$name.csv" ]; then echo "FAIL $name: output file left behind"; fail=1; fi
  if ! grep -q "$name" "$out/$name.err"; then echo "FAIL $name: message does not name the file: $(cat "$out/$name.err")"; fail=1; fi
  ls "$out" | grep -q "tmp" && { echo "FAIL $name: temporary file left"; fail=1; }
  echo "ok $name: $(cat "$out/$name.err")"
done
"$bin" -q convert "$bad/ok_control" --units digital -o "$out/ok.csv" || { echo "FAIL ok_control did not convert"; fail=1; }
expected=$(awk '{print $1","$2}' "$bad/ok_control.expected.txt")
if [ "$(cat "$out/ok.csv")" != "$expected" ]; then echo "FAIL ok_control values differ"; fail=1; fi
# The format follows the output's name; a --to that contradicts it is refused, nothing written.
"$bin" -q convert "$bad/ok_control" -o "$out/ok.npy" || { echo "FAIL ok_control did not convert to NPY"; fail=1; }
[ "$(head -c 6 "$out/ok.npy" | tail -c 5)" = "NUMPY" ] || { echo "FAIL ok.npy is not an NPY file"; fail=1; }
"$bin" -q convert "$bad/ok_control" --to csv -o "$out/wrong.npy" 2>"$out/wrong.err"
[ $? -eq 2 ] || { echo "FAIL --to csv -o wrong.npy must exit 2"; fail=1; }
[ -e "$out/wrong.npy" ] && { echo "FAIL --to csv -o wrong.npy left a file"; fail=1; }
grep -q -- "--to" "$out/wrong.err" || { echo "FAIL the message does not name --to: $(cat "$out/wrong.err")"; fail=1; }
"$bin" -q convert "$bad/ok_control" --channels 5 -o "$out/ch.csv" 2>/dev/null
[ $? -eq 2 ] || { echo "FAIL a channel that does not exist must exit 2"; fail=1; }
exit $fail
