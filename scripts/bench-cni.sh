#!/usr/bin/env bash
# Runs cni-bench: brindle's CNI plugin (IPAM by brindle-ipam on SQLite and on etcd, and by the
# reference host-local) side by side with the reference ptp + host-local, in one run.
#
# Everything happens in throw-away network namespaces: a "host" namespace where the plugins run
# (and etcd listens on its loopback) and one namespace per pod. They, etcd, and the temporary
# directory (datastores, host-local state, configs) are removed on exit, on failure and on
# Ctrl-C. The machine's own interfaces are never touched.
#
# Environment: PODS (200), PARALLEL (16), CASES (space-separated subset of
# "ptp brindle-hl brindle-sqlite brindle-etcd", default all).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
PODS="${PODS:-200}"
PARALLEL="${PARALLEL:-16}"
CASES="${CASES:-ptp brindle-hl brindle-sqlite brindle-etcd}"
CNI_DIR=/usr/lib/cni
PFX="cnib$$-"
HOST="${PFX}host"
WORK=""
ETCD_PID=""
BENCH_PID=""

cleanup() {
  set +e
  if [ -n "$BENCH_PID" ]; then
    kill "$BENCH_PID" 2>/dev/null
    wait "$BENCH_PID" 2>/dev/null
  fi
  if [ -n "$ETCD_PID" ]; then
    kill "$ETCD_PID" 2>/dev/null
    wait "$ETCD_PID" 2>/dev/null
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PFX}"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    echo "netns del $ns"
  done | ip -batch - 2>/dev/null
  [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$TARGET/release/brindle" "$TARGET/release/brindlectl" "$TARGET/release/cni-bench"; do
  [ -x "$b" ] || { echo "bench-cni: $b is missing (run make bench-cni)" >&2; exit 1; }
done
for p in ptp host-local; do
  [ -x "$CNI_DIR/$p" ] || { echo "bench-cni: $CNI_DIR/$p is missing (containernetworking-plugins; run make deps)" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/cni-bench.XXXXXX)"
mkdir -p "$WORK/bin" "$WORK/state"
# The runtime's CNI_PATH: brindle under both of its names, and the reference plugins.
ln -s "$(realpath "$TARGET/release/brindle")" "$WORK/bin/brindle"
ln -s "$(realpath "$TARGET/release/brindle")" "$WORK/bin/brindle-ipam"
ln -s "$CNI_DIR/ptp" "$WORK/bin/ptp"
ln -s "$CNI_DIR/host-local" "$WORK/bin/host-local"
echo 1500 > "$WORK/state/mtu"

{
  echo "netns add $HOST"
  for i in $(seq 0 $((PODS - 1))); do echo "netns add ${PFX}p$i"; done
} | ip -batch -
ip netns exec "$HOST" ip link set lo up

ctl() { ip netns exec "$HOST" "$TARGET/release/brindlectl" "$@"; }
resources() { # $1: pool CIDR
  cat <<EOF
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: bench-node
spec: {}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: bench-pool
spec:
  cidr: $1
  blockSize: 26
  ipipMode: Never
  natOutgoing: false
EOF
}

SQLITE="\"datastore_type\": \"sqlite\", \"datastore_path\": \"$WORK/datastore.db\""
ETCD="\"datastore_type\": \"etcdv3\", \"etcd_endpoints\": \"http://127.0.0.1:23790\""
brindle_conf() { # $1: datastore fields, $2: ipam object
  cat <<EOF
{"cniVersion": "1.0.0", "name": "bench", "type": "brindle", "nodename": "bench-node",
 "state_dir": "$WORK/state", $1, "ipam": $2}
EOF
}

args=()
for c in $CASES; do
  case "$c" in
    ptp)
      cat > "$WORK/ptp.json" <<EOF
{"cniVersion": "1.0.0", "name": "bench", "type": "ptp", "ipMasq": false, "mtu": 1500,
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.81.0.0/16"}]], "dataDir": "$WORK/hl-ptp"}}
EOF
      args+=(--case "ptp+host-local=$WORK/ptp.json") ;;
    brindle-hl)
      resources 10.83.0.0/16 | ctl apply -f - --datastore-type sqlite --datastore-path "$WORK/datastore.db" >/dev/null
      brindle_conf "$SQLITE" "{\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.82.0.0/16\"}]], \"dataDir\": \"$WORK/hl-brindle\"}" > "$WORK/brindle-hl.json"
      args+=(--case "brindle+host-local=$WORK/brindle-hl.json") ;;
    brindle-sqlite)
      resources 10.83.0.0/16 | ctl apply -f - --datastore-type sqlite --datastore-path "$WORK/datastore.db" >/dev/null
      brindle_conf "$SQLITE" '{"type": "brindle-ipam", "ipv4_pools": ["bench-pool"]}' > "$WORK/brindle-sqlite.json"
      args+=(--case "brindle SQLite=$WORK/brindle-sqlite.json" --sqlite-case "brindle SQLite") ;;
    brindle-etcd)
      if [ -z "$ETCD_PID" ]; then
        ip netns exec "$HOST" etcd --name bench --data-dir "$WORK/etcd" \
          --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
          --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
          --initial-cluster bench=http://127.0.0.1:23800 --log-level error >"$WORK/etcd.log" 2>&1 &
        ETCD_PID=$!
        for _ in $(seq 100); do
          ctl get ippool --datastore-type etcdv3 --etcd-endpoints http://127.0.0.1:23790 >/dev/null 2>&1 && break
          kill -0 "$ETCD_PID" 2>/dev/null || { echo "bench-cni: etcd exited: $(tail -3 "$WORK/etcd.log")" >&2; exit 1; }
          sleep 0.1
        done
      fi
      resources 10.84.0.0/16 | ctl apply -f - --datastore-type etcdv3 --etcd-endpoints http://127.0.0.1:23790 >/dev/null
      brindle_conf "$ETCD" '{"type": "brindle-ipam", "ipv4_pools": ["bench-pool"]}' > "$WORK/brindle-etcd.json"
      args+=(--case "brindle etcd=$WORK/brindle-etcd.json") ;;
    *) echo "bench-cni: unknown case $c (ptp, brindle-hl, brindle-sqlite, brindle-etcd)" >&2; exit 1 ;;
  esac
done

# In the background, so that a signal to this script runs the cleanup (which stops it) at once.
ip netns exec "$HOST" "$TARGET/release/cni-bench" --cni-path "$WORK/bin" --netns-prefix "${PFX}p" \
  --pods "$PODS" --parallel "$PARALLEL" "${args[@]}" "$@" &
BENCH_PID=$!
status=0
wait "$BENCH_PID" || status=$?
BENCH_PID=""
exit "$status"
