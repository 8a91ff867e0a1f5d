"""Sharded batch work on one machine: a simulated scale-up curve, the overhead of
sharding, and a paper estimate for a million files (issue 24).

    python3 benchmarks/shard_scaling.py [--preset functionals] [--predict-sample 200]

Lists the development corpora (RAVDESS, CREMA-D, SAVEE, TESS; not originals/)
with `ser manifest`, then with a release `ser`:
  1. one process: `ser features --manifest M --preset P --no-cache --out one.npy`;
  2. for N in 1, 2, 4: each shard `--shard I/N` run alone on the machine, one
     after the other (each stands for one node of this machine's size), then
     `ser merge`; the merged table is checked byte for byte against one.npy.
     Simulated wall time on N nodes = the slowest shard + the merge.
  3. the per-file cost of `ser predict` with the shipped model on a sample,
     for the million-file estimate.
Prints a Markdown table for docs/RESULTS.md.
"""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import CORPORA, ROOT


def run(arguments):
    started = time.perf_counter()
    result = subprocess.run(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(arguments)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="functionals")
    parser.add_argument("--predict-sample", type=int, default=200)
    parser.add_argument("--shards", default="1,2,4")
    options = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "ser"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ser = os.path.join(ROOT, ".build", "release", "ser")
    work = tempfile.mkdtemp(prefix="ser-shards-")
    try:
        manifest = os.path.join(work, "files.jsonl")
        trees = [os.path.join(CORPORA, name) for name in ("ravdess", "crema-d", "savee", "tess")]
        run([ser, "manifest", *trees, "--out", manifest])
        with open(manifest) as handle:
            files = sum(1 for line in handle if line.strip())
        features = [ser, "features", "--manifest", manifest, "--preset", options.preset, "--no-cache"]

        one = os.path.join(work, "one.npy")
        single = run(features + ["--out", one])
        print(f"{files} files, preset {options.preset}; one process (both cores): {single:.1f} s, {files / single:.1f} files/s")

        rows = []
        for count in [int(n) for n in options.shards.split(",")]:
            out = os.path.join(work, f"sharded-{count}.npy")
            times = [run(features + ["--shard", f"{index}/{count}", "--out", out]) for index in range(count)]
            merge = run([ser, "merge", "--out", out])
            identical = filecmp.cmp(out, one, shallow=False) and filecmp.cmp(out[:-4] + ".json", one[:-4] + ".json", shallow=False)
            wall = max(times) + merge
            rows.append((count, sum(times), max(times), merge, wall, files / wall, sum(times) / single, identical))
            print(f"N={count}: shards {', '.join(f'{t:.1f}' for t in times)} s; merge {merge:.2f} s; identical={identical}")

        print()
        print("| shards (nodes) | slowest shard | merge | simulated wall time | files/s | speed-up | all shards' time ÷ one process | merged = one process |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        print(f"| one process | {single:.1f} s | – | {single:.1f} s | {files / single:.1f} | 1.00× | 1.00 | – |")
        for count, total, slowest, merge, wall, rate, overhead, identical in rows:
            print(f"| {count} | {slowest:.1f} s | {merge:.2f} s | {wall:.1f} s | {rate:.1f} | {single / wall:.2f}× | {overhead:.3f} |"
                  f" {'byte-identical' if identical else 'DIFFERENT'} |")

        if options.predict_sample > 0:
            sample = os.path.join(work, "sample.jsonl")
            with open(manifest) as source, open(sample, "w") as target:
                lines = [line for line in source if line.strip()]
                step = max(1, len(lines) // options.predict_sample)
                target.writelines(lines[::step][: options.predict_sample])
            seconds = run([ser, "predict", "--manifest", sample, "--out", os.path.join(work, "answers.jsonl")])
            per_file = seconds / options.predict_sample
            print()
            print(f"ser predict, shipped model, {options.predict_sample} files spread over the corpora: {seconds:.1f} s,"
                  f" {1000 * per_file:.0f} ms per file on 2 cores (model loading included)")
            for nodes in (1, 10, 100):
                hours = 1e6 * per_file / nodes / 3600
                print(f"  1 M files on {nodes} node(s) of 2 cores: {hours:.1f} h")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
