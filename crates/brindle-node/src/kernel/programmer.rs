//! The blocking side: a thread that owns the netlink socket and turns best-path changes into
//! kernel routes of brindle's protocol. Errors are logged per route and never stop it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::mpsc::Receiver;

use brindle_bgp::speaker::RouteUpdate;
use brindle_netlink::{Cidr, Error, Netlink, Route, RouteFilter, RouteOp};

use super::config::KernelConfig;

/// What the thread is asked to do.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// A best-path change.
    Update(RouteUpdate),
    /// The sessions have converged: delete the routes left by an earlier run that were not
    /// learned again.
    Sweep,
    /// The speaker stopped: delete every route of our protocol in our table, then end.
    Stop,
    /// The agent stops for a restart: leave the routes in place (peers with graceful restart
    /// keep ours, the next run adopts these), then end.
    Detach,
}

/// Changes applied together at most (one netlink batch each few dozen).
const MAX_BATCH: usize = 4096;

/// The kernel's routing table, as the programmer uses it (a fake one in tests).
pub(crate) trait Table {
    /// Applies changes in order, one result each.
    fn apply(&mut self, ops: &[RouteOp]) -> Vec<Result<(), Error>>;
    /// The routes that pass `filter`.
    fn routes(&mut self, filter: &RouteFilter) -> Result<Vec<Route>, Error>;
}

impl Table for Netlink {
    fn apply(&mut self, ops: &[RouteOp]) -> Vec<Result<(), Error>> {
        Netlink::apply(self, ops)
    }

    fn routes(&mut self, filter: &RouteFilter) -> Result<Vec<Route>, Error> {
        Netlink::routes(self, filter)
    }
}

/// Whether `route` is one this programmer installs: a route through gateways. Routes of the
/// same protocol without a gateway (a pod's `dev cali… scope link` route written by the CNI
/// plugin, a block's `blackhole`) belong to someone else and are never touched here.
pub(crate) fn learned(route: &Route) -> bool {
    matches!(&route.target, brindle_netlink::Target::NextHops(h)
        if !h.is_empty() && h.iter().all(|n| n.gateway.is_some()))
}

fn log(msg: &str) {
    eprintln!("bgp: kernel: {msg}");
}

/// Keeps the kernel in step with the speaker's best paths.
pub(crate) struct Programmer<T> {
    table: T,
    cfg: KernelConfig,
    /// Destinations whose route in our table is ours (installed by us or found at start-up):
    /// only these are replaced; anything else is added, so that another protocol's route to
    /// the same destination is never overwritten.
    ours: BTreeSet<Cidr>,
    /// Routes of our protocol found at start-up and not learned again yet.
    stale: BTreeSet<Cidr>,
}

impl<T: Table> Programmer<T> {
    /// Takes the table over: routes of our protocol already there are remembered as stale
    /// until [`Programmer::sweep`].
    pub(crate) fn new(mut table: T, cfg: KernelConfig) -> Programmer<T> {
        let found = match table.routes(&RouteFilter::owned(cfg.table, cfg.protocol)) {
            Ok(routes) => routes.into_iter().filter(learned).map(|r| r.dst).collect(),
            Err(e) => {
                log(&e.to_string());
                BTreeSet::new()
            }
        };
        if !found.is_empty() {
            log(&format!(
                "{} route(s) of proto {} from an earlier run kept until the sessions converge",
                found.len(),
                cfg.protocol
            ));
        }
        Programmer {
            table,
            cfg,
            ours: found.clone(),
            stale: found,
        }
    }

    fn route(&self, dst: Cidr, gateways: Vec<IpAddr>) -> Route {
        Route::via(dst, gateways)
            .in_table(self.cfg.table)
            .with_protocol(self.cfg.protocol)
    }

