#!/usr/bin/env python3
"""Reads the pairs.jsonl that `ecgtwin evaluate --ground-truth` writes.

  scripts/pairs.py by-reference EVAL_DIR COHORT_DIR
      the twins' ground-truth win rate by the reference record's statements (read from
      COHORT_DIR/ptbxl_database.csv, the simulated cohort's table), sinus rhythm and
      normal ECG aside.
  scripts/pairs.py compare EVAL_A EVAL_B
      the pairs whose twin wins in one evaluation and loses in the other, with each
      twin's distance to its own ground truth and to the nearest other person's (mV).

Only the Python standard library is used.
"""
import argparse
import ast
import collections
import csv
import json
import sys
from pathlib import Path


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_pairs(directory):
    path = Path(directory) / "pairs.jsonl"
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{path}: expected the pairs.jsonl of an evaluate run with --ground-truth ({error})")
    if not rows or "ground_truth" not in rows[0]:
        fail(f"{path}: has no ground-truth scores (evaluate ran without --ground-truth)")
    return {row["pair"]: row for row in rows}


def wins(row):
    return bool(row["ground_truth"]["twin"]["wins"])


def by_reference(args):
    pairs = read_pairs(args.eval_dir)
    table = Path(args.cohort_dir) / "ptbxl_database.csv"
    try:
        with open(table, newline="") as f:
            codes = {r["ecg_id"]: ast.literal_eval(r["scp_codes"]) for r in csv.DictReader(f)}
    except (OSError, KeyError, ValueError, SyntaxError) as error:
        fail(f"{table}: expected the simulated cohort's table with ecg_id and scp_codes ({error})")
    counts = collections.defaultdict(lambda: [0, 0])
    for row in pairs.values():
        if row["reference"] not in codes:
            fail(f"{table}: has no record {row['reference']} (pair {row['pair']}'s reference)")
        own = sorted(c for c in codes[row["reference"]] if c not in ("SR", "NORM")) or ["NORM"]
        key = ",".join(own)
        counts[key][0] += wins(row)
        counts[key][1] += 1
    print("| reference's statements | twins won | pairs | win rate |")
    print("|---|---:|---:|---:|")
    for key, (won, n) in sorted(counts.items(), key=lambda kv: (-kv[1][1], kv[0])):
        print(f"| {key} | {won} | {n} | {won / n:.2f} |")
    normal = counts.get("NORM", [0, 0])
    other = [sum(v[0] for k, v in counts.items() if k != "NORM"),
             sum(v[1] for k, v in counts.items() if k != "NORM")]
    for name, (won, n) in (("normal references", normal), ("other references", other)):
        if n:
            print(f"{name}: {won} of {n} won ({won / n:.3f})")


def compare(args):
    a, b = read_pairs(args.eval_a), read_pairs(args.eval_b)
    if set(a) != set(b):
        fail(f"{args.eval_a} and {args.eval_b}: expected evaluations of the same pairs")
    won_a = sum(map(wins, a.values()))
    won_b = sum(map(wins, b.values()))
    print(f"A {args.eval_a}: {won_a} of {len(a)} won; B {args.eval_b}: {won_b} of {len(b)} won")
    print("| pair | person | target | A own / nearest other (mV) | B own / nearest other (mV) | B wins |")
    print("|---:|---|---|---|---|---|")
    for p in sorted(a):
        ta, tb = a[p]["ground_truth"]["twin"], b[p]["ground_truth"]["twin"]
        if ta["wins"] == tb["wins"]:
            continue
        print(f"| {p} | {a[p]['patient']} | {'; '.join(a[p]['statements'])} | "
              f"{ta['own_mv']:.3f} / {ta['nearest_other_mv']:.3f} | "
              f"{tb['own_mv']:.3f} / {tb['nearest_other_mv']:.3f} | {'yes' if tb['wins'] else 'no'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("by-reference", help="win rate by the reference's statements")
    p.add_argument("eval_dir")
    p.add_argument("cohort_dir")
    p.set_defaults(run=by_reference)
    p = sub.add_parser("compare", help="pairs won in one evaluation and lost in the other")
    p.add_argument("eval_a")
    p.add_argument("eval_b")
    p.set_defaults(run=compare)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
