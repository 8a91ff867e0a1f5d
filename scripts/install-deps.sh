#!/usr/bin/env bash
# Installs the Debian packages ser builds and runs with, when any is missing.
#   libsndfile1-dev  decoding/encoding (WAV, AIFF, FLAC, OGG, MP3)
#   libsoxr-dev      resampling (librosa's resampler)
#   libopenblas-dev  dense matrix products (filter banks, DCT)
#   ffmpeg           MP4/M4A/WebM/MOV input (optional at run time)
#   libsqlite3-dev   the server's speaker-profile database (GRDB)
#   pkg-config       lets SwiftPM find the two C libraries
set -euo pipefail
packages=(libsndfile1-dev libsoxr-dev libopenblas-dev ffmpeg libsqlite3-dev pkg-config)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
