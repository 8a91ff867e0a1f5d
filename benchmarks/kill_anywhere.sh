#!/usr/bin/env bash
# The kill -9 harness at its full budget: 20 random kill points for each of
# `ser train`, `ser features` (into the cache), `ser convert`, and the speaker
# profile database under concurrent requests (the test suite runs 5 of each).
# SER_KILL_SEED=N replays the moments of an earlier run; the seed is printed.
#
#   benchmarks/kill_anywhere.sh [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
export SER_KILL_POINTS="${1:-20}"
swift build --build-tests >/dev/null 2>&1
swift test --skip-build --filter "KillAnywhereTests|aServerKilledDuringProfileUpdatesLeavesAConsistentDatabase" \
    2>&1 | grep --line-buffered -E "kill moments|✔ Test|✘|passed after|failed after|recorded an issue"
