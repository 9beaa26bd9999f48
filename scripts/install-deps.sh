#!/usr/bin/env bash
# Installs the Debian packages brindle's build, tests, demo and benchmarks use, when missing.
# Idempotent and quiet when everything is present. Needs root (or sudo) only if something is
# missing.
set -euo pipefail

PACKAGES=(
  etcd-server          # etcd v3 backend tests and benchmarks
  etcd-client          # etcdctl, used by tests to set up etcd authentication
  protobuf-compiler    # protoc, needed to build the etcd client's gRPC code
  libprotobuf-dev      # the well-known .proto files (google/protobuf/*.proto) protoc imports
  build-essential      # cc for the bundled SQLite
  pkg-config
  ca-certificates
  bird2                # BGP peers for brindle-lab's interop tests (bird, birdc)
  frr                  # BGP peers: FRR's bgpd and zebra, vtysh
  gobgpd               # BGP peers: gobgpd and the gobgp CLI
  iproute2             # ip netns / veth / bridge for the test networks
  iputils-ping         # ping between lab hosts
  iptables             # the CNI chain test reads the NAT rules portmap writes
  procps               # kill, used by the lab and tests to signal daemons
  containernetworking-plugins  # reference CNI plugins (host-local, portmap, bandwidth) for brindle-cni tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing missing packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # bird2 and frr (and gobgpd, under systemd) come with system services that start on install;
  # brindle-lab runs its own daemons inside network namespaces, so keep them from starting: a
  # policy-rc.d that denies starts (Debian's mechanism; container images usually ship one) for
  # the duration of the install, and the services disabled for later boots.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now -q bird.service frr.service gobgpd.service 2>/dev/null || true
  fi
fi

# `ip route` names brindle's route protocol (81): `proto brindle`.
if [ -d /etc/iproute2 ] && ! grep -qs '^81[[:space:]]\+brindle' /etc/iproute2/rt_protos.d/brindle.conf; then
  $SUDO mkdir -p /etc/iproute2/rt_protos.d
  echo "81 brindle" | $SUDO tee /etc/iproute2/rt_protos.d/brindle.conf >/dev/null
fi

# Debian's etcd-server package enables a system etcd service; brindle's tests start their own on
# free loopback ports, so a system instance is neither needed nor in the way.

# The Rust toolchain comes from rustup, not Debian (Debian 12's cargo is too old for edition 2024).
need_rust() {
  echo "$1: install Rust ≥ 1.90 with clippy and rustfmt, e.g." >&2
  echo "  curl https://sh.rustup.rs -sSf | sh -s -- -y --component clippy rustfmt" >&2
  exit 1
}
command -v cargo >/dev/null 2>&1 || need_rust "cargo not found"
ver=$(rustc --version 2>/dev/null | awk '{print $2}')
major=${ver%%.*}; rest=${ver#*.}; minor=${rest%%.*}
if [ -z "$ver" ] || [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 90 ]; }; then
  need_rust "rustc ${ver:-missing} is too old"
fi
cargo clippy --version >/dev/null 2>&1 || need_rust "cargo clippy is missing"
cargo fmt --version >/dev/null 2>&1 || need_rust "cargo fmt is missing"
