#!/usr/bin/env python3
"""Reads the pairs.jsonl that `ecgtwin evaluate --ground-truth` writes.

  scripts/pairs.py by-reference EVAL_DIR COHORT_DIR
      the twins' ground-truth win rate by the reference record's statements (read from
      COHORT_DIR/ptbxl_database.csv, the simulated cohort's table), sinus rhythm and
      normal ECG aside.
  scripts/pairs.py losses EVAL_DIR COHORT_DIR [--fast-bpm 100]
      every pair whose twin loses, with the reference's and the target's condition and heart
      rate (from the cohort's table), the twin's measured heart rate, whether the transfer
      changed it and its distances; then the lost pairs counted by the target's rate (at or
      above --fast-bpm, or below) and by whether the transfer was applied.
  scripts/pairs.py compare EVAL_A EVAL_B
      the pairs whose twin wins in one evaluation and loses in the other, with each
      twin's distance to its own ground truth and to the nearest other person's (mV).
  scripts/pairs.py seeds EVAL_DIR EVAL_DIR [EVAL_DIR ...]
      several evaluations of the same pairs (one setting under different --seed, say): each
      one's win rate, their mean, standard deviation and the mean's standard error, and how
      many pairs are won in every evaluation, in some and in none, with the pairs that
      change listed; a difference between two settings smaller than the spread here is
      within the draw.
  scripts/pairs.py rates EVAL_DIR [EVAL_DIR ...] [--far-bpm 25]
      the twins' heart rate against the target's, per evaluation: the mean absolute error
      (evaluate's hr_mae_bpm), the median absolute error, the mean signed error (above 0:
      twins too fast) and the twins more than --far-bpm off, with their rates; then the
      mean of each over the evaluations. Needs no ground truth.

Only the Python standard library is used.
"""
import argparse
import ast
import collections
import csv
import json
import statistics
import sys
from pathlib import Path


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_lines(directory, expected):
    """The rows of an evaluation's pairs.jsonl, and its path; exit 2 naming it if unreadable."""
    path = Path(directory) / "pairs.jsonl"
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()], path
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{path}: expected {expected} ({error})")


def read_pairs(directory):
    rows, path = read_lines(directory, "the pairs.jsonl of an evaluate run with --ground-truth")
    if not rows or "ground_truth" not in rows[0]:
        fail(f"{path}: has no ground-truth scores (evaluate ran without --ground-truth)")
    return {row["pair"]: row for row in rows}


def read_rows(directory):
    """Every line of an evaluation's pairs.jsonl, with or without ground truth."""
    rows, path = read_lines(directory, "the pairs.jsonl of an evaluate run")
    if not rows or "target_hr_bpm" not in rows[0]:
        fail(f"{path}: expected rows with target_hr_bpm and twin_hr_bpm")
    return rows


def read_same_pairs(directories):
    """The pairs of several evaluations, which must hold the same pairs."""
    evals = [read_pairs(d) for d in directories]
    for directory, pairs in zip(directories[1:], evals[1:]):
        if set(pairs) != set(evals[0]):
            fail(f"{directories[0]} and {directory}: expected evaluations of the same pairs")
    return evals


def wins(row):
    return bool(row["ground_truth"]["twin"]["wins"])


def read_cohort(directory, columns):
    """The cohort table's rows by ecg_id, with `columns` (scp_codes parsed, heart_rate a float)."""
    table = Path(directory) / "ptbxl_database.csv"
    try:
        with open(table, newline="") as f:
            rows = {}
            for r in csv.DictReader(f):
                row = {c: r[c] for c in columns}
                if "scp_codes" in row:
                    row["scp_codes"] = ast.literal_eval(row["scp_codes"])
                if "heart_rate" in row:
                    row["heart_rate"] = float(row["heart_rate"])
                rows[r["ecg_id"]] = row
    except (OSError, KeyError, ValueError, SyntaxError) as error:
        fail(f"{table}: expected the simulated cohort's table with ecg_id and "
             f"{', '.join(columns)} ({error})")
    rows["__table__"] = table
    return rows


def record(cohort, row, which):
    """The cohort's row of a pair's `which` record ("reference" or "target")."""
    if row[which] not in cohort:
        fail(f"{cohort['__table__']}: has no record {row[which]} (pair {row['pair']}'s {which})")
    return cohort[row[which]]


def statements(codes):
    """A record's statement codes, sinus rhythm and normal ECG aside ("NORM" if none other)."""
    return ",".join(sorted(c for c in codes if c not in ("SR", "NORM"))) or "NORM"


def applied(row):
    """Whether the transfer changed a pair's twin: yes, no, or - where evaluate did not say."""
    transferred = row.get("transferred")
    return "-" if transferred is None else ("yes" if transferred else "no")


