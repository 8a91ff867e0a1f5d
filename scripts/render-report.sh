#!/bin/sh
# Renders an HTML report (from `ser train --report` or `ser evaluate --report`)
# with headless Chromium and saves a PNG screenshot, to check it displays.
# Usage: scripts/render-report.sh REPORT.html [OUT.png]   (needs: apt install chromium)
set -eu
report="$1"
out="${2:-${report%.html}.png}"
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium not found: apt install chromium" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2400 \
    --screenshot="$out" "file://$(realpath "$report")" 2>/dev/null
echo "wrote $out"
