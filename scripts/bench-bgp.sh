#!/usr/bin/env bash
# Runs bgp-bench inside a throw-away network namespace (everything on its loopback), then
# removes the namespace — also when the benchmark fails or is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
NS="bgpbench-$$"
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# Peers need addresses that are valid next hops (not 127/8): one per peer, on one end of a veth
# pair that lives entirely inside the namespace.
ip netns exec "$NS" ip link add bench0 type veth peer name bench1
ip netns exec "$NS" ip link set bench0 up
ip netns exec "$NS" ip link set bench1 up
{
  for i in 1 2 3; do echo "addr add 10.200.0.$i/16 dev bench0"; done
  for i in $(seq 1 250); do echo "addr add 10.200.1.$i/16 dev bench0"; done
} | ip netns exec "$NS" ip -batch -
ip netns exec "$NS" "$TARGET/release/bgp-bench" --brindle "$TARGET/release/brindle-node" "$@"
