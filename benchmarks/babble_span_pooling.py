#!/usr/bin/env python3
"""Why babble costs so much, and what frame weighting or a perfect speech span would buy.

    python3 benchmarks/babble_span_pooling.py [--work DIR] [RAVDESS_DIR]

Makes two copies of every RAVDESS recording at 10 dB SNR against the speech's active level:
babble of 3-6 recordings of other actors (each brought to the same active level, looped from a
random offset) and white noise; and a third, the babble copy cut to the speech span ser finds in
the clean recording (an oracle detector). Each is read as ser's models read it (`ser-bench embed
--trim-margin 0`: the detector's span, level-normalized), and the six blocks' states are pooled
three ways: every frame alike (what ser does) and weighted by each 20 ms frame's power to the
0.5 and 1 (`--weight-exponents`), so frames where the dominant voice is loud count more than the
pauses the babble fills.

Scored as benchmarks/encoder_layers.py scores (standardized inputs, logistic regression C = 0.1,
5-fold GroupKFold by speaker): trained on the clean recordings alone, and on clean + babble +
white copies (a matched multi-condition proxy). About 20 minutes on 2 cores. The copies go to
--work (a temporary folder by default) and are never part of the repository.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CORPORA, ROOT, build_ser_bench, corpus_labels  # noqa: E402

SNR_DB = 10
EXPONENTS = ["0.0", "0.5", "1.0"]
_clean = []


def active_rms(x):
    import librosa
    frames = librosa.util.frame(np.pad(x, (0, 400)), frame_length=400, hop_length=160)
    power = (frames ** 2).mean(0)
    level = 10 * np.log10(power + 1e-12)
    return np.sqrt(power[level > level.max() - 35].mean())


def load(path):
    import librosa
    return librosa.load(path, sr=16000)[0]


def make_copies(job):
    import soundfile as sf
    index, others, seed, work = job
    rng = np.random.default_rng(seed)
    x = _clean[index]
    babble = np.zeros(len(x), np.float32)
    for j in others:
        voice = _clean[j] / (active_rms(_clean[j]) + 1e-9)
        babble += np.resize(np.roll(voice, -int(rng.integers(0, len(voice)))), len(x))
    level = active_rms(x)
    paths = []
    for name, noise in (("babble", babble), ("white", rng.standard_normal(len(x)).astype(np.float32))):
        y = x + noise * (level / (np.sqrt((noise ** 2).mean()) + 1e-12)) * 10 ** (-SNR_DB / 20)
        y = y / max(1.0, np.abs(y).max() / 0.99)
        path = os.path.join(work, name, f"{index:05d}.wav")
        sf.write(path, y, 16000, subtype="FLOAT")
        paths.append(path)
    return paths


def score(tables, y, groups, train_on):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler
    scores = {c: [] for c in tables}
    for train, test in GroupKFold(5).split(tables["clean"], y, groups):
        x = np.concatenate([tables[c][train] for c in train_on])
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=0.1, max_iter=300).fit(scaler.transform(x), np.concatenate([y[train]] * len(train_on)))
        for c in tables:
            scores[c].append((model.predict(scaler.transform(tables[c][test])) == y[test]).mean())
    return {c: 100 * np.mean(v) for c, v in scores.items()}


def main():
    global _clean
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default=os.path.join(CORPORA, "ravdess"))
    parser.add_argument("--work", help="folder for the copies and tables (default: a temporary one)")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.corpus, "**", "*.flac"), recursive=True)
                   + glob.glob(os.path.join(args.corpus, "**", "*.wav"), recursive=True))
    if not files:
        sys.exit(f"no recordings under {args.corpus}")
    work = args.work or tempfile.mkdtemp(prefix="ser-babble-")
    for name in ("babble", "white", "oracle"):
        os.makedirs(os.path.join(work, name), exist_ok=True)
    y, groups = corpus_labels(files)
    with Pool(2) as pool:
        _clean = pool.map(load, files)
    rng = np.random.default_rng(7)
    jobs = []
    for i in range(len(files)):
        others = np.flatnonzero(groups != groups[i])
        jobs.append((i, rng.choice(others, int(rng.integers(3, 7)), replace=False), int(rng.integers(0, 2**31)), work))
    with Pool(2) as pool:  # forked after _clean is loaded, so the workers see it
        copies = pool.map(make_copies, jobs)
    # The oracle: each babble copy cut to the span ser finds in the clean recording.
    ser = os.path.join(ROOT, ".build", "release", "ser")
    subprocess.run(["swift", "build", "-c", "release", "--product", "ser"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    answers = subprocess.run([ser, "predict", *files, "--format", "jsonl"], capture_output=True, text=True).stdout
    spans = {}
    for line in answers.splitlines():
        answer = json.loads(line)
        if answer.get("speech"):
            spans[answer["path"]] = (answer["speech_start"], answer["speech_end"])
    import soundfile as sf
    oracle = []
    for i, path in enumerate(files):
        audio, rate = sf.read(copies[i][0])
        start, end = spans.get(path, (0, len(audio) / rate))
        out = os.path.join(work, "oracle", f"{i:05d}.wav")
        sf.write(out, audio[int(start * rate):int(end * rate)], rate, subtype="FLOAT")
        oracle.append(out)
    bench = build_ser_bench()
    sets = {"clean": files, "babble": [c[0] for c in copies], "white": [c[1] for c in copies], "oracle": oracle}
    tables = {}
    for name, paths in sets.items():
        out = os.path.join(work, f"{name}.npy")
        # The oracle copies are already cut; a wide margin keeps them whole (and level-normalized).
        margin = "30" if name == "oracle" else "0"
        subprocess.run([bench, "embed", "--trim-margin", margin, "--weight-exponents", ",".join(EXPONENTS), "--out", out, *paths],
                       check=True)
        for exponent in EXPONENTS:
            table = np.load(out.replace(".npy", f"-w{exponent}.npy"))[:, 1:, :]
            tables[(name, exponent)] = table.reshape(len(files), -1)
    print(f"{len(files)} recordings, {SNR_DB} dB SNR; accuracy (%), 5 folds by speaker")
    print(f"{'pooling':<22} {'trained on':<22} {'clean':>6} {'babble':>7} {'white':>6} {'babble, oracle span':>20}")
    for exponent in EXPONENTS:
        view = {name: tables[(name, exponent)] for name in sets}
        ok = np.all([np.isfinite(v).all(1) for v in view.values()], 0)
        view = {name: v[ok] for name, v in view.items()}
        for train_on in (["clean"], ["clean", "babble", "white"], ["clean", "oracle"]):
            s = score(view, y[ok], groups[ok], train_on)
            label = "every frame alike" if exponent == "0.0" else f"power^{exponent}"
            print(f"{label:<22} {'+'.join(train_on):<22} {s['clean']:6.1f} {s['babble']:7.1f} {s['white']:6.1f} {s['oracle']:20.1f}")


if __name__ == "__main__":
    main()
