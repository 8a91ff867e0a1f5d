#!/usr/bin/env python3
"""What Whisper's 30 s padding is worth, and whether it can be had without encoding 30 s.

    python3 benchmarks/encoder_padding.py [--table T.npz] [--speech-spans P.jsonl] [CORPUS_DIR]

Whisper pads every input with silence to 30 s; ser encodes the audio alone, about ten times
cheaper. This compares three ways of encoding each RAVDESS or CREMA-D recording (whole, 16 kHz),
pooling each block's states over the frames the audio covers (mean and deviation):

  as it is    the audio's frames alone (what ser does);
  borrowed    the audio's frames, whose attention also sees the keys and values that the padding
              frames have when the whole 30 s window is silence at the recording's padding level
              (one reference per 0.1 step of that level, computed once): the padding's frames are
              not encoded per recording, so the cost grows only with the longer attention;
  borrowed, one level   the same with a single reference for every recording.

With --speech-spans (the output of `ser predict CORPUS_DIR --format jsonl`), each recording is
first cut to the speech span ser found in it, as the shipped models hear it (a recording without
speech stays whole).

Scored as benchmarks/encoder_layers.py scores (standardized inputs, logistic regression C = 0.1,
5-fold GroupKFold by speaker, one recording at a time). Needs `ser encoder install`, numpy,
scipy, scikit-learn and librosa; about 20 min of 2 cores for RAVDESS's 1,199 files, 30 for CREMA-D's.
"""
import argparse
import glob
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CORPORA, corpus_labels, lone_file_accuracy  # noqa: E402
from whisper_numpy import SAMPLE_RATE, WINDOW_SAMPLES, forward, log_mel, read_ser_encoder  # noqa: E402

LEVEL_STEP = 0.1
ONE_LEVEL = -1.2  # a typical padding level of these corpora (log-mel units after Whisper's scaling)
_weights = None
_references = {}
_spans = {}


def reference(level):
    """Each layer's keys and values over a 30 s window of constant log-mel `level`."""
    level = round(round(level / LEVEL_STEP) * LEVEL_STEP, 2)
    if level not in _references:
        _, keys = forward(_weights, np.full((80, 3000), level, np.float32), dtype=np.float32, keep_keys=True)
        _references[level] = keys
    return _references[level]


def pooled(states, frames):
    return np.stack([np.concatenate([s[:frames].mean(0), s[:frames].std(0)]) for s in states[1:]]).astype(np.float32)


def encode(path):
    global _weights
    import librosa
    if _weights is None:
        _weights = read_ser_encoder()
    audio, _ = librosa.load(path, sr=SAMPLE_RATE)
    if path in _spans:
        start, end = _spans[path]
        audio = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
    audio = audio[:WINDOW_SAMPLES]
    mel = log_mel(audio)  # as ser encodes it
    frames = (mel.shape[1] + 1) // 2
    padded = log_mel(audio, pad_to=WINDOW_SAMPLES)
    # The padding level: what Whisper's scaling clamps the silent columns to.
    level = float(padded[:, -1].mean())
    started = time.perf_counter()
    alone = pooled(forward(_weights, mel, dtype=np.float32), frames)
    alone_seconds = time.perf_counter() - started
    rows = []
    for keys in (reference(level), reference(ONE_LEVEL)):
        started = time.perf_counter()
        rows.append(pooled(forward(_weights, padded[:, :2 * frames], dtype=np.float32,
                                   appended=[(k[frames:], v[frames:]) for k, v in keys]), frames))
    borrowed_seconds = time.perf_counter() - started
    return alone, rows[0], rows[1], level, alone_seconds, borrowed_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", help="save the pooled states here, or read them when it exists")
    parser.add_argument("--speech-spans", help="`ser predict CORPUS --format jsonl` output: cut each file to its speech span")
    parser.add_argument("corpus", nargs="?", default=os.path.join(CORPORA, "ravdess"))
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.corpus, "**", "*.flac"), recursive=True))
    if not files:
        sys.exit(f"no RAVDESS or CREMA-D files under {args.corpus}")
    if args.table and os.path.exists(args.table):
        saved = np.load(args.table)
        alone, borrowed, one_level, levels, costs = (saved[k] for k in ("alone", "borrowed", "one_level", "levels", "costs"))
    else:
        if args.speech_spans:
            with open(args.speech_spans) as lines:
                for line in lines:
                    answer = json.loads(line)
                    if answer.get("speech") and "speech_start" in answer:
                        _spans[os.path.realpath(answer["path"])] = (answer["speech_start"], answer["speech_end"])
            files = [os.path.realpath(f) for f in files]
        with Pool(2) as pool:
            results = pool.map(encode, files, chunksize=8)
        alone, borrowed, one_level = (np.stack([r[i] for r in results]) for i in range(3))
        levels = np.array([r[3] for r in results])
        costs = np.array([[r[4], r[5]] for r in results])
        if args.table:
            np.savez(args.table, alone=alone, borrowed=borrowed, one_level=one_level, levels=levels, costs=costs)
    y, groups = corpus_labels(files)
    print(f"{len(y)} files, {len(np.unique(groups))} speakers; padding level {np.percentile(levels, 5):.2f} to "
          f"{np.percentile(levels, 95):.2f} (5th to 95th percentile); numpy time per file, borrowed / as it is: "
          f"{costs[:, 1].sum() / costs[:, 0].sum():.2f}×")
    print("blocks             as it is        borrowed        borrowed, one level")
    for blocks in [[1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6], [2, 4, 6]]:
        cells = []
        for table in (alone, borrowed, one_level):
            x = np.concatenate([table[:, b - 1] for b in blocks], axis=1)
            cells.append("%5.1f ± %3.1f %%" % lone_file_accuracy(x, y, groups))
        print(f"{str(blocks):18s} " + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
