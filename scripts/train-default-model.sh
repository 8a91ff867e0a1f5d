#!/bin/sh
# Trains the shipped default models with ser's own `ser train` on the development
# corpora beside the checkout, measuring each first by 5-fold speaker-independent
# cross-validation, clean and under the standard recording conditions (a quarter
# of the recordings, chosen by path), stored in the model and in its HTML report.
# Run by `make model`. Both use ser train's default recipe (TrainingRecipe.shipped
# and .handcrafted): logistic regression, speaker-adaptive, level-normalized, one
# multi-condition copy of every file.
#
#   models/default.safetensors              Whisper-base encoder (every block) + functionals
#                                           (needs `ser encoder install`)
#   models/default-handcrafted.safetensors  `functionals`: what answers when the
#                                           encoder is not installed
#
# `scripts/train-default-model.sh [CORPORA] [encoder|handcrafted]` trains one of them.
# About 90 minutes for both on 2 cores the first time (features are cached afterwards).
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
    .build/release/ser train --data $data --cv speakers:5 --conditions --condition-share 0.25 \
        --out models/default.safetensors --report models/default-report.html
    .build/release/ser model info models/default.safetensors
fi
if [ "$which" != encoder ]; then
    # shellcheck disable=SC2086
    .build/release/ser train --data $data --features functionals --cv speakers:5 --conditions --condition-share 0.25 \
        --out models/default-handcrafted.safetensors --report models/default-handcrafted-report.html
    .build/release/ser model info models/default-handcrafted.safetensors
fi
