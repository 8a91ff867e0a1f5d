#!/usr/bin/env python3
"""Which estimate of a speaker's statistics adapts fastest: the adaptation curve of
ser's shipped estimator against two that shrink feature by feature.

    pip install scikit-learn && ser encoder install
    python3 benchmarks/adaptation_estimators.py [--table T.npy] [--layers 1,2,3,4,5,6] [CORPUS_DIR]
        (default ../shared/corpora/ravdess; RAVDESS or CREMA-D)

The vectors are Whisper-base's pooled states of whole recordings (`ser-bench embed`;
`--table` reuses a table it wrote for the same files). 5 folds by speaker: a lone-file
logistic regression on standardized vectors and an adapted one on per-speaker z-scores
(C = 0.1), as `ser train --adaptive` trains them. Each test recording is scored with
the statistics of the k recordings before it in a seeded random cyclic order of its
speaker's recordings ("all": every recording, itself included), and the adapted answer
is blended in by k / (k + 1). The estimators of the speaker's mean, from k recordings
with mean m and the training population's mean μ:

  shipped      μ + k / (k + 3) · (m − μ), one shrinkage for every feature
  per-feature  μ + k / (k + τⱼ) · (m − μ), τⱼ = within-speaker / between-speaker variance
               of feature j among the training speakers (noisy features shrink more)
  subspace     the posterior mean of a speaker offset confined to the directions along
               which the training speakers' means differ (a factor model with r factors
               and diagonal within-speaker noise), plus the rest shrunk by k / (k + 3)

The variance is shrunk toward the population's within-speaker variance by 10
pseudo-recordings in every case, as ser does.
"""
import argparse
import glob
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CORPORA, encoder_table, speaker_z  # noqa: E402

KS = [0, 1, 3, 5, 10, 20, None]
MEAN_PRIOR, VARIANCE_PRIOR = 3.0, 10.0


class Population:
    """The training speakers' statistics every estimator shrinks toward."""

    def __init__(self, x, groups):
        speakers = np.unique(groups)
        means = np.array([x[groups == s].mean(0) for s in speakers])
        self.mean = means.mean(0)
        self.within = np.mean([x[groups == s].var(0) for s in speakers], axis=0)
        counts = np.array([(groups == s).sum() for s in speakers])
        between = np.maximum(means.var(0, ddof=1) - self.within / counts.mean(), 1e-12)
        self.feature_prior = self.within / between
        _, singular, directions = np.linalg.svd(means - self.mean, full_matrices=False)
        self.directions = directions.T  # d × (speakers)
        self.factor_variance = singular ** 2 / (len(speakers) - 1)

    def speaker_mean(self, estimator, rows):
        k = len(rows)
        total = rows.sum(0)
        if estimator == "shipped":
            return (total + MEAN_PRIOR * self.mean) / (k + MEAN_PRIOR)
        if estimator == "per-feature":
            return (total + self.feature_prior * self.mean) / (k + self.feature_prior)
        r = int(estimator.split("r=")[1].rstrip(")"))
        u, variance = self.directions[:, :r], self.factor_variance[:r]
        precision = np.diag(1 / variance) + k * (u.T / self.within) @ u
        factors = np.linalg.solve(precision, (u.T / self.within) @ (total - k * self.mean))
        offset = total / k - self.mean
        rest = offset - u @ (u.T @ offset)
        return self.mean + u @ factors + k / (k + MEAN_PRIOR) * rest

    def standardize(self, estimator, x, rows):
        mean = self.speaker_mean(estimator, rows)
        variance = (((rows - mean) ** 2).sum(0) + VARIANCE_PRIOR * self.within) / (len(rows) + VARIANCE_PRIOR)
        return (x - mean) / np.sqrt(variance)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", help="a `ser-bench embed` table of these files to reuse (written when missing)")
    parser.add_argument("--layers", default="1,2,3,4,5,6", help="encoder layers pooled (0: the convolutions)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("corpus", nargs="?", default=os.path.join(CORPORA, "ravdess"))
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.corpus, "**", "*.flac"), recursive=True))
    if not files:
        sys.exit(f"no RAVDESS or CREMA-D files under {args.corpus}")
    table, y, groups = encoder_table(files, ["--pad-seconds", "0"], args.table)
    layers = [int(v) for v in args.layers.split(",")]
    x = np.concatenate([table[:, layer] for layer in layers], axis=1).astype(np.float64)
    estimators = ["shipped", "per-feature", "subspace (r=8)", f"subspace (r={len(np.unique(groups)) * 4 // 5 - 1})"]
    correct = {e: {k: 0 for k in KS} for e in estimators}
    scored = {k: 0 for k in KS}
    population_blend = 0  # k = 0, the adapted classifier at the population's statistics blended in by 1/2
    order_source = np.random.default_rng(args.seed)
    for train, test in GroupKFold(5).split(x, y, groups):
        scaler = StandardScaler().fit(x[train])
        lone = LogisticRegression(C=0.1, max_iter=3000).fit(scaler.transform(x[train]), y[train])
        normalized = speaker_z(x[train], groups[train])
        adapted_scaler = StandardScaler().fit(normalized)
        adapted = LogisticRegression(C=0.1, max_iter=3000).fit(adapted_scaler.transform(normalized), y[train])
        population = Population(x[train], groups[train])
        for speaker in np.unique(groups[test]):
            order = order_source.permutation(np.where(groups == speaker)[0])
            n = len(order)
            lone_p = lone.predict_proba(scaler.transform(x[order]))
            for k in KS:
                scored[k] += n
                if k == 0:
                    hits = (lone.classes_[lone_p.argmax(1)] == y[order]).sum()
                    for e in estimators:
                        correct[e][k] += hits
                    at_population = (x[order] - population.mean) / np.sqrt(population.within)
                    p = 0.5 * lone_p + 0.5 * adapted.predict_proba(adapted_scaler.transform(at_population))
                    population_blend += (lone.classes_[p.argmax(1)] == y[order]).sum()
                    continue
                context = [order if k is None else order[[(i - j) % n for j in range(1, k + 1)]] for i in range(n)]
                weight = (n if k is None else k) / ((n if k is None else k) + 1)
                for e in estimators:
                    z = np.array([population.standardize(e, x[order[i]], x[context[i]]) for i in range(n)])
                    p = (1 - weight) * lone_p + weight * adapted.predict_proba(adapted_scaler.transform(z))
                    correct[e][k] += (lone.classes_[p.argmax(1)] == y[order]).sum()
    print(f"{len(y)} files, {len(np.unique(groups))} speakers, layers {layers}; accuracy % at k recordings")
    print(f"{'estimator':20s}" + "".join(f"{'all' if k is None else k:>7}" for k in KS) + "   closure at 5")
    for e in estimators:
        row = [100 * correct[e][k] / scored[k] for k in KS]
        closure = (row[3] - row[0]) / (row[-1] - row[0]) if row[-1] > row[0] else float("nan")
        print(f"{e:20s}" + "".join(f"{v:7.1f}" for v in row) + f"   {100 * closure:5.0f} %")
    print(f"k = 0 with the adapted classifier at the population's statistics blended in by 1/2: "
          f"{100 * population_blend / scored[0]:.1f} %")


if __name__ == "__main__":
    main()
