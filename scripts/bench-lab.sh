#!/usr/bin/env bash
# Runs lab-bench: brindle's node agent in virtual 3-node clusters side by side with BIRD 2
# configured as Calico's confd configures it, in one run; then `brindle-lab up` of 3 nodes x 2
# pods to a passing check, when the brindle-lab program exists.
#
# Everything happens in throw-away network namespaces named lb<4 hex>-… (lab-bench's own labs)
# and <LAB_NAME>-… (brindle-lab's). On exit, on failure and on Ctrl-C the benchmark is stopped and
# whatever it left is removed: its labs (lab-bench --cleanup removes lb labs whose owner process
# is gone) and brindle-lab's lab (brindle-lab down). The machine's own interfaces are never
# touched.
#
# Environment: PODS (50), LAB_BIN (brindle-lab program, default $TARGET/release/brindle-lab).
# Arguments are passed to lab-bench (e.g. --only brindle,bird,up, --warmup N, --scan-time S).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release"
PODS="${PODS:-50}"
LAB_BIN="${LAB_BIN:-$BIN/brindle-lab}"
LAB_NAME="bup$(printf '%05d' $(($$ % 100000)))"
BENCH_PID=""

cleanup() {
  set +e
  if [ -n "$BENCH_PID" ]; then
    kill "$BENCH_PID" 2>/dev/null
    wait "$BENCH_PID" 2>/dev/null
  fi
  "$BIN/lab-bench" --cleanup
  if [ -x "$LAB_BIN" ]; then
    "$LAB_BIN" down --name "$LAB_NAME" >/dev/null 2>&1
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in brindle-node brindle brindlectl lab-bench; do
  [ -x "$BIN/$b" ] || { echo "bench-lab: $BIN/$b is missing (run make bench-lab)" >&2; exit 1; }
done
for p in bird birdc ip; do
  command -v "$p" >/dev/null || { echo "bench-lab: $p is missing (run make deps)" >&2; exit 1; }
done

# In the background, so that a signal to this script runs the cleanup (which stops it) at once.
"$BIN/lab-bench" --bin-dir "$BIN" --lab-bin "$LAB_BIN" --lab-name "$LAB_NAME" --pods "$PODS" "$@" &
BENCH_PID=$!
status=0
wait "$BENCH_PID" || status=$?
BENCH_PID=""
exit "$status"
