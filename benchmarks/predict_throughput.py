#!/usr/bin/env python3
"""Throughput and latency of `ser predict` (not run in CI).

Prints files/s and × real time for a folder of recordings predicted in one run
(both cores), the single-file latency including process start (best and median
of 10 runs), and peak memory and time for a one-hour recording made by looping
a corpus file with ffmpeg.

Usage: python3 benchmarks/predict_throughput.py [FOLDER] [--model MODEL]   (default ../shared/corpora/ravdess,
the shipped model)
"""
import json, os, resource, statistics, subprocess, sys, tempfile, time

ser = os.path.join(os.path.dirname(__file__), "..", ".build", "release", "ser")
arguments = sys.argv[1:]
model = []
if "--model" in arguments:
    at = arguments.index("--model")
    model = ["--model", arguments[at + 1]]
    del arguments[at:at + 2]
folder = arguments[0] if arguments else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora", "ravdess")
env = dict(os.environ, CI="1")

one = next(os.path.join(root, name) for root, _, names in os.walk(folder) for name in sorted(names) if not name.startswith("."))

# First, so the peak memory measured is this run's (ru_maxrss of children is a running maximum).
with tempfile.TemporaryDirectory() as tmp:
    long_file = os.path.join(tmp, "hour.flac")
    subprocess.run(["ffmpeg", "-v", "quiet", "-stream_loop", "-1", "-i", one, "-t", "3600", "-ac", "1", long_file], check=True)
    start = time.perf_counter()
    out = subprocess.run([ser, "predict", long_file, "--format", "json"] + model, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout)[0]
    print(f"one-hour file: {len(result.get('segments', []))} segments in {elapsed:.1f} s ({3600 / elapsed:.0f}x real time), "
          f"peak RSS {peak / 1024:.0f} MiB")

start = time.perf_counter()
out = subprocess.run([ser, "predict", folder, "--format", "jsonl"] + model, capture_output=True, text=True, env=env)
elapsed = time.perf_counter() - start
rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
audio = sum(r.get("duration", 0) for r in rows)
print(f"folder: {len(rows)} files, {audio / 60:.1f} min of audio in {elapsed:.1f} s: "
      f"{len(rows) / elapsed:.1f} files/s, {audio / elapsed:.0f}x real time (both cores)")

latencies = []
for _ in range(10):
    start = time.perf_counter()
    subprocess.run([ser, "predict", one, "--format", "jsonl"] + model, capture_output=True, env=env, check=True)
    latencies.append(time.perf_counter() - start)
print(f"single file incl. process start ({os.path.basename(one)}): best {1000 * min(latencies):.0f} ms, "
      f"median {1000 * statistics.median(latencies):.0f} ms")

