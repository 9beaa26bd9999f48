//! The programmer against a fake table that answers as the kernel does (EEXIST for an add over
//! any route to the destination, ESRCH for a delete of a missing route).

use std::sync::mpsc::channel;

use brindle_netlink::{Cause, RT_TABLE_MAIN, Target};

use super::*;

#[derive(Default)]
struct Fake {
    routes: Vec<Route>,
    ops: Vec<RouteOp>,
}

fn same_slot(a: &Route, b: &Route) -> bool {
    a.dst == b.dst && a.table == b.table
}

impl Table for Fake {
    fn apply(&mut self, ops: &[RouteOp]) -> Vec<Result<(), Error>> {
        self.ops.extend_from_slice(ops);
        ops.iter()
            .map(|op| match op {
                RouteOp::Add(r) if self.routes.iter().any(|x| same_slot(x, r)) => {
                    Err(Error::new(op.describe(), Cause::Kernel(17)))
                }
                RouteOp::Add(r) => {
                    self.routes.push(r.clone());
                    Ok(())
                }
                RouteOp::Replace(r) => {
                    self.routes.retain(|x| !same_slot(x, r));
                    self.routes.push(r.clone());
                    Ok(())
                }
                RouteOp::Delete(r) => {
                    let before = self.routes.len();
                    self.routes
                        .retain(|x| !(same_slot(x, r) && x.protocol == r.protocol));
                    if self.routes.len() == before {
                        Err(Error::new(op.describe(), Cause::Kernel(3)))
                    } else {
                        Ok(())
                    }
                }
            })
            .collect()
    }

