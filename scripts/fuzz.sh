#!/usr/bin/env bash
# Runs ser's libFuzzer targets under AddressSanitizer for a bounded time.
#
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
#   scripts/fuzz.sh all SECONDS          every target, SECONDS each (what `make fuzz` runs)
#
# Targets (Fuzz/Sources/*Fuzzer):
#   decode     audio bytes through content sniffing, libsndfile, mixing and resampling
#   model      model files: safetensors, every classifier family, ensembles, corpus heads, adapted part
#   encoder    the encoder's weights: CTranslate2 model.bin and ser's converted file
#   manifest   batch and corpus manifests, CSV and JSON lines
#   split      split files from `ser corpus split`
#   profile    speaker profile files
#   multipart  multipart/form-data upload bodies
#   stream     the /v1/stream format message and PCM frames
#   npy        .npy files (the feature cache)
#
# Each target's corpus (Fuzz/corpus/TARGET) is seeded on first use with valid
# files the target writes itself (`--write-seeds`); decode's with small files
# of every format sox and FFmpeg write. Memory is bounded: an input that makes
# the process pass 2 GB, or asks for one allocation over 512 MB, is a finding,
# as is a crash, a hang over 10 s or an AddressSanitizer report. Findings land
# in Fuzz/artifacts/TARGET/. Exit status: 0 when every run was clean.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags]}"
seconds="${2:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags]}"
shift 2

declare -A executable=([decode]=DecodeFuzzer [model]=ModelFileFuzzer [encoder]=EncoderWeightsFuzzer
    [manifest]=ManifestFuzzer [split]=SplitFileFuzzer [profile]=ProfileFuzzer [multipart]=MultipartFuzzer
    [stream]=StreamFuzzer [npy]=NpyFuzzer)
declare -A maxLength=([decode]=65536 [model]=65536 [encoder]=65536 [stream]=4096)
order=(decode model encoder manifest split profile multipart stream npy)

if [ "$target" = all ]; then targets=("${order[@]}"); else
    [ -n "${executable[$target]:-}" ] || { echo "fuzz.sh: unknown target $target (one of: ${order[*]}, all)" >&2; exit 2; }
    targets=("$target")
fi

# A failed build must stop the run: stale binaries would fuzz old code. SwiftPM's cached
# build description of this package can miss source files added to ser since the last
# fuzz build, so a failure is retried once with the description dropped.
build_fuzzers() {
    swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld \
        > "${TMPDIR:-/tmp}/ser-fuzz-build.log" 2>&1
}
if ! build_fuzzers && ! { rm -f Fuzz/.build/release.yaml; build_fuzzers; }; then
    grep -v "Cannot export local symbol" "${TMPDIR:-/tmp}/ser-fuzz-build.log" | grep -E "error" | head -20 >&2
    echo "fuzz.sh: the fuzz targets did not build (log: ${TMPDIR:-/tmp}/ser-fuzz-build.log)" >&2
    exit 3
fi
bin="$(swift build --package-path Fuzz -c release --show-bin-path)"

seed_decode() {
    local tone="sine=f=440:r=8000:d=0.05" a=(ffmpeg -v error -nostdin -y -f lavfi)
    "${a[@]}" -i "$tone" -c:a pcm_s16le "$1/a.wav"
    "${a[@]}" -i "$tone" -ac 2 -c:a pcm_s24le "$1/b.wav"
    "${a[@]}" -i "$tone" -c:a pcm_f32le "$1/c.wav"
    "${a[@]}" -i "$tone" -c:a pcm_u8 "$1/d.wav"
    "${a[@]}" -i "$tone" -c:a pcm_s16be "$1/e.aiff"
    "${a[@]}" -i "$tone" -c:a flac "$1/f.flac"
    "${a[@]}" -i "$tone" -c:a pcm_s16be "$1/g.au"
    "${a[@]}" -i "sine=f=440:r=16000:d=0.1" -c:a libvorbis "$1/h.ogg"
    "${a[@]}" -i "sine=f=440:r=16000:d=0.1" -c:a libmp3lame "$1/i.mp3"
    "${a[@]}" -i "sine=f=440:r=16000:d=0.1" -c:a libopus "$1/j.opus"
    "${a[@]}" -i "$tone" -c:a adpcm_ima_wav "$1/k.wav"
    "${a[@]}" -i "$tone" -f w64 "$1/l.w64"
}

# Swift's own backtracer would catch a trap before libFuzzer could save the input.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan-suppressions.txt:print_suppressions=0"
status=0
for name in "${targets[@]}"; do
    corpus="Fuzz/corpus/$name"; artifacts="Fuzz/artifacts/$name"
    mkdir -p "$corpus" "$artifacts"
    if [ -z "$(ls -A "$corpus")" ]; then
        ASAN_OPTIONS=detect_leaks=0 "$bin/${executable[$name]}" --write-seeds "$corpus" >&2
        [ "$name" = decode ] && seed_decode "$corpus"
    fi
    echo "fuzz.sh: $name for ${seconds} s" >&2
    "$bin/${executable[$name]}" "$corpus" -artifact_prefix="$artifacts/" -max_total_time="$seconds" \
        -max_len="${maxLength[$name]:-16384}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -close_fd_mask=2 -print_final_stats=1 "$@" || status=$?
done
exit $status
