#!/usr/bin/env python3
"""How much rounding Whisper-base's dense weights lose under each int8 weight scheme.

For a few of the installed encoder's dense layers, the relative RMS error of x·Wᵀ when W is
quantized (activations left exact, x standard normal), per scheme: levels (63 = 7 bits,
127 = 8 bits) and the number of inputs sharing one scale (None: the whole output channel).
Reads ~/.local/share/ser/encoders/whisper-base/encoder.safetensors (`ser encoder install`).

    python3 benchmarks/int8_weight_error.py
"""
import json
import os
import struct

import numpy as np

PATH = os.path.expanduser("~/.local/share/ser/encoders/whisper-base/encoder.safetensors")
LAYERS = ["layer_0.self_attention.linear_0", "layer_3.ffn.linear_0", "layer_5.ffn.linear_1",
          "layer_5.self_attention.linear_1"]
SCHEMES = [(63, None), (127, None), (63, 64), (63, 32), (127, 64)]


def tensor(handle, header, base, name):
    meta = header[name]
    start, end = meta["data_offsets"]
    handle.seek(base + start)
    return np.frombuffer(handle.read(end - start), dtype=np.float32).reshape(meta["shape"]).astype(np.float64)


def quantized(weights, levels, group):
    outputs, inputs = weights.shape
    shaped = weights.reshape(outputs, 1 if group is None else inputs // group, -1)
    scale = np.abs(shaped).max(axis=2, keepdims=True) / levels
    scale[scale == 0] = 1
    return (np.round(shaped / scale).clip(-levels, levels) * scale).reshape(outputs, inputs)


def main():
    with open(PATH, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(size))
        random = np.random.default_rng(0)
        print("layer", *[f"{levels}/{group}" for levels, group in SCHEMES], sep="\t")
        for name in LAYERS:
            weights = tensor(handle, header, 8 + size, name + ".weight")
            x = random.standard_normal((64, weights.shape[1]))
            exact = x @ weights.T
            errors = []
            for levels, group in SCHEMES:
                error = x @ quantized(weights, levels, group).T - exact
                errors.append(f"{np.sqrt((error ** 2).sum() / (exact ** 2).sum()):.4f}")
            print(name, *errors, sep="\t")


if __name__ == "__main__":
    main()
