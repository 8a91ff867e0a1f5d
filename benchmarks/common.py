"""Shared pieces of the benchmark and reference scripts (run by hand, not by CI)."""
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = os.path.join(ROOT, "..", "shared", "corpora")


def default_files():
    """The corpus originals plus 200 RAVDESS files."""
    files = sorted(glob.glob(os.path.join(CORPORA, "originals", "*")))
    files += sorted(glob.glob(os.path.join(CORPORA, "ravdess", "Actor_*", "*.flac")))[:200]
    return files


def expand(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(p))
        else:
            files.append(path)
    return files


def input_files(paths):
    """The files named (folders walked), or the default set; exits when there are none."""
    files = expand(paths) if paths else default_files()
    if not files:
        sys.exit("no input files (is ../shared/corpora there?)")
    return files


def build_ser_bench():
    """Builds ser-bench in release mode and returns its path."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "ser-bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, ".build", "release", "ser-bench")


def best_ms_per_item(items, work, passes):
    """Runs `work` on every item once untimed, then `passes` timed passes; the fastest pass in ms per item."""
    for item in items:
        work(item)
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(items)


def seeds_classic180_features(X, sample_rate):
    """The seed projects' vector, exactly as their code computes it from samples."""
    import librosa
    import numpy as np
    mfccs = np.mean(librosa.feature.mfcc(y=X, sr=sample_rate, n_mfcc=40).T, axis=0)
    stft = np.abs(librosa.stft(X))
    chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sample_rate).T, axis=0)
    mel = np.mean(librosa.feature.melspectrogram(y=X, sr=sample_rate).T, axis=0)
    return np.hstack([mfccs, chroma, mel])