def losses(args):
    pairs = read_pairs(args.eval_dir)
    cohort = read_cohort(args.cohort_dir, ("scp_codes", "heart_rate"))
    lost = [row for _, row in sorted(pairs.items()) if not wins(row)]
    print(f"{len(lost)} of {len(pairs)} pairs lost")
    print("| pair | person | reference (bpm) | target (bpm) | twin (bpm) | transferred | "
          "own / nearest other (mV) |")
    print("|---:|---|---|---|---:|---|---|")
    # [lost, pairs] of each group: the target's rate, and whether the transfer changed the twin.
    counts = collections.defaultdict(lambda: [0, 0])
    for row in pairs.values():
        fast = record(cohort, row, "target")["heart_rate"] >= args.fast_bpm
        for key in (f"target at or above {args.fast_bpm:g} bpm" if fast
                    else f"target below {args.fast_bpm:g} bpm",
                    f"transfer applied: {applied(row)}"):
            counts[key][0] += not wins(row)
            counts[key][1] += 1
    for row in lost:
        reference, target = record(cohort, row, "reference"), record(cohort, row, "target")
        twin = row["ground_truth"]["twin"]
        print(f"| {row['pair']} | {row['patient']} | {statements(reference['scp_codes'])} "
              f"({reference['heart_rate']:.0f}) | {statements(target['scp_codes'])} "
              f"({target['heart_rate']:.0f}) | {row.get('twin_hr_bpm', float('nan')):.0f} | "
              f"{applied(row)} | {twin['own_mv']:.3f} / {twin['nearest_other_mv']:.3f} |")
    for key in sorted(counts):
        lost_here, n = counts[key]
        print(f"{key}: {lost_here} of {n} pairs lost")


def by_reference(args):
    pairs = read_pairs(args.eval_dir)
    codes = read_cohort(args.cohort_dir, ("scp_codes",))
    counts = collections.defaultdict(lambda: [0, 0])
    for row in pairs.values():
        key = statements(record(codes, row, "reference")["scp_codes"])
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
    a, b = read_same_pairs([args.eval_a, args.eval_b])
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


def seeds(args):
    if len(args.eval_dirs) < 2:
        fail("seeds: expected at least two evaluation folders")
    evals = read_same_pairs(args.eval_dirs)
    print("| evaluation | won | pairs | win rate |")
    print("|---|---:|---:|---:|")
    rates = []
    for directory, pairs in zip(args.eval_dirs, evals):
        won = sum(map(wins, pairs.values()))
        rates.append(won / len(pairs))
        print(f"| {directory} | {won} | {len(pairs)} | {rates[-1]:.3f} |")
    mean = sum(rates) / len(rates)
    sd = (sum((r - mean) ** 2 for r in rates) / (len(rates) - 1)) ** 0.5
    print(f"mean win rate {mean:.3f}, standard deviation {sd:.3f} over {len(rates)} evaluations "
          f"(standard error of the mean {sd / len(rates) ** 0.5:.3f})")
    count = {p: sum(wins(e[p]) for e in evals) for p in evals[0]}
    every = sum(c == len(evals) for c in count.values())
    none = sum(c == 0 for c in count.values())
    print(f"pairs won in every evaluation: {every}; in some: {len(count) - every - none}; "
          f"in none: {none}")
    print("| pair | person | target | won in |")
    print("|---:|---|---|---:|")
    for p in sorted(count):
        if 0 < count[p] < len(evals):
            row = evals[0][p]
            print(f"| {p} | {row['patient']} | {'; '.join(row['statements'])} | "
                  f"{count[p]} of {len(evals)} |")


def rates(args):
    evals = [read_rows(d) for d in args.eval_dirs]  # every folder read before anything is printed
    lines, summaries = [], []
    for directory, rows in zip(args.eval_dirs, evals):
        measured = [(r["target_hr_bpm"], r["twin_hr_bpm"]) for r in rows
                    if r.get("target_hr_bpm") is not None and r.get("twin_hr_bpm") is not None]
        if not measured:
            fail(f"{directory}: no pair has both a target and a measured heart rate")
        errors = [twin - target for target, twin in measured]
        absolute = [abs(e) for e in errors]
        summary = (sum(absolute) / len(absolute), statistics.median(absolute), sum(errors) / len(errors))
        summaries.append(summary)
        far = ", ".join(f"{target:.0f} -> {twin:.0f}" for target, twin in measured
                        if abs(twin - target) > args.far_bpm)
        lines.append(f"| {directory} | {len(measured)} of {len(rows)} | {summary[0]:.2f} | "
                     f"{summary[1]:.2f} | {summary[2]:+.2f} | {far or 'none'} |")
    print("| evaluation | rates measured | MAE (bpm) | median error (bpm) | mean signed error (bpm) "
          f"| more than {args.far_bpm:g} bpm off (target -> twin) |")
    print("|---|---:|---:|---:|---:|---|")
    print("\n".join(lines))
    if len(summaries) > 1:
        means = [sum(s[k] for s in summaries) / len(summaries) for k in range(3)]
        print(f"mean over {len(summaries)} evaluations: MAE {means[0]:.2f}, median error "
              f"{means[1]:.2f}, signed error {means[2]:+.2f} bpm")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("by-reference", help="win rate by the reference's statements")
    p.add_argument("eval_dir")
    p.add_argument("cohort_dir")
    p.set_defaults(run=by_reference)
    p = sub.add_parser("losses", help="the lost pairs with their conditions and heart rates")
    p.add_argument("eval_dir")
    p.add_argument("cohort_dir")
    p.add_argument("--fast-bpm", type=float, default=100.0,
                   help="target heart rate from which a pair counts as fast (default: 100)")
    p.set_defaults(run=losses)
    p = sub.add_parser("compare", help="pairs won in one evaluation and lost in the other")
    p.add_argument("eval_a")
    p.add_argument("eval_b")
    p.set_defaults(run=compare)
    p = sub.add_parser("seeds", help="the spread of the win rate over evaluations of the same pairs")
    p.add_argument("eval_dirs", nargs="+")
    p.set_defaults(run=seeds)
    p = sub.add_parser("rates", help="the twins' heart-rate error, per evaluation and on average")
    p.add_argument("eval_dirs", nargs="+")
    p.add_argument("--far-bpm", type=float, default=25.0,
                   help="list the twins more than this many bpm off their target (default: 25)")
    p.set_defaults(run=rates)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
