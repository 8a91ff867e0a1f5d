#!/usr/bin/env python3
"""Writes the audio-input reference fixtures the Swift tests compare against.

Run by hand (not by CI) after `pip install librosa soundfile`:

    python3 scripts/make_audio_fixtures.py

Committed (small, synthetic, made here):
    Tests/SERAudioTests/Fixtures/audio/<name>.<ext>       the input file
    Tests/SERAudioTests/Fixtures/audio/<name>.sr<R>.npy   librosa.load(input, sr=R)

Not committed (derived from the development corpora, which stay out of git):
    .fixtures-local/originals/<file>.sr22050.npy          librosa.load(original, sr=22050)
The corpus integration test uses these when they exist.
"""
import os
import sys

import librosa
import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "SERAudioTests", "Fixtures", "audio")
LOCAL = os.path.join(ROOT, ".fixtures-local", "originals")
ORIGINALS = os.path.join(ROOT, "..", "shared", "corpora", "originals")
RATES = (16000, 22050)
rng = np.random.default_rng(20261120)


def chirp(sr, seconds, f0, f1):
    t = np.arange(int(sr * seconds)) / sr
    k = (f1 - f0) / seconds
    return np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t))


def vibrato_tone(sr, seconds, f0=220.0, harmonics=6):
    t = np.arange(int(sr * seconds)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))) / sr
    return sum(np.sin(h * phase) / h for h in range(1, harmonics + 1)) * 0.4


def pulse_train_through_formants(sr, seconds, f0=140.0):
    from scipy.signal import lfilter
    n = int(sr * seconds)
    x = np.zeros(n)
    x[:: int(sr / f0)] = 1.0
    for formant, bandwidth in ((700, 80), (1220, 90), (2600, 120)):
        r = np.exp(-np.pi * bandwidth / sr)
        theta = 2 * np.pi * formant / sr
        x = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
    return 0.8 * x / np.max(np.abs(x))


def fixtures():
    """(name, extension, sample rate, subtype, samples as frames × channels)."""
    stereo = np.stack([0.5 * chirp(48000, 0.3, 100, 12000), 0.3 * np.sin(2 * np.pi * 440 * np.arange(14400) / 48000)], axis=1)
    yield "chirp_48k_stereo", "wav", 48000, "PCM_16", stereo
    yield "vibrato_44k1", "flac", 44100, "PCM_24", vibrato_tone(44100, 0.3)[:, None]
    yield "noise_96k_float", "wav", 96000, "FLOAT", (0.25 * rng.standard_normal(19200)).astype(np.float32)[:, None]
    yield "formants_16k", "wav", 16000, "PCM_16", pulse_train_through_formants(16000, 0.4)[:, None]
    yield "tone_8k_aiff", "aiff", 8000, "PCM_16", (0.6 * np.sin(2 * np.pi * 300 * np.arange(2400) / 8000))[:, None]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, ext, sr, subtype, data in fixtures():
        path = os.path.join(OUT, f"{name}.{ext}")
        sf.write(path, data, sr, subtype=subtype, format={"wav": "WAV", "flac": "FLAC", "aiff": "AIFF"}[ext])
        for rate in RATES:
            y, _ = librosa.load(path, sr=rate)
            np.save(os.path.join(OUT, f"{name}.sr{rate}.npy"), y.astype(np.float32))
        print(f"wrote {path} and its references at {RATES} Hz")

    if os.path.isdir(ORIGINALS):
        os.makedirs(LOCAL, exist_ok=True)
        for file in sorted(os.listdir(ORIGINALS)):
            y, _ = librosa.load(os.path.join(ORIGINALS, file), sr=22050)
            np.save(os.path.join(LOCAL, f"{file}.sr22050.npy"), y)
        print(f"wrote local references for the corpus originals to {LOCAL}")
    else:
        print(f"{ORIGINALS} not found: no local references for the corpus originals", file=sys.stderr)


if __name__ == "__main__":
    main()
