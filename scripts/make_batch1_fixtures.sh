#!/usr/bin/env bash
# Remakes fixtures/batch1/: what the default (batch 1) run prints and saves, for v1
# and v2, 20 steps and 5 samples each. xtask/tests/batch1.rs requires today's code
# to reproduce these files byte for byte, with --batch-size 1 and without.
#
# First made at commit f242f76 (before --batch-size existed), with this script;
# remade at 9a12c0e (perf merged, still before batches), when the fast arithmetic
# dropped its fused multiply-adds.
# Rerun it only when the fast arithmetic changes on purpose (say, its multiply-adds),
# and say so in the commit: the test exists to catch changes that were not meant.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/batch1
mkdir -p "$out"
for preset in v1 v2; do
    rm -f "$out/$preset.json"
    cargo xtask train --preset "$preset" --steps 20 --samples 5 \
        --save "$out/$preset.json" > "$out/$preset.txt"
done
