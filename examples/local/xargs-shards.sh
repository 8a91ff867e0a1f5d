#!/bin/bash
# One machine, N processes at once, with no scheduler: xargs -P runs one ser
# per shard; ser merge joins the parts. Rerunning after an interruption
# finishes only what was left.
#   examples/local/xargs-shards.sh corpora/ table.npy 4
set -euo pipefail
TREE=${1:?usage: xargs-shards.sh AUDIO_TREE OUT.npy [SHARDS]}
OUT=${2:?usage: xargs-shards.sh AUDIO_TREE OUT.npy [SHARDS]}
SHARDS=${3:-$(nproc)}
MANIFEST="${OUT%.*}.files.jsonl"
[ -f "$MANIFEST" ] || ser manifest "$TREE" --out "$MANIFEST"
# A shard exits 1 when some of its files could not be read (each is named on
# stderr; its part is still complete), so go on to the merge, which checks the parts.
seq 0 $((SHARDS - 1)) | xargs -P "$SHARDS" -I{} \
    ser features --manifest "$MANIFEST" --preset functionals --shard {}/"$SHARDS" --out "$OUT" || true
ser merge --out "$OUT"
