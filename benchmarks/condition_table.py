#!/usr/bin/env python3
"""Side-by-side table of `ser train --cv ... --conditions --format json` outputs.

    benchmarks/condition_table.py NAME=run.json [NAME=run.json ...]

Prints one markdown row per recording condition with each run's pooled accuracy
(its change against the same recordings clean in parentheses) and, below, each
run's ECE per condition and its clean per-corpus accuracy.
"""
import json
import sys


def load(argument):
    name, _, path = argument.partition("=")
    with open(path) as handle:
        summary = json.load(handle)
    cv = summary["cross_validation"]
    return name, cv


def main(arguments):
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(a) for a in arguments]
    longest = max((cv.get("conditions", []) for _, cv in runs), key=len)
    conditions = [c["condition"] for c in longest]
    def score(cv, condition):
        return next((c for c in cv.get("conditions", []) if c["condition"] == condition), None)

    def accuracy(condition, s):
        if condition == "clean":
            return f"{100 * s['accuracy']:.1f} %"
        return f"{100 * s['accuracy']:.1f} % ({100 * s['change']:+.1f})"

    def table(title, cell):
        print(f"| {title} | " + " | ".join(name for name, _ in runs) + " |")
        print("|---|" + "---:|" * len(runs))
        for condition in conditions:
            cells = ["" if score(cv, condition) is None else cell(condition, score(cv, condition)) for _, cv in runs]
            print(f"| {condition} | " + " | ".join(cells) + " |")

    table("condition", accuracy)
    print()
    table("ECE", lambda condition, s: f"{s['ece']:.3f}")
    print()
    corpora = sorted({corpus for _, cv in runs for corpus in (cv.get("per_corpus") or {})})
    print("| clean, all recordings | " + " | ".join(name for name, _ in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    print("| pooled | " + " | ".join(f"{100 * cv['pooled']['accuracy']:.1f} % (ECE {cv['pooled'].get('ece', 0):.3f})" for _, cv in runs) + " |")
    for corpus in corpora:
        print(f"| {corpus} | " + " | ".join(
            f"{100 * cv['per_corpus'][corpus]['accuracy']:.1f} %" if corpus in (cv.get("per_corpus") or {}) else "" for _, cv in runs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
