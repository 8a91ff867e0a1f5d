#!/usr/bin/env bash
# Runs the whole test suite (`make test`). A crash of the test process prints
# only the crashed thread's backtrace, and a failing run ends with a digest of
# what failed, so the last lines of the log say why.
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
exit "$status"
