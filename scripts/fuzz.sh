#!/usr/bin/env bash
# Fuzzes brindle-bgp's wire codec: every cargo-fuzz target in fuzz/ runs for $FUZZ_SECONDS
# (default 600) seconds, starting from seed messages the codec itself encodes. Exits non-zero
# when any target crashes (the input is left in fuzz/artifacts/<target>/).
#
#   FUZZ_SECONDS=60 scripts/fuzz.sh            # all targets, a minute each
#   FUZZ_TARGETS="update open" scripts/fuzz.sh  # some targets
#
# cargo-fuzz needs nightly-only -Z flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi

read -r -a targets <<< "${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"
cargo fuzz build -O
# Seed corpora: valid messages of every type, for both session flavours.
cargo run --quiet --example seeds -- corpus

failed=()
for t in "${targets[@]}"; do
    echo "=== fuzzing $t for ${FUZZ_SECONDS}s" >&2
    if ! cargo fuzz run -O "$t" -- -max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1; then
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes in ${#targets[@]} targets" >&2