    /// Applies best-path changes; of several changes to one prefix only the last counts.
    pub(crate) fn update(&mut self, updates: Vec<RouteUpdate>) {
        let mut last = BTreeMap::new();
        for u in updates {
            match Cidr::new(u.prefix.addr(), u.prefix.len()) {
                Ok(dst) => {
                    last.insert(dst, u.next_hops);
                }
                Err(e) => log(&e.to_string()),
            }
        }
        let mut ops = Vec::with_capacity(last.len());
        for (dst, hops) in last {
            self.stale.remove(&dst);
            let route = self.route(dst, hops);
            if matches!(&route.target, brindle_netlink::Target::NextHops(h) if h.is_empty()) {
                if self.ours.remove(&dst) {
                    ops.push(RouteOp::Delete(route));
                }
            } else if self.ours.contains(&dst) {
                ops.push(RouteOp::Replace(route));
            } else {
                ops.push(RouteOp::Add(route));
            }
        }
        let results = self.table.apply(&ops);
        for (op, result) in ops.iter().zip(results) {
            match (op, result) {
                (RouteOp::Add(r), Ok(())) => {
                    self.ours.insert(r.dst);
                }
                (_, Ok(())) => {}
                (RouteOp::Delete(_), Err(e)) if e.is_not_found() => {}
                (RouteOp::Add(_), Err(e)) if e.already_exists() => log(&format!(
                    "{}: left alone, the table has a route of another protocol there",
                    op.describe()
                )),
                (_, Err(e)) => log(&e.to_string()),
            }
        }
    }

    /// Deletes the routes found at start-up that were not learned again.
    pub(crate) fn sweep(&mut self) {
        let stale = std::mem::take(&mut self.stale);
        if stale.is_empty() {
            return;
        }
        let ops: Vec<RouteOp> = stale
            .iter()
            .map(|dst| RouteOp::Delete(self.route(*dst, Vec::new())))
            .collect();
        let removed = self.delete(&ops);
        for dst in &stale {
            self.ours.remove(dst);
        }
        log(&format!(
            "removed {removed} stale route(s) of proto {} from an earlier run",
            self.cfg.protocol
        ));
    }

    /// Deletes every route of our protocol in our table (found by a dump, so routes whose
    /// bookkeeping went wrong go too).
    pub(crate) fn withdraw_all(&mut self) {
        let filter = RouteFilter::owned(self.cfg.table, self.cfg.protocol);
        let routes = match self.table.routes(&filter) {
            Ok(r) => r,
            Err(e) => {
                log(&e.to_string());
                return;
            }
        };
        let ops: Vec<RouteOp> = routes
            .into_iter()
            .filter(learned)
            .map(RouteOp::Delete)
            .collect();
        let removed = self.delete(&ops);
        self.ours.clear();
        self.stale.clear();
        log(&format!(
            "removed {removed} route(s) of proto {}",
            self.cfg.protocol
        ));
    }

    /// Applies deletions; returns how many routes went.
    fn delete(&mut self, ops: &[RouteOp]) -> usize {
        let mut removed = 0;
        for result in self.table.apply(ops) {
            match result {
                Ok(()) => removed += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => log(&e.to_string()),
            }
        }
        removed
    }
}

/// Runs the programmer until [`Cmd::Stop`] (or until every sender is gone, when the routes are
/// left in place, as after a crash: the next start finds them stale).
pub(crate) fn run<T: Table>(mut programmer: Programmer<T>, rx: Receiver<Cmd>) {
    serve(&mut programmer, &rx);
}

/// The loop of [`run`]: consecutive updates are applied as one batch.
fn serve<T: Table>(programmer: &mut Programmer<T>, rx: &Receiver<Cmd>) {
    let mut next = rx.recv().ok();
    while let Some(cmd) = next.take() {
        match cmd {
            Cmd::Update(u) => {
                let mut batch = vec![u];
                loop {
                    match rx.try_recv() {
                        Ok(Cmd::Update(u)) if batch.len() < MAX_BATCH => batch.push(u),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                programmer.update(batch);
            }
            Cmd::Sweep => programmer.sweep(),
            Cmd::Stop => {
                programmer.withdraw_all();
                return;
            }
            Cmd::Detach => return,
        }
        if next.is_none() {
            next = rx.recv().ok();
        }
    }
}

#[cfg(test)]
#[path = "programmer_tests.rs"]
mod tests;
