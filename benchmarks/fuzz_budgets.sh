#!/usr/bin/env bash
# The fuzzing budgets of the reliability work: every libFuzzer target run to a
# number of executions (decode 10 M, every other target 1 M by default) under
# AddressSanitizer, with the memory limits of scripts/fuzz.sh. Prints one line
# per target: executions, seconds, executions per second, peak RSS, and whether
# it ended clean. Takes about two hours on one core; CI runs the short version
# (scripts/fuzz.sh all 20) instead.
#
#   benchmarks/fuzz_budgets.sh [TARGET ...]      (default: all nine)
#   DECODE_RUNS=10000000 OTHER_RUNS=1000000 benchmarks/fuzz_budgets.sh
set -uo pipefail
cd "$(dirname "$0")/.."
decode_runs="${DECODE_RUNS:-10000000}"; other_runs="${OTHER_RUNS:-1000000}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy split multipart manifest profile model stream encoder decode)
log=$(mktemp)
printf "%-10s %12s %9s %10s %9s %s\n" target executions seconds "exec/s" "peak MB" result
for name in "${targets[@]}"; do
    runs=$other_runs; [ "$name" = decode ] && runs=$decode_runs
    started=$(date +%s)
    # A time cap far beyond the budget, so a target slower than expected still ends.
    scripts/fuzz.sh "$name" 36000 -runs="$runs" > "$log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - started ))
    executions=$(grep 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
    peak=$(grep 'stat::peak_rss_mb' "$log" | tail -1 | awk '{print $2}')
    result=clean; [ $status -ne 0 ] && result="FINDING (exit $status; see Fuzz/artifacts/$name)"
    printf "%-10s %12s %9s %10s %9s %s\n" "$name" "${executions:-?}" "$seconds" \
        "$(( ${executions:-0} / (seconds > 0 ? seconds : 1) ))" "${peak:-?}" "$result"
done
rm -f "$log"
