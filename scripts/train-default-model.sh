#!/bin/sh
# Trains the shipped default models with ser's own `ser train` on the development
# corpora beside the checkout, measuring each first by 5-fold speaker-independent
# cross-validation (stored in the model and in its HTML report). Run by `make model`.
#
#   models/default.safetensors              Whisper-base encoder (every block) + functionals, logistic
#                                           regression (needs `ser encoder install`)
#   models/default-handcrafted.safetensors  `functionals`, logistic regression: what answers
#                                           when the encoder is not installed
#
# `scripts/train-default-model.sh [CORPORA] [encoder|handcrafted]` trains one of them.
# About 35 minutes for both on 2 cores the first time (features are cached afterwards).
set -eu
corpora="${1:-../shared/corpora}"
which="${2:-both}"
for corpus in ravdess crema-d tess savee; do
    [ -d "$corpora/$corpus" ] || { echo "missing $corpora/$corpus" >&2; exit 1; }
done
swift build -c release --product ser
data="$corpora/ravdess $corpora/crema-d $corpora/tess $corpora/savee"
if [ "$which" != handcrafted ]; then
    .build/release/ser encoder install
    # shellcheck disable=SC2086
    .build/release/ser train --data $data \
        --architecture logreg --l2 0.01 --features whisper-blocks+functionals --cv speakers:5 --seed 1 --adaptive \
        --out models/default.safetensors --report models/default-report.html
    .build/release/ser model info models/default.safetensors
fi
if [ "$which" != encoder ]; then
    # shellcheck disable=SC2086
    .build/release/ser train --data $data \
        --architecture logreg --features functionals --cv speakers:5 --seed 1 --adaptive \
        --out models/default-handcrafted.safetensors --report models/default-handcrafted-report.html
    .build/release/ser model info models/default-handcrafted.safetensors
fi
