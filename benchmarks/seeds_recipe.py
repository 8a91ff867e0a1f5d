#!/usr/bin/env python3
"""The seeds' recipe against ser on the same speaker-independent folds (not run in CI).

The seed projects compute librosa's `classic180` vector (MFCC 40 + chroma_stft 12
+ mel 128 means) and train sklearn's
MLPClassifier(hidden_layer_sizes=(300,), alpha=0.01, batch_size=256,
learning_rate='adaptive', max_iter=500). Here that recipe runs at 16 kHz on the
folds `ser corpus split --cv speakers:K` writes, and `ser train --split` runs on
the very same folds with `classic180` and with `rich`; the accuracies are printed
side by side (mean ± std over folds, and pooled UAR).

The seeds fed the raw vectors to the MLP; a second sklearn line adds a
StandardScaler, so the comparison is not won by scaling alone.

Needs: pip install librosa scikit-learn; a release build of ser.
Usage: python3 benchmarks/seeds_recipe.py [CORPUS_DIR] [--folds 5] [--seed 1]
       (default ../shared/corpora/ravdess; RAVDESS and CREMA-D file names are parsed)
"""
import argparse, json, os, subprocess, sys, tempfile, time
import warnings

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ser = os.path.join(root, ".build", "release", "ser")
parser = argparse.ArgumentParser()
parser.add_argument("corpus", nargs="?", default=os.path.join(root, "..", "shared", "corpora", "ravdess"))
parser.add_argument("--folds", type=int, default=5)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
CREMAD = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "angry", "FEA": "fearful", "DIS": "disgust"}


def parse(path):
    """(label, speaker) from a RAVDESS or CREMA-D file name, or None."""
    stem = os.path.splitext(os.path.basename(path))[0]
    parts = stem.split("-")
    if len(parts) == 7 and parts[2] in RAVDESS:
        return RAVDESS[parts[2]], f"RAVDESS:{parts[6]}"
    parts = stem.split("_")
    if len(parts) >= 3 and parts[2] in CREMAD:
        return CREMAD[parts[2]], f"CREMA-D:{parts[0]}"
    return None


def classic180(path):
    import librosa
    y, sr = librosa.load(path, sr=16000)
    stft = np.abs(librosa.stft(y))
    mfcc = np.mean(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40).T, axis=0)
    chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sr).T, axis=0)
    mel = np.mean(librosa.feature.melspectrogram(y=y, sr=sr).T, axis=0)
    return np.hstack([mfcc, chroma, mel])


def ser_run(split, features):
    started = time.perf_counter()
    out = subprocess.run([ser, "train", "--data", args.corpus, "--split", split, "--features", features, "--format", "json",
                          "--seed", str(args.seed)], capture_output=True, text=True, env=dict(os.environ, CI="1"))
    if out.returncode != 0:
        sys.exit(f"ser train failed: {out.stderr}")
    summary = json.loads(out.stdout)
    cv = summary.get("cross_validation") or summary["crossValidation"]
    accuracies = [fold["accuracy"] for fold in cv["folds"]]
    return np.mean(accuracies), np.std(accuracies), cv["pooled"]["uar"], time.perf_counter() - started


with tempfile.TemporaryDirectory() as tmp:
    split_path = os.path.join(tmp, "folds.json")
    subprocess.run([ser, "corpus", "split", args.corpus, "--cv", f"speakers:{args.folds}", "--seed", str(args.seed),
                    "--out", split_path], check=True, capture_output=True)
    folds = [set(fold["testSpeakers"]) for fold in json.load(open(split_path))["folds"]]

    files = sorted(os.path.join(d, n) for d, _, names in os.walk(args.corpus) for n in names if parse(n))
    # librosa's vectors are cached beside the system's other caches, keyed by the file list.
    import hashlib
    cache_dir = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ser", "seeds-recipe")
    os.makedirs(cache_dir, exist_ok=True)
    cache = os.path.join(cache_dir, hashlib.sha256("\n".join(files).encode()).hexdigest()[:16] + ".npz")
    started = time.perf_counter()
    if os.path.exists(cache):
        stored = np.load(cache)
        x, y, speakers = stored["x"], stored["y"], stored["speakers"]
    else:
        vectors, labels, speakers = [], [], []
        for path in files:
            label, speaker = parse(path)
            vectors.append(classic180(path))
            labels.append(label)
            speakers.append(speaker)
        x, y, speakers = np.array(vectors), np.array(labels), np.array(speakers)
        np.savez(cache + ".tmp.npz", x=x, y=y, speakers=speakers)
        os.replace(cache + ".tmp.npz", cache)
    feature_seconds = time.perf_counter() - started

    from sklearn.metrics import balanced_accuracy_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def recipe(scaled):
        accuracies, truth, predicted = [], [], []
        started = time.perf_counter()
        for test_speakers in folds:
            test = np.isin(speakers, list(test_speakers))
            model = MLPClassifier(hidden_layer_sizes=(300,), alpha=0.01, batch_size=256, learning_rate="adaptive",
                                  max_iter=500, random_state=args.seed)
            if scaled:
                model = make_pipeline(StandardScaler(), model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(x[~test], y[~test])
            guess = model.predict(x[test])
            accuracies.append(np.mean(guess == y[test]))
            truth += list(y[test])
            predicted += list(guess)
        return np.mean(accuracies), np.std(accuracies), balanced_accuracy_score(truth, predicted), time.perf_counter() - started

    rows = [
        ("seeds' recipe: librosa classic180 + sklearn MLP(300)", *recipe(False)),
        ("  the same with StandardScaler", *recipe(True)),
        ("ser train --features classic180 (MLP)", *ser_run(split_path, "classic180")),
        ("ser train --features rich (MLP)", *ser_run(split_path, "rich")),
    ]
    print(f"{os.path.basename(os.path.normpath(args.corpus))}: {len(files)} files, {len(folds)} speaker-disjoint folds "
          f"(seed {args.seed}); librosa features took {feature_seconds:.0f} s")
    print(f"{'system':58s} {'accuracy':>15s} {'pooled UAR':>10s} {'train s':>8s}")
    for name, mean, std, uar, seconds in rows:
        print(f"{name:58s} {100 * mean:6.1f} ± {100 * std:4.1f} % {100 * uar:9.1f} % {seconds:8.1f}")
    print("ser's times include its own feature extraction (cached after the first run); sklearn's exclude librosa's.")
