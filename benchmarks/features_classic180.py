#!/usr/bin/env python3
"""classic180 feature extraction: `ser` against the seeds' librosa code, in the same run.

Not part of CI. Needs `pip install librosa`; builds ser-bench in release mode.

    python3 benchmarks/features_classic180.py [--sample-rate 22050] [--rounds 3] [FILE_OR_DIR ...]

Without paths: the corpus originals plus 200 RAVDESS files from ../shared/corpora.
The librosa side is the seeds' code path: librosa.load(sr), then mfcc(n_mfcc=40),
chroma_stft(S=|stft|), melspectrogram(), each averaged over frames. Both sides
run one thread (OMP/OpenBLAS/numba limited to one) with an untimed warm-up;
the contenders alternate for --rounds rounds and each keeps its best.
"""
import argparse
import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[variable] = "1"

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from common import best_ms_per_item, build_ser_bench, input_files, seeds_classic180_features  # noqa: E402


def librosa_ms_per_file(files, sample_rate, passes):
    import librosa
    return best_ms_per_item(
        files, lambda path: seeds_classic180_features(librosa.load(path, sr=sample_rate)[0], sample_rate), passes)


def librosa_features_ms_per_file(files, sample_rate, passes):
    import librosa
    signals = [librosa.load(path, sr=sample_rate)[0] for path in files]
    return best_ms_per_item(signals, lambda X: seeds_classic180_features(X, sample_rate), passes)


def ser_ms_per_file(binary, files, sample_rate, passes, workers, preloaded=False):
    out = subprocess.run([binary, "features", "--sample-rate", str(sample_rate), "--repeat", str(passes),
                          "--workers", str(workers)] + (["--preloaded"] if preloaded else []) + files,
                         check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    if report["failures"]:
        sys.exit(f"ser failed on {report['failures']} files")
    return report["ms_per_file"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--sample-rate", type=int, default=22050)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=1, help="timed passes per round")
    args = parser.parse_args()
    files = input_files(args.paths)
    binary = build_ser_bench()

    runs = {key: [] for key in ("librosa", "ser1", "serN", "librosa_features", "ser_features")}
    workers = os.cpu_count() or 1
    for _ in range(args.rounds):
        runs["librosa"].append(librosa_ms_per_file(files, args.sample_rate, args.passes))
        runs["ser1"].append(ser_ms_per_file(binary, files, args.sample_rate, args.passes, 1))
        runs["serN"].append(ser_ms_per_file(binary, files, args.sample_rate, args.passes, workers))
        runs["librosa_features"].append(librosa_features_ms_per_file(files, args.sample_rate, args.passes))
        runs["ser_features"].append(ser_ms_per_file(binary, files, args.sample_rate, args.passes, 1, preloaded=True))
    best = {key: min(values) for key, values in runs.items()}
    print(f"classic180 at {args.sample_rate} Hz, {len(files)} files, best of {args.rounds} rounds")
    print("end to end (decode + resample + features):")
    print(f"  librosa (seeds' code, 1 thread) {best['librosa']:8.2f} ms/file")
    print(f"  ser (1 thread)                  {best['ser1']:8.2f} ms/file   {best['librosa'] / best['ser1']:5.1f}x")
    print(f"  ser ({workers} threads)                 {best['serN']:8.2f} ms/file   {best['librosa'] / best['serN']:5.1f}x")
    print("features only (same decoded samples):")
    print(f"  librosa (1 thread)              {best['librosa_features']:8.2f} ms/file")
    print(f"  ser (1 thread)                  {best['ser_features']:8.2f} ms/file   "
          f"{best['librosa_features'] / best['ser_features']:5.1f}x")


if __name__ == "__main__":
    main()
