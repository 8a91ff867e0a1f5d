#!/usr/bin/env python3
"""Decode + resample throughput: `ser` against `librosa.load`, measured in the same run.

Not part of CI. Needs `pip install librosa` and a release build of ser-bench
(the script builds it). Usage:

    python3 benchmarks/audio_load.py [--sample-rate 22050] [--repeat 3] [FILE_OR_DIR ...]

Without paths it uses ../shared/corpora/originals plus 200 RAVDESS files.
Both sides run one thread and get one untimed warm-up pass; ser then runs on
all cores as well. The contenders alternate for --rounds rounds and each keeps
its best round, so a noisy neighbour on the machine does not decide the ratio.
"""
import argparse
import json
import os
import subprocess

from common import best_ms_per_item, build_ser_bench, input_files


def librosa_throughput(files, sample_rate, repeats):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import librosa
    audio_seconds = sum(len(librosa.load(path, sr=sample_rate)[0]) for path in files) / sample_rate
    ms = best_ms_per_item(files, lambda path: librosa.load(path, sr=sample_rate), repeats)
    return {"ms_per_file": ms, "files_per_second": 1000 / ms,
            "audio_seconds_per_second": audio_seconds / (ms * len(files) / 1000)}


def ser_throughput(binary, files, sample_rate, repeats, workers):
    out = subprocess.run([binary, "load", "--sample-rate", str(sample_rate), "--repeat", str(repeats),
                          "--workers", str(workers)] + files, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--sample-rate", type=int, default=22050)
    parser.add_argument("--repeat", type=int, default=3, help="passes per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each side counts")
    args = parser.parse_args()
    files = input_files(args.paths)
    binary = build_ser_bench()

    best = lambda runs: min(runs, key=lambda r: r["ms_per_file"])
    rounds = {"librosa": [], "ser1": [], "serN": []}
    for _ in range(args.rounds):
        rounds["librosa"].append(librosa_throughput(files, args.sample_rate, args.repeat))
        rounds["ser1"].append(ser_throughput(binary, files, args.sample_rate, args.repeat, workers=1))
        rounds["serN"].append(ser_throughput(binary, files, args.sample_rate, args.repeat, workers=os.cpu_count() or 1))
    reference, ours, ours_all = best(rounds["librosa"]), best(rounds["ser1"]), best(rounds["serN"])

    print(f"{len(files)} files, decode + resample to {args.sample_rate} Hz, best of {args.rounds} rounds "
          f"of {args.repeat} passes")
    print(f"{'':22}{'ms/file':>10}{'files/s':>10}{'x realtime':>12}")
    for name, r in (("librosa.load (1 thread)", reference), ("ser (1 thread)", ours),
                    (f"ser ({ours_all['workers']} threads)", ours_all)):
        print(f"{name:22}{r['ms_per_file']:10.2f}{r['files_per_second']:10.1f}{r['audio_seconds_per_second']:12.0f}")
    print(f"speed-up, one thread: {reference['ms_per_file'] / ours['ms_per_file']:.1f}x; "
          f"all cores: {reference['ms_per_file'] / ours_all['ms_per_file']:.1f}x")


if __name__ == "__main__":
    main()
