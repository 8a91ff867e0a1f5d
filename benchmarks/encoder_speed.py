#!/usr/bin/env python3
"""ser's Whisper-base encoder against ctranslate2 on the same input, same run.

    pip install ctranslate2 numpy && ser encoder install
    python3 benchmarks/encoder_speed.py [--seconds 4] [--threads 1] [--repeat 10] [--isa avx2]

Both encode the log-mel of the same synthetic voice (no 30 s padding: ctranslate2
accepts any length too). Times ser float32, ser int8, ctranslate2 float32 and
ctranslate2 int8 (the fastest of K passes each), and prints each against
ctranslate2 int8, the kernel ser's int8 path ran, its per-layer deviation from
float32 and both paths' resident memory. ctranslate2 needs the CTranslate2 model
directory; it is rebuilt from the PyPI wheels in a temporary folder (as
scripts/make_encoder_fixtures.py does). `--isa avx2` holds both sides to AVX2 on a
machine that has more, as an AVX2-only CPU would run them: ser's SERKernels
(SER_MAX_CPU_ISA=avx2: the AVX2 int8 kernel, OpenBLAS instead of the AVX-512 float32
kernel), OpenBLAS (OPENBLAS_CORETYPE=Haswell), and ctranslate2's own kernels
(CT2_FORCE_CPU_ISA=AVX2) and its GEMM libraries: oneDNN, which runs its int8 products
on a non-Intel CPU (ONEDNN_MAX_CPU_ISA=AVX2; without it they use AVX-512 VNNI whatever
CT2_FORCE_CPU_ISA says), and MKL on an Intel one (MKL_ENABLE_INSTRUCTIONS=AVX2).
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
    parser.add_argument("--isa", choices=["avx2"], default=None)
    args = parser.parse_args()
    if args.isa == "avx2":
        os.environ.update(SER_MAX_CPU_ISA="avx2", OPENBLAS_CORETYPE="Haswell", CT2_FORCE_CPU_ISA="AVX2",
                          ONEDNN_MAX_CPU_ISA="AVX2", DNNL_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2")
    import ctranslate2
    sys.argv = sys.argv[:1]
    directory, scratch = (os.environ["SER_CT2_MODEL"], None) if "SER_CT2_MODEL" in os.environ else model_directory()
    # ser first: a loaded ctranslate2 model keeps its OpenMP threads spinning for a
    # while after each call, which would steal a core from a process run beside it.
    bench = build_ser_bench()

    def ser_run(precision, deviation=False):
        command = [bench, "encoder", "--seconds", str(args.seconds), "--threads", str(args.threads),
                   "--repeat", str(args.repeat), "--precision", precision] + (["--deviation"] if deviation else [])
        return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)

    ser = {"float32": ser_run("float32"), "int8": ser_run("int8")}
    deviation = ser_run("int8", deviation=True).get("layer_deviation", [])
    mel = log_mel(synthetic_voice(args.seconds))[None]
    features = ctranslate2.StorageView.from_array(mel)
    reference = {}
    for compute_type in ("float32", "int8"):
        model = ctranslate2.models.Whisper(directory, device="cpu", compute_type=compute_type, intra_threads=args.threads)
        model.encode(features, to_cpu=True)
        reference[compute_type] = min(_timed(lambda: model.encode(features, to_cpu=True)) for _ in range(args.repeat)) * 1000
        del model
    print(f"Whisper-base encoder, {args.seconds:g} s of audio ({mel.shape[2]} mel frames), {args.threads} thread(s), "
          f"ser's int8 kernel: {ser['int8']['int8_kernel']}, float32 products: {ser['float32'].get('float32_kernel', '?')}")
    rows = [(f"ctranslate2 {ctranslate2.__version__} float32", reference["float32"], None),
            (f"ctranslate2 {ctranslate2.__version__} int8", reference["int8"], None),
            ("ser float32", ser["float32"]["encoder_ms"], ser["float32"]),
            ("ser int8", ser["int8"]["encoder_ms"], ser["int8"])]
    for name, ms, run in rows:
        extra = f"  RSS {run['rss_mib']:.0f} MiB (peak {run['peak_rss_mib']:.0f})" if run else ""
        print(f"  {name:28s} {ms:7.1f} ms   {reference['int8'] / ms:5.2f}x ctranslate2 int8's speed{extra}")
    if deviation:
        print("  ser int8 against ser float32, per layer (relative RMS of hidden states / of their mean and deviation):")
        for layer in deviation:
            print(f"    layer {int(layer['layer'])}: {layer['relative_rms']:.3f} / {layer['pooled_relative_rms']:.4f}")
    if scratch:
        import shutil
        shutil.rmtree(scratch)


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
