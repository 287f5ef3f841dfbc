#!/usr/bin/env bash
# Regenerates fixtures/parity/*.txt: reference runs of scripts/reference.py, a
# faithful Python implementation of microgpt, with every loss printed in full
# (repr). crates/train/tests/parity.rs replays each one exactly (as `--exact`) and
# compares every loss bit for bit, and every sample. Not part of CI; needs python3.
# With names as arguments (`make_parity_fixtures.sh v2_names_seed7`), only those.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/fixtures/parity"
names="$root/crates/train/data/names.txt"

only=("$@")

run() {
    local name="$1"; shift
    if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then
        return
    fi
    {
        echo "# args: $*"
        python3 "$root/scripts/reference.py" --full "$@"
    } > "$out/$name.txt.tmp"
    # The data path is recorded relative to the repository root.
    sed -i "1s|$root/||g" "$out/$name.txt.tmp"
    mv "$out/$name.txt.tmp" "$out/$name.txt"
    echo "wrote fixtures/parity/$name.txt"
}

run names_seed7 --data "$names" --seed 7 --steps 40 --samples 10
run accented_seed3 --data "$out/accented.txt" --seed 3 --steps 30 --temperature 0.8 --samples 8
run deep_head3 --data "$names" --seed 0 --steps 12 --n-embd 9 --n-head 3 --n-layer 3 --block-size 5 --lr 0.02 --samples 6
run wide_block16 --data "$names" --seed 123 --steps 6 --n-embd 32 --n-head 8 --n-layer 1 --block-size 16 --temperature 1.3 --samples 4
# microgpt.py v2 (the revision): its own defaults, then with some of them overridden.
run v2_names_seed7 --preset v2 --data "$names" --seed 7 --steps 40 --samples 10
run v2_accented_seed3 --preset v2 --data "$out/accented.txt" --seed 3 --steps 30 --temperature 0.8 --samples 8
run v2_deep_head3 --preset v2 --data "$names" --seed 0 --steps 12 --n-embd 9 --n-head 3 --n-layer 3 --block-size 5 --lr 0.02 --samples 6
run v2_mixed --preset v2 --data "$names" --seed 123 --steps 10 --n-embd 8 --n-head 2 --activation relu2 --zero-init-proj true --init-std 0.1 --beta1 0.8 --lr-schedule cosine --samples 5
