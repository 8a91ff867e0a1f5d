#!/usr/bin/env bash
# Runs the whole test suite (`make test`): the Swift tests (among them the
# kill -9 harness at 5 kill points per command), then the reliability checks:
# every fuzz target for 20 s under AddressSanitizer (scripts/fuzz.sh all 20)
# and a 60 s soak of `ser serve` (benchmarks/serve_soak.py). SER_SKIP_RELIABILITY=1
# runs only the Swift tests. A crash of the test process prints only the
# crashed thread's backtrace, and a failing run ends with a digest of what
# failed, so the last lines of the log say why.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp "${TMPDIR:-/tmp}/ser-tests.XXXXXX.log")
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none}"
swift test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "=== the test run failed (exit $status); what went wrong, from $log ==="
    grep -E "^✘|Fatal error|Program crashed|crashed:|error:|Issue recorded" "$log" | head -40
    # The crashed thread's frames, in full.
    awk '/crashed:$/ {keep=1} keep && /^$/ {blank++} keep && blank < 2 {print} blank >= 2 {exit}' "$log" | head -60
else
    rm -f "$log"
fi
if [ "$status" -eq 0 ] && [ -z "${SER_SKIP_RELIABILITY:-}" ]; then
    echo "=== fuzzing every parser of untrusted bytes, 20 s each ==="
    scripts/fuzz.sh all 20 2>&1 | grep -E "^fuzz.sh:|stat::number_of_executed_units|ERROR|deadly|Test unit written" || true
    fuzz_status=${PIPESTATUS[0]}
    [ "$fuzz_status" -ne 0 ] && { echo "=== a fuzz target found an input that fails (exit $fuzz_status); see Fuzz/artifacts ==="; status=$fuzz_status; }
    echo "=== soaking ser serve for 60 s ==="
    swift build --product ser >/dev/null 2>&1
    python3 benchmarks/serve_soak.py --binary "$(swift build --show-bin-path)/ser" --seconds 60 || status=$?
fi
exit "$status"
