#!/usr/bin/env python3
"""Writes librosa 0.11 feature references for the Swift parity tests.

Run by hand (not by CI) after `pip install librosa`:

    python3 scripts/make_feature_fixtures.py

Committed (synthetic signals made here, 1 s each):
    Tests/SERFeaturesTests/Fixtures/features/<signal>.input.npy      the float32 signal
    Tests/SERFeaturesTests/Fixtures/features/<signal>.<feature>.npy  librosa's output
    Tests/SERFeaturesTests/Fixtures/features/cases.json              sample rate and settings per signal

Not committed (derived from the development corpora):
    .fixtures-local/features/<original>.*.npy   the same features for the corpus originals,
                                                loaded with librosa.load(sr=22050)
"""
import json
import os
import sys

import librosa
import numpy as np
from scipy.signal import lfilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from common import seeds_classic180_features  # noqa: E402
OUT = os.path.join(ROOT, "Tests", "SERFeaturesTests", "Fixtures", "features")
LOCAL = os.path.join(ROOT, ".fixtures-local", "features")
ORIGINALS = os.path.join(ROOT, "..", "shared", "corpora", "originals")
rng = np.random.default_rng(3)


def sweep(sr, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    return 0.5 * np.sin(2 * np.pi * (80 * t + 0.5 * (sr * 0.4 - 80) / seconds * t * t))


def vibrato(sr, seconds=1.0, f0=233.0):
    t = np.arange(int(sr * seconds)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / sr
    return 0.3 * sum(np.sin(h * phase) / h for h in range(1, 9))


def voiced(sr, seconds=1.0, f0=120.0):
    n = int(sr * seconds)
    t = np.arange(n) / sr
    f = f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    phase = np.cumsum(f) / sr
    x = np.diff(np.floor(phase), prepend=0.0)  # one pulse per period
    for formant, bandwidth in ((730, 90), (1090, 110), (2440, 170)):
        r = np.exp(-np.pi * bandwidth / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * formant / sr), r * r], x)
    return 0.7 * x / np.max(np.abs(x))


# (name, signal, sr, settings)
CASES = [
    ("sweep", sweep(22050), 22050, {}),
    ("vibrato", vibrato(22050), 22050, {}),
    ("noise", 0.2 * rng.standard_normal(22050), 22050, {}),
    ("voiced", voiced(22050), 22050, {}),
    ("silence", np.zeros(22050), 22050, {}),
    ("voiced16k_short_frames", voiced(16000), 16000,
     {"n_fft": 512, "hop_length": 160, "win_length": 400, "n_mels": 40, "fmin": 20.0, "fmax": 7600.0, "htk": True,
      "n_mfcc": 13, "lifter": 22}),
]


def features(y, sr, n_fft=2048, hop_length=512, win_length=None, n_mels=128, fmin=0.0, fmax=None, htk=False,
             n_mfcc=20, lifter=0):
    stft = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, **stft)
    mel_db = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc, lifter=lifter)
    S = np.abs(librosa.stft(y, **stft))
    power = S ** 2
    tuning = librosa.estimate_tuning(S=power, sr=sr, n_fft=n_fft)
    out = {
        "magnitude": S,
        "melspectrogram": mel,
        "melspectrogram_db": mel_db,
        "mfcc": mfcc,
        "mfcc_delta": librosa.feature.delta(mfcc),
        "mfcc_delta2": librosa.feature.delta(mfcc, order=2),
        "chroma_stft": librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft),
        "tuning": np.array([tuning], dtype=np.float32),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop_length),
        "rms": librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length),
        "spectral_centroid": librosa.feature.spectral_centroid(S=S, sr=sr, n_fft=n_fft),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=S, sr=sr, n_fft=n_fft),
        "spectral_rolloff": librosa.feature.spectral_rolloff(S=S, sr=sr, n_fft=n_fft),
        "spectral_flatness": librosa.feature.spectral_flatness(S=S),
    }
    if sr >= 16000:
        out["harmonic"] = librosa.effects.harmonic(y)
        out["chroma_cqt"] = librosa.feature.chroma_cqt(y=y, sr=sr)
        out["tonnetz"] = librosa.feature.tonnetz(y=y, sr=sr)
    fmin_pitch, fmax_pitch = librosa.note_to_hz("C2"), librosa.note_to_hz("C7")
    out["yin"] = librosa.yin(y, fmin=fmin_pitch, fmax=fmax_pitch, sr=sr)
    f0, voiced_flag, voiced_prob = librosa.pyin(y, fmin=fmin_pitch, fmax=fmax_pitch, sr=sr)
    out["pyin_f0"] = f0
    out["pyin_voiced"] = voiced_flag.astype(np.float32)
    out["pyin_voiced_prob"] = voiced_prob
    if settings_are_default(n_fft, hop_length, win_length, n_mels, fmin, fmax, htk, n_mfcc, lifter):
        out["classic180"] = classic180(y, sr)
        out["x193"] = x193(y, sr)
    if fmin == 0.0 and n_fft >= 2048:
        out["spectral_contrast"] = librosa.feature.spectral_contrast(S=S, sr=sr, n_fft=n_fft)
    return out


def settings_are_default(n_fft, hop_length, win_length, n_mels, fmin, fmax, htk, n_mfcc, lifter):
    return (n_fft, hop_length, win_length, n_mels, fmin, fmax, htk, n_mfcc, lifter) == (2048, 512, None, 128, 0.0, None,
                                                                                       False, 20, 0)


classic180 = seeds_classic180_features


def x193(X, sample_rate):
    """The most popular open SER repository's 193-dimensional vector, as its code computes it."""
    stft = np.abs(librosa.stft(X))
    contrast = np.mean(librosa.feature.spectral_contrast(S=stft, sr=sample_rate).T, axis=0)
    tonnetz = np.mean(librosa.feature.tonnetz(y=librosa.effects.harmonic(X), sr=sample_rate).T, axis=0)
    return np.hstack([classic180(X, sample_rate), contrast, tonnetz])


def write(directory, name, y, sr, settings):
    os.makedirs(directory, exist_ok=True)
    y = y.astype(np.float32)
    np.save(os.path.join(directory, f"{name}.input.npy"), y)
    computed = features(y, sr, **settings)
    kept = [k for k in computed if not skipped(directory, name, k)]
    for feature in kept:
        np.save(os.path.join(directory, f"{name}.{feature}.npy"), np.asarray(computed[feature], dtype=np.float32))
    return sorted(kept)


LARGE = {"magnitude", "harmonic"}  # whole spectrograms or signals


def skipped(directory, name, feature):
    """Keeps the committed fixtures small: large references for two signals only."""
    return directory == OUT and feature in LARGE and name not in ("voiced", "voiced16k_short_frames")


def main():
    cases = {}
    for name, y, sr, settings in CASES:
        cases[name] = {"sample_rate": sr, "settings": settings, "features": write(OUT, name, y, sr, settings)}
        print(f"wrote {name}")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)

    if os.path.isdir(ORIGINALS):
        local_cases = {}
        for file in sorted(os.listdir(ORIGINALS)):
            y, sr = librosa.load(os.path.join(ORIGINALS, file), sr=22050)
            local_cases[file] = {"sample_rate": sr, "settings": {}, "features": write(LOCAL, file, y, sr, {})}
        with open(os.path.join(LOCAL, "cases.json"), "w") as f:
            json.dump(local_cases, f, indent=1, sort_keys=True)
        print(f"wrote local references for the corpus originals to {LOCAL}")


if __name__ == "__main__":
    main()
