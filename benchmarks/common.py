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


def encoder_table(files, embed_flags, table=None):
    """Every layer's pooled encoder states of RAVDESS or CREMA-D `files` (`ser-bench embed`,
    written to `table`, or read from it when it exists), with the emotion labels and speakers
    read from the file names; files without a vector (no speech) are dropped. Returns
    (x [files, layers, 2 * width], y, speakers)."""
    import numpy as np
    if table is None or not os.path.exists(table):
        table = table or "/tmp/ser-encoder-table-" + "-".join(embed_flags).replace("--", "") + ".npy"
        subprocess.run([build_ser_bench(), "embed", "--out", table] + embed_flags + files, check=True)
    x = np.load(table)
    y, groups = corpus_labels(files)
    usable = ~np.isnan(x).any(axis=(1, 2))
    return x[usable], y[usable], groups[usable]


def corpus_labels(files):
    """The emotion labels and speakers of RAVDESS or CREMA-D `files`, read from their names."""
    import numpy as np
    stems = [os.path.basename(f).split(".")[0] for f in files]
    if "_" in stems[0]:  # CREMA-D: ACTOR_SENTENCE_EMOTION_LEVEL
        names = [s.split("_") for s in stems]
        emotions = sorted({n[2] for n in names})
        return np.array([emotions.index(n[2]) for n in names]), np.array([int(n[0]) for n in names])
    names = [s.split("-") for s in stems]  # RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor
    return np.array([int(n[2]) for n in names]), np.array([int(n[6]) for n in names])


def lone_file_accuracy(x, y, groups):
    """Mean and deviation (%) over 5 GroupKFold folds by speaker of a logistic regression
    (C = 0.1) on standardized `x`, each recording classified on its own."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler
    accuracies = []
    for train, test in GroupKFold(5).split(x, y, groups):
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=0.1, max_iter=3000).fit(scaler.transform(x[train]), y[train])
        accuracies.append((model.predict(scaler.transform(x[test])) == y[test]).mean())
    return 100 * np.mean(accuracies), 100 * np.std(accuracies)


def speaker_z(x, groups):
    """Each speaker's rows z-scored by that speaker's own mean and deviation."""
    import numpy as np
    out = x.copy()
    for g in np.unique(groups):
        m = groups == g
        out[m] = (x[m] - x[m].mean(0)) / (x[m].std(0) + 1e-6)
    return out


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
