"""Whisper-base's front end and encoder written out plainly in numpy (run by hand, not by CI).

The reference the Swift encoder is held to (scripts/make_encoder_fixtures.py) and the
instrument of encoder experiments (benchmarks/encoder_padding.py). Weights are a dict of
arrays named as in ser's encoder file (`conv1.weight`, `layer_0.self_attention.linear_0.bias`, ...).
"""
import json
import os
import struct

import numpy as np
from scipy.special import erf

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's window: every input is padded to 30 s
_mel_filters = None


def installed_encoder_path():
    """Where `ser encoder install` puts the weights."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "ser", "encoders", "whisper-base", "encoder.safetensors")


def read_ser_encoder(path=None):
    """The tensors of ser's encoder file (safetensors, float32)."""
    path = path or installed_encoder_path()
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        data = f.read()
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        weights[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(entry["shape"])
    return weights


def log_mel(audio, pad_to=None):
    """Whisper's front end: periodic Hann 400, hop 160, reflect padding, last frame dropped.
    With pad_to, the audio is first padded with zeros to that many samples, as Whisper does."""
    global _mel_filters
    if _mel_filters is None:
        import librosa
        _mel_filters = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=80)
    audio = audio.astype(np.float64)
    if pad_to and len(audio) < pad_to:
        audio = np.concatenate([audio, np.zeros(pad_to - len(audio))])
    window = np.hanning(401)[:-1]
    padded = np.pad(audio, (200, 200), mode="reflect")
    frames = 1 + (len(padded) - 400) // 160
    starts = 160 * np.arange(frames)[:, None] + np.arange(400)[None, :]
    power = (np.abs(np.fft.rfft(padded[starts] * window, axis=1)) ** 2)[:-1].T
    log = np.log10(np.maximum(_mel_filters @ power, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


def forward(weights, mel, layers=6, dtype=np.float64, appended=None, keep_keys=False):
    """Every hidden state of the encoder for `mel` (80 × frames): the convolutions' output, then
    each block's (the last after the final LayerNorm).

    appended[layer] = (keys, values): extra key/value rows every query of that layer also attends
    to (frames the input does not hold, such as Whisper's padding). keep_keys: also return each
    layer's (keys, values)."""
    w = {name: value.astype(dtype, copy=False) for name, value in weights.items()}

    def gelu(x):
        return 0.5 * x * (1 + erf(x / np.sqrt(2)))

    def norm(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5) * w[name + ".gamma"] + w[name + ".beta"]

    def conv(x, name, stride):
        padded = np.pad(x, ((0, 0), (1, 1)))
        frames = (x.shape[1] - 1) // stride + 1
        starts = stride * np.arange(frames)[:, None] + np.arange(3)[None, :]
        cols = padded[:, starts].transpose(1, 0, 2).reshape(frames, -1)
        kernel = w[name + ".weight"]
        return cols @ kernel.reshape(kernel.shape[0], -1).T + w[name + ".bias"]

    x = gelu(conv(mel.astype(dtype), "conv1", 1)).T
    x = gelu(conv(x, "conv2", 2))
    x = x + w["position_encodings.encodings"][:x.shape[0]]
    states, keys = [x], []
    for layer in range(layers):
        p = f"layer_{layer}."
        h = norm(x, p + "self_attention.layer_norm")
        q, k, v = np.split(h @ w[p + "self_attention.linear_0.weight"].T + w[p + "self_attention.linear_0.bias"], 3, axis=1)
        if keep_keys:
            keys.append((k, v))
        if appended is not None:
            k = np.concatenate([k, appended[layer][0]])
            v = np.concatenate([v, appended[layer][1]])
        out = np.zeros_like(q)
        for head in range(8):
            s = slice(64 * head, 64 * head + 64)
            scores = q[:, s] @ k[:, s].T / 8.0
            scores = np.exp(scores - scores.max(1, keepdims=True))
            out[:, s] = (scores / scores.sum(1, keepdims=True)) @ v[:, s]
        x = x + out @ w[p + "self_attention.linear_1.weight"].T + w[p + "self_attention.linear_1.bias"]
        h = gelu(norm(x, p + "ffn.layer_norm") @ w[p + "ffn.linear_0.weight"].T + w[p + "ffn.linear_0.bias"])
        x = x + h @ w[p + "ffn.linear_1.weight"].T + w[p + "ffn.linear_1.bias"]
        states.append(x)
    states[-1] = norm(x, "layer_norm")
    return (states, keys) if keep_keys else states
