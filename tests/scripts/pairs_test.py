#!/usr/bin/env python3
"""scripts/pairs.py on a constructed pairs.jsonl and cohort table: counts by the reference's
statements, the lost pairs by the target's heart rate, the pairs that differ between two
evaluations, the spread over several, and exit 2 on bad input."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pairs.py"


def pair(number, reference, wins, own=0.05, other=0.06):
    return {"pair": number, "patient": "7", "reference": reference, "target": "9",
            "statements": ["sinus rhythm"],
            "ground_truth": {"twin": {"wins": wins, "own_mv": own, "nearest_other_mv": other}}}


def write_eval(directory, rows):
    directory.mkdir(parents=True)
    (directory / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True)


class PairsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        cohort = self.root / "cohort"
        cohort.mkdir()
        (cohort / "ptbxl_database.csv").write_text(
            "ecg_id,patient_id,scp_codes,heart_rate\n"
            "1,7,\"{'NORM': 100.0, 'SR': 0.0}\",61.0\n"
            "2,7,\"{'SR': 0.0, 'CLBBB': 100.0}\",64.0\n"
            "3,7,\"{'STACH': 0.0, 'LVOLT': 0.0}\",139.4\n"
            "9,7,\"{'STACH': 0.0}\",120.0\n")
        write_eval(self.root / "a", [pair(0, "1", True), pair(1, "1", False), pair(2, "2", False),
                                     pair(3, "3", True, 0.04, 0.05)])
        write_eval(self.root / "b", [pair(0, "1", True), pair(1, "1", True, 0.03, 0.04),
                                     pair(2, "2", False), pair(3, "3", False, 0.07, 0.05)])

    def tearDown(self):
        self.tmp.cleanup()

    def test_by_reference_counts_each_references_statements(self):
        out = run("by-reference", self.root / "a", self.root / "cohort")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("| NORM | 1 | 2 | 0.50 |", out.stdout)
        self.assertIn("| CLBBB | 0 | 1 | 0.00 |", out.stdout)
        self.assertIn("| LVOLT,STACH | 1 | 1 | 1.00 |", out.stdout)
        self.assertIn("normal references: 1 of 2 won (0.500)", out.stdout)
        self.assertIn("other references: 1 of 2 won (0.500)", out.stdout)

    def test_compare_lists_the_pairs_that_changed(self):
        out = run("compare", self.root / "a", self.root / "b")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("2 of 4 won", out.stdout)
        lines = [l for l in out.stdout.splitlines() if l.startswith("| 1 ") or l.startswith("| 3 ")]
        self.assertEqual(len(lines), 2)
        self.assertIn("0.030 / 0.040 | yes", lines[0])
        self.assertIn("0.070 / 0.050 | no", lines[1])
        self.assertNotIn("| 0 |", out.stdout)
        self.assertNotIn("| 2 |", out.stdout)

    def test_losses_lists_each_lost_pair_and_counts_them_by_the_targets_rate(self):
        rows = [pair(0, "1", True), pair(1, "3", False, 0.05, 0.04),
                dict(pair(2, "2", False, 0.09, 0.08), target="1", transferred=True,
                     twin_hr_bpm=66.0),
                dict(pair(3, "1", False, 0.07, 0.06), transferred=False, twin_hr_bpm=131.0)]
        write_eval(self.root / "d", rows)
        out = run("losses", self.root / "d", self.root / "cohort")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("3 of 4 pairs lost", out.stdout)
        self.assertIn("| 2 | 7 | CLBBB (64) | NORM (61) | 66 | yes | 0.090 / 0.080 |", out.stdout)
        self.assertIn("| 3 | 7 | NORM (61) | STACH (120) | 131 | no | 0.070 / 0.060 |", out.stdout)
        self.assertIn("| 1 | 7 | LVOLT,STACH (139) | STACH (120) | nan | - |", out.stdout)
        self.assertNotIn("| 0 |", out.stdout)
        self.assertIn("target at or above 100 bpm: 2 of 3 pairs lost", out.stdout)
        self.assertIn("target below 100 bpm: 1 of 1 pairs lost", out.stdout)
        self.assertIn("transfer applied: no: 1 of 1 pairs lost", out.stdout)
        self.assertIn("transfer applied: yes: 1 of 1 pairs lost", out.stdout)
        self.assertIn("transfer applied: -: 1 of 2 pairs lost", out.stdout)
        out = run("losses", self.root / "d", self.root / "cohort", "--fast-bpm", "125")
        self.assertNotIn("at or above", out.stdout)
        self.assertIn("target below 125 bpm: 3 of 4 pairs lost", out.stdout)

    def test_seeds_gives_the_spread_and_the_pairs_that_change(self):
        write_eval(self.root / "c", [pair(0, "1", True), pair(1, "1", True), pair(2, "2", True),
                                     pair(3, "3", True)])
        out = run("seeds", self.root / "a", self.root / "b", self.root / "c")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("/a | 2 | 4 | 0.500 |", out.stdout)
        self.assertIn("/c | 4 | 4 | 1.000 |", out.stdout)
        # Win rates 0.5, 0.5, 1.0: mean 2/3, sample standard deviation sqrt(1/12) = 0.2887.
        self.assertIn("mean win rate 0.667, standard deviation 0.289 over 3 evaluations "
                      "(standard error of the mean 0.167)", out.stdout)
        self.assertIn("pairs won in every evaluation: 1; in some: 3; in none: 0", out.stdout)
        self.assertIn("| 1 | 7 | sinus rhythm | 2 of 3 |", out.stdout)
        self.assertIn("| 2 | 7 | sinus rhythm | 1 of 3 |", out.stdout)
        self.assertIn("| 3 | 7 | sinus rhythm | 2 of 3 |", out.stdout)
        self.assertNotIn("| 0 | 7", out.stdout)
        out = run("seeds", self.root / "a")
        self.assertEqual(out.returncode, 2)
        self.assertIn("at least two", out.stderr)

    def test_rates_gives_each_evaluations_heart_rate_error_and_their_mean(self):
        def rated(number, target, twin):
            return {"pair": number, "target_hr_bpm": target, "twin_hr_bpm": twin}
        # Errors +2, -4, +30 and one twin without a detected rate: MAE 12, median 4, signed +28/3.
        write_eval(self.root / "r1", [rated(0, 60.0, 62.0), rated(1, 80.0, 76.0),
                                      rated(2, 139.4, 169.4), rated(3, 70.0, None)])
        # Errors +1 and -3: MAE 2, median 2 (the mean of the middle two), signed -1.
        write_eval(self.root / "r2", [rated(0, 60.0, 61.0), rated(1, 80.0, 77.0)])
        out = run("rates", self.root / "r1", self.root / "r2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("/r1 | 3 of 4 | 12.00 | 4.00 | +9.33 | 139 -> 169 |", out.stdout)
        self.assertIn("/r2 | 2 of 2 | 2.00 | 2.00 | -1.00 | none |", out.stdout)
        self.assertIn("mean over 2 evaluations: MAE 7.00, median error 3.00, signed error +4.17 bpm",
                      out.stdout)
        out = run("rates", self.root / "r1", "--far-bpm", "3")
        self.assertIn("| 80 -> 76, 139 -> 169 |", out.stdout)
        self.assertNotIn("mean over", out.stdout)
        write_eval(self.root / "r3", [rated(0, 60.0, None)])
        out = run("rates", self.root / "r3")
        self.assertEqual(out.returncode, 2)
        self.assertIn("no pair has both", out.stderr)
        out = run("rates", self.root / "r1", self.root / "missing")
        self.assertEqual(out.returncode, 2)
        self.assertIn("missing/pairs.jsonl", out.stderr)
        self.assertEqual(out.stdout, "")  # nothing printed before the bad folder was found
        out = run("rates", self.root / "r1", self.root / "r3")
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stdout, "")

    def test_bad_input_exits_2_naming_the_file(self):
        out = run("compare", self.root / "a", self.root / "missing")
        self.assertEqual(out.returncode, 2)
        self.assertIn("missing/pairs.jsonl", out.stderr)
        out = run("by-reference", self.root / "a", self.root / "a")
        self.assertEqual(out.returncode, 2)
        self.assertIn("ptbxl_database.csv", out.stderr)
        write_eval(self.root / "e", [dict(pair(0, "1", False), target="5")])
        out = run("losses", self.root / "e", self.root / "cohort")
        self.assertEqual(out.returncode, 2)
        self.assertIn("has no record 5 (pair 0's target)", out.stderr)
        write_eval(self.root / "c", [pair(0, "1", True)])
        out = run("compare", self.root / "a", self.root / "c")
        self.assertEqual(out.returncode, 2)
        self.assertIn("the same pairs", out.stderr)
        out = run("seeds", self.root / "a", self.root / "b", self.root / "c")
        self.assertEqual(out.returncode, 2)
        self.assertIn("the same pairs", out.stderr)


if __name__ == "__main__":
    unittest.main()
