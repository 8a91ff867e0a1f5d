#!/usr/bin/env python3
"""The architecture × corpus table of speaker-independent accuracy (not run in CI).

Runs `ser train --cv speakers:5 --format json` for each architecture on each
corpus and prints mean ± std accuracy over folds, pooled UAR and training time,
the table the models issue asks for. The networks take minutes per fold on two
cores (a 2-D CNN about 3 minutes per RAVDESS fold, 8 per CREMA-D fold).

With --speaker-normalization the vector models train on per-speaker z-scores
(each test speaker standardized by its own recordings): a separate protocol.

--features PRESET (e.g. functionals) and --augment RECIPE apply to the vector
models; the CNNs and LSTMs keep their log-mel input.

Usage: python3 benchmarks/model_table.py [--corpora ravdess crema-d] [--architectures mlp logreg cnn ...]
                                         [--speaker-normalization] [--features functionals] [--augment RECIPE]
"""
import argparse, json, os, statistics, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
ser = os.path.join(here, "..", ".build", "release", "ser")
shared = os.path.join(here, "..", "..", "shared", "corpora")

parser = argparse.ArgumentParser()
parser.add_argument("--corpora", nargs="+", default=["ravdess", "crema-d"])
parser.add_argument("--architectures", nargs="+",
                    default=["mlp", "logreg", "boosted", "forest", "tree", "cnn", "lstm", "bilstm", "cnn1d"])
parser.add_argument("--speaker-normalization", action="store_true",
                    help="z-score features per speaker (vector models only)")
parser.add_argument("--features", help="vector preset for mlp, logreg and the trees (default: ser's, rich)")
parser.add_argument("--augment", help="--augment recipe, e.g. noise:15,speed:0.9,speed:1.1,pitch:2")
arguments = parser.parse_args()
networks = {"cnn", "cnn1d", "lstm", "bilstm"}
extra = ["--speaker-normalization"] if arguments.speaker_normalization else []
if not os.path.exists(ser):
    sys.exit("build first: swift build -c release")

print(f"{'architecture':<12} {'corpus':<10} {'accuracy':>16} {'UAR':>7} {'seconds':>8}")
for corpus in arguments.corpora:
    folder = os.path.join(shared, corpus)
    if not os.path.isdir(folder):
        print(f"skipping {corpus}: {folder} is absent", file=sys.stderr)
        continue
    for architecture in arguments.architectures:
        started = time.time()
        run = subprocess.run([ser, "train", "--data", folder, "--architecture", architecture, "--cv", "speakers:5",
                              "--format", "json"] + extra
                             + (["--features", arguments.features] if arguments.features and architecture not in networks else [])
                             + (["--augment", arguments.augment] if arguments.augment else []), capture_output=True, text=True, env=dict(os.environ, CI="1"))
        seconds = time.time() - started
        if run.returncode != 0:
            print(f"{architecture:<12} {corpus:<10} failed: {run.stderr.strip()[-200:]}")
            continue
        cv = json.loads(run.stdout)["cross_validation"]
        accuracies = [fold["accuracy"] for fold in cv["folds"]]
        mean, deviation = statistics.mean(accuracies), statistics.pstdev(accuracies)
        print(f"{architecture:<12} {corpus:<10} {100 * mean:>8.1f} ± {100 * deviation:>4.1f} % "
              f"{100 * cv['pooled']['uar']:>6.1f} {seconds:>8.0f}", flush=True)
