#!/usr/bin/env python3
"""Compares the test metrics of the same experiment trained twice (CPU and
CUDA in scripts/gpu-check.sh): every model's metrics.csv under DIR_A/<exp>
against the one of the same model (`mtl` or `stl:<task>`) under DIR_B/<exp>.

    compare_metrics.py DIR_A DIR_B TOLERANCE

Prints one line per model, task and metric, and exits 1 if any metric
(not the loss, which is printed with its relative difference) differs by
more than TOLERANCE, or if a model finished under one folder only.
"""
import csv
import glob
import os
import sys


def test_metrics(root):
    """{(model, task, metric): value} over every finished run under root."""
    values = {}
    for path in glob.glob(os.path.join(root, "*", "**", "metrics.csv"), recursive=True):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["split"] == "test":
                    values[(row["model"], row["task"], row["metric"])] = float(row["value"])
    return values


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    a_dir, b_dir, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
    a, b = test_metrics(a_dir), test_metrics(b_dir)
    if not a:
        sys.exit(f"error: no finished run (metrics.csv) under {a_dir}")
    worst, failed = 0.0, False
    print(f"{'model':<16} {'task':<10} {'metric':<9} {'A':>9} {'B':>9} {'|A-B|':>9}")
    for key in sorted(a.keys() | b.keys()):
        model, task, metric = key
        if key not in a or key not in b:
            print(f"{model:<16} {task:<10} {metric:<9} finished under one folder only")
            failed = True
            continue
        diff = abs(a[key] - b[key])
        note = ""
        if metric == "loss":
            note = f"  (loss, relative {diff / max(abs(a[key]), 1e-12):.1%}; not checked)"
        else:
            worst = max(worst, diff)
            if diff > tolerance:
                note, failed = f"  > {tolerance}", True
        print(f"{model:<16} {task:<10} {metric:<9} {a[key]:>9.4f} {b[key]:>9.4f} {diff:>9.4f}{note}")
    verdict = "FAIL" if failed else "ok"
    print(f"{verdict}: largest metric difference {worst:.4f} (tolerance {tolerance})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
