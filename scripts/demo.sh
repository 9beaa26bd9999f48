#!/usr/bin/env bash
# The resource workflow on the embedded datastore: apply the manifests in examples/, read them
# back as tables, YAML and JSON, round-trip an export, and show what bad input looks like.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${CARGO_TARGET_DIR:-target}/debug/brindlectl"
DEMO_DIR="${DEMO_DIR:-.demo}"
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
DEMO_DIR="$(realpath "$DEMO_DIR")"
export DATASTORE_TYPE=sqlite
export DATASTORE_PATH="$DEMO_DIR/datastore.db"

if [ -t 1 ]; then BOLD=$'\033[1m'; PLAIN=$'\033[0m'; else BOLD=""; PLAIN=""; fi
run() {
  local shown=()
  for a in "$@"; do
    if [[ "$a" =~ [[:space:]\"\'{}] ]]; then shown+=("'$a'"); else shown+=("$a"); fi
  done
  printf '\n%s$ brindlectl %s%s\n' "$BOLD" "${shown[*]}" "$PLAIN"
  "$BIN" "$@"
}

echo "brindle demo: datastore $DATASTORE_PATH"
for f in bgp-config nodes bgp-peers ippool; do
  run apply -f "examples/$f.yaml"
done

run get nodes -o wide
run get bgpPeer
run get ippool -o wide
run get bgpconfig
run get bgppeer peer-with-route-reflectors -o yaml
run get ippool default-ipv4-ippool -o json

echo
echo "# Export, delete and re-create the peers from the export: the specs come back unchanged."
"$BIN" get bgppeer -o yaml > "$DEMO_DIR/peers-export.yaml"
run delete -f "$DEMO_DIR/peers-export.yaml"
run create -f "$DEMO_DIR/peers-export.yaml"
"$BIN" get bgppeer -o yaml > "$DEMO_DIR/peers-again.yaml"
if diff <(grep -vE 'creationTimestamp|resourceVersion|uid' "$DEMO_DIR/peers-export.yaml") \
        <(grep -vE 'creationTimestamp|resourceVersion|uid' "$DEMO_DIR/peers-again.yaml"); then
  echo "round trip: identical"
else
  echo "round trip: DIFFERENT" >&2
  exit 1
fi

run label nodes kube-worker01 i-am-a-route-reflector=true
run patch node kube-worker01 -p '{"spec":{"bgp":{"routeReflectorClusterID":"244.0.0.1"}}}'
run get node kube-worker01 -o yaml

echo
echo "# Bad input is refused with one line naming the kind, the name and the field; nothing is written."
cat > "$DEMO_DIR/bad-pools.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.250.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.251.0.0/16
  blockSize: 33
YAML
set +e
run apply -f "$DEMO_DIR/bad-pools.yaml"
echo "(exit code $?)"
run create -f examples/ippool.yaml
echo "(exit code $?)"
set -e
run get ippools

echo
echo "Done. Try it yourself:  DATASTORE_PATH=$DATASTORE_PATH $BIN get nodes -o wide"