    fn routes(&mut self, filter: &RouteFilter) -> Result<Vec<Route>, Error> {
        Ok(self
            .routes
            .iter()
            .filter(|r| filter.matches(r))
            .cloned()
            .collect())
    }
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn update(prefix: &str, hops: &[&str]) -> RouteUpdate {
    RouteUpdate {
        prefix: prefix.parse().unwrap_or_else(|e| panic!("{e}")),
        next_hops: hops.iter().map(|h| ip(h)).collect(),
    }
}

fn cfg() -> KernelConfig {
    KernelConfig {
        enabled: true,
        ..KernelConfig::default()
    }
}

fn ours(dst: &str, hops: &[&str]) -> Route {
    Route::via(cidr(dst), hops.iter().map(|h| ip(h)))
}

/// The routes in the fake table, as `ip route` would print them, with their protocol.
fn table(p: &Programmer<Fake>) -> Vec<String> {
    let mut v: Vec<String> = p
        .table
        .routes
        .iter()
        .map(|r| format!("{r} proto {}", r.protocol))
        .collect();
    v.sort();
    v
}

fn op_kinds(p: &Programmer<Fake>) -> Vec<String> {
    p.table
        .ops
        .iter()
        .map(|op| op.describe().split(' ').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn learned_routes_are_added_replaced_with_ecmp_and_deleted() {
    let mut p = Programmer::new(Fake::default(), cfg());
    p.update(vec![update("10.1.0.0/24", &["10.0.0.2"])]);
    assert_eq!(table(&p), ["10.1.0.0/24 via 10.0.0.2 proto 81"]);
    p.update(vec![update("10.1.0.0/24", &["10.0.0.2", "10.0.0.3"])]);
    assert_eq!(
        table(&p),
        ["10.1.0.0/24 nexthop via 10.0.0.2 nexthop via 10.0.0.3 proto 81"]
    );
    p.update(vec![update("10.1.0.0/24", &[])]);
    assert!(table(&p).is_empty());
    assert_eq!(op_kinds(&p), ["adding", "replacing", "deleting"]);
}

#[test]
fn of_several_changes_to_a_prefix_the_last_counts() {
    let mut p = Programmer::new(Fake::default(), cfg());
    p.update(vec![
        update("10.1.0.0/24", &["10.0.0.2"]),
        update("10.1.0.0/24", &["10.0.0.3"]),
        update("fd00:1::/64", &["fd00::2"]),
        update("fd00:1::/64", &[]),
    ]);
    assert_eq!(table(&p), ["10.1.0.0/24 via 10.0.0.3 proto 81"]);
    // Nothing was sent for the IPv6 prefix: it was never installed.
    assert_eq!(op_kinds(&p), ["adding"]);
}

#[test]
fn another_protocols_route_is_never_overwritten_nor_deleted() {
    let mut fake = Fake::default();
    let connected = Route::device(cidr("10.0.0.0/24"), 2).with_protocol(2);
    fake.routes.push(connected);
    let mut p = Programmer::new(fake, cfg());
    p.update(vec![update("10.0.0.0/24", &["10.0.0.9"])]);
    assert_eq!(table(&p), ["10.0.0.0/24 dev #2 proto 2"]);
    p.update(vec![update("10.0.0.0/24", &[])]);
    assert_eq!(table(&p), ["10.0.0.0/24 dev #2 proto 2"]);
    assert_eq!(
        op_kinds(&p),
        ["adding"],
        "no delete of a route we do not own"
    );
}

#[test]
fn routes_of_an_earlier_run_stay_until_the_sweep_unless_learned_again() {
    let mut fake = Fake::default();
    fake.routes.push(ours("10.1.0.0/24", &["10.0.0.2"]));
    fake.routes.push(ours("10.2.0.0/24", &["10.0.0.2"]));
    fake.routes
        .push(ours("10.3.0.0/24", &["10.0.0.2"]).in_table(100));
    let mut p = Programmer::new(fake, cfg());
    p.update(vec![update("10.1.0.0/24", &["10.0.0.4"])]);
    assert_eq!(
        op_kinds(&p),
        ["replacing"],
        "a stale route of ours is replaced"
    );
    assert_eq!(table(&p).len(), 3);
    p.sweep();
    assert_eq!(
        table(&p),
        [
            "10.1.0.0/24 via 10.0.0.4 proto 81",
            "10.3.0.0/24 via 10.0.0.2 table 100 proto 81"
        ],
        "only the stale route of our table goes"
    );
    // A later withdrawal of the swept prefix sends nothing.
    p.update(vec![update("10.2.0.0/24", &[])]);
    assert_eq!(op_kinds(&p), ["replacing", "deleting"]);
}

#[test]
fn stop_removes_every_route_of_ours_and_nothing_else() {
    let mut fake = Fake::default();
    fake.routes
        .push(ours("10.9.0.0/24", &["10.0.0.2"]).with_protocol(12));
    let custom = KernelConfig {
        table: 100,
        protocol: 90,
        ..cfg()
    };
    let mut p = Programmer::new(fake, custom);
    p.update(vec![
        update("10.1.0.0/24", &["10.0.0.2"]),
        update("fd00:1::/64", &["fd00::2", "fd00::3"]),
    ]);
    assert!(
        p.table
            .routes
            .iter()
            .filter(|r| r.protocol == 90)
            .all(|r| r.table == 100)
    );
    p.withdraw_all();
    assert_eq!(table(&p), ["10.9.0.0/24 via 10.0.0.2 proto 12"]);
}

#[test]
fn the_thread_loop_applies_in_order_and_stops() {
    let (tx, rx) = channel();
    for c in [
        Cmd::Update(update("10.1.0.0/24", &["10.0.0.2"])),
        Cmd::Update(update("10.2.0.0/24", &["10.0.0.2"])),
        Cmd::Sweep,
        Cmd::Update(update("10.1.0.0/24", &[])),
        Cmd::Stop,
        Cmd::Update(update("10.3.0.0/24", &["10.0.0.2"])),
    ] {
        tx.send(c).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut fake = Fake::default();
    fake.routes.push(ours("10.7.0.0/24", &["10.0.0.2"]));
    let mut p = Programmer::new(fake, cfg());
    serve(&mut p, &rx);
    assert!(table(&p).is_empty(), "{:?}", table(&p));
    assert_eq!(
        op_kinds(&p),
        ["adding", "adding", "deleting", "deleting", "deleting"],
        "two adds, the sweep of 10.7, the withdrawal of 10.1, then stop's removal of 10.2"
    );
    assert!(
        !p.table
            .ops
            .iter()
            .any(|op| op.route().dst == cidr("10.3.0.0/24")),
        "nothing after Stop"
    );
    let main = p
        .table
        .ops
        .iter()
        .all(|op| op.route().table == RT_TABLE_MAIN);
    assert!(main);
    assert!(matches!(p.table.ops[0].route().target, Target::NextHops(_)));
}
