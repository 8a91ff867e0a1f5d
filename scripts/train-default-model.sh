#!/bin/sh
# Trains the shipped default model (models/default.safetensors) with ser's own
# `ser train` on the development corpora beside the checkout, measuring it first
# by 5-fold speaker-independent cross-validation (stored in the model and in
# models/default-report.html). Run by `make model`; takes about 10 minutes on
# 2 cores the first time (features are cached afterwards).
set -eu
corpora="${1:-../shared/corpora}"
for corpus in ravdess crema-d tess savee; do
    [ -d "$corpora/$corpus" ] || { echo "missing $corpora/$corpus" >&2; exit 1; }
done
swift build -c release --product ser
.build/release/ser train \
    --data "$corpora/ravdess" "$corpora/crema-d" "$corpora/tess" "$corpora/savee" \
    --architecture mlp --features rich --cv speakers:5 --seed 1 \
    --out models/default.safetensors --report models/default-report.html
.build/release/ser model info models/default.safetensors
