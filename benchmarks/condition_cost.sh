#!/usr/bin/env bash
# What robustness to the recording chain costs (issue 38's cost targets), each
# figure beside its reference measured in the same run by ser-bench:
#   - prediction's input path with level normalization against without it, on the
#     shipped model's features and on functionals (target: within 5 %);
#   - the shipped recipe's training with one multi-condition copy per file against
#     none, features uncached, on 160 files spread over the corpus (target: within 3x).
#
#   benchmarks/condition_cost.sh [CORPORA]      (default ../shared/corpora)
set -euo pipefail
cd "$(dirname "$0")/.."
corpora="${1:-../shared/corpora}"
swift build -c release --product ser-bench > /dev/null
files=$(find "$corpora/ravdess" -name '*.flac' | sort | awk 'NR % 60 == 1' | head -20)
# shellcheck disable=SC2086
echo "level normalization, encoder features: $(.build/release/ser-bench level-cost --repeat 3 $files)"
# shellcheck disable=SC2086
echo "level normalization, functionals:      $(.build/release/ser-bench level-cost --preset functionals --repeat 3 $files)"
echo "training with 1 condition copy:        $(.build/release/ser-bench training-cost --copies 1 --limit 160 "$corpora/ravdess")"
