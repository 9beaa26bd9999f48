//! The `blackhole` route of each of this node's blocks (`blackhole 192.168.1.0/26 proto
//! brindle`). Blackholes of our protocol found at start-up are adopted and kept or removed by
//! the first [`Blackholes::set`].

use std::collections::BTreeSet;

use brindle_api::net::Cidr as ApiCidr;
use brindle_netlink::{Cidr, Netlink, RT_TABLE_MAIN, Route, RouteFilter, RouteOp, Target};

/// Owns the node's blackhole routes in the main table.
pub struct Blackholes {
    netlink: Netlink,
    protocol: u8,
    current: BTreeSet<Cidr>,
}

fn convert(c: &ApiCidr) -> Option<Cidr> {
    Cidr::new(c.addr(), c.prefix()).ok()
}

impl Blackholes {
    /// Opens netlink and adopts the blackholes of `protocol` already in the main table.
    pub fn open(protocol: u8) -> Result<Blackholes, String> {
        let mut netlink = Netlink::open().map_err(|e| format!("blackhole routes: {e}"))?;
        let current = netlink
            .routes(&RouteFilter::owned(RT_TABLE_MAIN, protocol))
            .map_err(|e| format!("blackhole routes: {e}"))?
            .into_iter()
            .filter(|r| r.target == Target::Blackhole)
            .map(|r| r.dst)
            .collect();
        Ok(Blackholes {
            netlink,
            protocol,
            current,
        })
    }

    fn route(&self, dst: Cidr) -> Route {
        Route::blackhole(dst)
            .in_table(RT_TABLE_MAIN)
            .with_protocol(self.protocol)
    }

    /// Makes the blackholes exactly `wanted`; failures are logged per route.
    pub fn set(&mut self, wanted: &BTreeSet<ApiCidr>) {
        let wanted: BTreeSet<Cidr> = wanted.iter().filter_map(convert).collect();
        let mut ops = Vec::new();
        // Added, never replaced: a route someone else put there (a pod's) is left alone.
        for dst in wanted.difference(&self.current) {
            ops.push(RouteOp::Add(self.route(*dst)));
        }
        for dst in self.current.difference(&wanted) {
            ops.push(RouteOp::Delete(self.route(*dst)));
        }
        if ops.is_empty() {
            return;
        }
        for (op, result) in ops.iter().zip(self.netlink.apply(&ops)) {
            match result {
                Ok(()) => {}
                Err(e) if matches!(op, RouteOp::Delete(_)) && e.is_not_found() => {}
                Err(e) if matches!(op, RouteOp::Add(_)) && e.already_exists() => {
                    eprintln!(
                        "node: {}: another route has that prefix; left alone",
                        op.describe()
                    );
                }
                Err(e) => eprintln!("node: {e}"),
            }
        }
        self.current = wanted;
    }
}
