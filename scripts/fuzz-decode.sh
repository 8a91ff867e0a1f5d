#!/usr/bin/env bash
# Runs the libFuzzer target for the decode path for a bounded time.
#
#   scripts/fuzz-decode.sh [SECONDS] [extra libFuzzer flags]
#
# Seeds the corpus with small valid files of every format libsndfile reads
# (made here with sox and ffmpeg), then fuzzes with AddressSanitizer. Crashing
# inputs land in Fuzz/artifacts/. Exit status is libFuzzer's: 0 when clean.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"; shift || true

swift build --package-path Fuzz -c release --product DecodeFuzzer \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | grep -v "Cannot export local symbol" >&2 || true
binary="$(swift build --package-path Fuzz -c release --show-bin-path)/DecodeFuzzer"

corpus=Fuzz/corpus; artifacts=Fuzz/artifacts
mkdir -p "$corpus" "$artifacts"
if [ -z "$(ls -A "$corpus")" ]; then
    seed=$(mktemp -d)
    sox -n -r 8000 -c 1 -b 16 "$seed/a.wav" synth 0.05 sine 440
    sox -n -r 8000 -c 2 -b 24 "$seed/b.wav" synth 0.05 sine 440 sine 880
    sox -n -r 8000 -c 1 -e floating-point -b 32 "$seed/c.wav" synth 0.05 sine 300
    sox -n -r 8000 -c 1 -b 8 -e unsigned "$seed/d.wav" synth 0.05 sine 300
    sox -n -r 8000 -c 1 -b 16 "$seed/e.aiff" synth 0.05 sine 440
    sox -n -r 8000 -c 1 -b 16 "$seed/f.flac" synth 0.05 sine 440
    sox -n -r 8000 -c 1 -b 16 "$seed/g.au" synth 0.05 sine 440
    sox -n -r 16000 -c 1 "$seed/h.ogg" synth 0.1 sine 440
    ffmpeg -v error -nostdin -f lavfi -i "sine=f=440:r=16000:d=0.1" -c:a libmp3lame "$seed/i.mp3"
    ffmpeg -v error -nostdin -f lavfi -i "sine=f=440:r=16000:d=0.1" -c:a libopus "$seed/j.opus"
    ffmpeg -v error -nostdin -f lavfi -i "sine=f=440:r=8000:d=0.05" -c:a adpcm_ima_wav "$seed/k.wav"
    ffmpeg -v error -nostdin -f lavfi -i "sine=f=440:r=8000:d=0.05" -f w64 "$seed/l.w64"
    cp "$seed"/* "$corpus"/
    rm -rf "$seed"
fi

export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan-suppressions.txt:print_suppressions=0"
exec "$binary" "$corpus" -artifact_prefix="$artifacts/" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@"
