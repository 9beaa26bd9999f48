# brindle — developer entry points. `make demo` and `make test` install what they need.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all deps build demo demo-resources test lint unit bench-store bench-bgp bench-cni bench-lab clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --workspace --bins

## A BGP-routed cluster in network namespaces (brindle-lab demo): 3 nodes with 2 pods each and an
## external BIRD router, their status, node1's routes, the router's routes, the ping matrix; then
## everything is removed again.
demo: build
	@$${CARGO_TARGET_DIR:-target}/debug/brindle-lab demo

## The resource workflow on the embedded (SQLite) datastore: apply examples/, read them back.
demo-resources: build
	@scripts/demo.sh

## The whole suite: formatting, lints, unit, contract and integration tests (both backends).
test: deps lint unit

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --workspace --all-targets

## Datastore benchmark: SQLite and etcd side by side (release build).
bench-store: deps
	$(CARGO) run --release -p brindle-store --features testing --bin store-bench

## BGP benchmark: brindle, BIRD 2 and GoBGP side by side (ingest of 1M routes, RR fan-out).
bench-bgp: deps
	$(CARGO) build --release -p brindle-node -p brindle-lab --bins
	@scripts/bench-bgp.sh $(BENCH_ARGS)

## CNI benchmark: brindle (brindle-ipam on SQLite and etcd, and with host-local) and the reference
## ptp + host-local side by side: ADD/DEL latency of 200 pods, sequential and 16 in parallel.
bench-cni: deps
	$(CARGO) build --release -p brindle-cni -p brindlectl --bins
	$(CARGO) build --release -p brindle-lab --bin cni-bench
	@scripts/bench-cni.sh $(BENCH_ARGS)

## Lab benchmark: 3-node clusters side by side with BIRD 2 in Calico's configuration: a new
## block's route convergence (50 CNI ADDs), `brindle-lab up` of 3 nodes x 2 pods, agents' peak RSS.
bench-lab: deps
	$(CARGO) build --release -p brindle-node -p brindle-cni -p brindlectl -p brindle-lab --bins
	@scripts/bench-lab.sh $(BENCH_ARGS)

clean:
	$(CARGO) clean
	rm -rf .demo
