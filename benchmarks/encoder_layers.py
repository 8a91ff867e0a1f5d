#!/usr/bin/env python3
"""Which Whisper-base layers carry emotion, and what Whisper's 30 s padding does.

    pip install scikit-learn && ser encoder install
    python3 benchmarks/encoder_layers.py [--pad | --pad-seconds S | --append-seconds S] [CORPUS_DIR]
        (default ../shared/corpora/ravdess; RAVDESS or CREMA-D)

ser-bench embed writes every layer's mean and deviation over frames per file
(whole recordings at 16 kHz; with --pad, each padded to a 30 s window first;
with --pad-seconds S, padded with silence to S seconds; with --append-seconds S,
followed by S seconds of silence; pooling only the frames the audio covers).
A logistic regression (standardized inputs, C=0.1) is then scored 5-fold by
speaker (GroupKFold over actors), lone file and with per-speaker z-scores, for
each layer and a few combinations. The speaker and label are read from the
RAVDESS or CREMA-D file names.
"""
import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CORPORA, encoder_table, lone_file_accuracy as score, speaker_z  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pad", action="store_true", help="pad to Whisper's 30 s window")
    parser.add_argument("--pad-seconds", type=float, default=0, help="pad with silence to this many seconds")
    parser.add_argument("--append-seconds", type=float, default=0, help="append this many seconds of silence")
    parser.add_argument("corpus", nargs="?", default=os.path.join(CORPORA, "ravdess"))
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.corpus, "**", "*.flac"), recursive=True))
    if not files:
        sys.exit(f"no RAVDESS or CREMA-D files under {args.corpus}")
    padding = ["--pad"] if args.pad else ["--pad-seconds", str(args.pad_seconds), "--append-seconds", str(args.append_seconds)]
    described = ("padded to 30 s" if args.pad else f"padded to {args.pad_seconds} s" if args.pad_seconds
                 else f"{args.append_seconds} s of silence appended" if args.append_seconds else "unpadded")
    x, y, groups = encoder_table(files, padding)
    print(f"{len(y)} files, {len(np.unique(groups))} speakers, {described}")
    print("layers        lone file        per-speaker z")
    for layers in [[l] for l in range(x.shape[1])] + [[3, 6], [2, 4, 6], [2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]]:
        z = np.concatenate([x[:, l] for l in layers], axis=1)
        lone, zs = score(z, y, groups), score(speaker_z(z, groups), y, groups)
        print(f"{str(layers):12s}  {lone[0]:5.1f} ± {lone[1]:3.1f} %   {zs[0]:5.1f} ± {zs[1]:3.1f} %", flush=True)


if __name__ == "__main__":
    main()
