#!/usr/bin/env bash
# Makes examples/hello.flac, the recording the README's quick start reads:
# a synthetic voice (espeak-ng) at 22,050 Hz, mixed with a little room noise,
# stored as 16-bit FLAC. Run by hand; needs espeak-ng and sox.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -p 45 -w "$tmp/voice.wav" \
    "Hello. This is ser, listening to how you sound, not only to what you say."
sox "$tmp/voice.wav" -r 22050 -c 1 "$tmp/voice22.wav"
sox -n -r 22050 -c 1 "$tmp/noise.wav" synth "$(soxi -D "$tmp/voice22.wav")" pinknoise vol 0.01
sox -m "$tmp/voice22.wav" "$tmp/noise.wav" -b 16 examples/hello.flac pad 0.3 0.3
soxi examples/hello.flac
