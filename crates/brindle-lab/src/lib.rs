//! Throw-away test networks in Linux network namespaces, with real BGP daemons in them.
//!
//! A [`Lab`] is a "switch" namespace holding a Linux bridge plus any number of [`Host`]s, each a
//! namespace whose `eth0` is a veth attached to that bridge, with an IPv4 address from the lab's
//! /24 and an IPv6 address from its ULA /64. Nothing is created in the machine's own namespace,
//! and dropping the lab removes everything it made (processes, namespaces, temp dir), also when
//! a test panics. Labs from crashed runs are removed by [`cleanup_stale`].
//!
//! BGP daemons run inside hosts, configured from one small [`BgpConfig`]: [`Bird`] (BIRD 2),
//! [`Frr`] (FRR's bgpd with zebra) and [`Gobgp`] (gobgpd). All implement [`BgpDaemon`], whose
//! queries go through each daemon's own CLI and whose `wait_*` helpers fail with the daemon's
//! log tail.
//!
//! ```no_run
//! use std::time::Duration;
//! use brindle_lab::{BgpConfig, BgpDaemon, Bird, Frr, Lab, Neighbor};
//!
//! # fn main() -> brindle_lab::Result<()> {
//! let lab = Lab::new()?;
//! let (a, b) = (lab.add_host("a")?, lab.add_host("b")?);
//! let bird = Bird::start(&a, &BgpConfig::for_host(&a, 65001)
//!     .neighbor(Neighbor::new(b.ipv4().into(), 65002))
//!     .route("192.0.2.0/24"))?;
//! let frr = Frr::start(&b, &BgpConfig::for_host(&b, 65002)
//!     .neighbor(Neighbor::new(a.ipv4().into(), 65001)))?;
//! frr.wait_established(a.ipv4().into(), Duration::from_secs(20))?;
//! let route = frr.wait_route("192.0.2.0/24".parse()?, Duration::from_secs(10))?;
//! assert_eq!(route.as_path, [65001]);
//! # drop(bird);
//! # Ok(())
//! # }
//! ```
//!
//! [`cluster`] builds persistent BGP-routed clusters of brindle nodes and pods on top of a lab
//! (the engine of the `brindle-lab` binary: `brindle-lab up`, `status`, `check`, `down`...).
//!
//! Everything needs root (network namespaces) and the Debian packages `iproute2`,
//! `iputils-ping`, `bird2`, `frr` and `gobgpd` (see `scripts/install-deps.sh`).

mod bird;
pub mod cluster;
mod config;
mod daemon;
mod error;
mod frr;
mod gobgp;
mod host;
mod lab;
mod names;
mod prefix;
mod process;
mod route;
mod stale;
pub mod stats;
mod wait;

pub use bird::Bird;
pub use config::{BgpConfig, Neighbor};
pub use daemon::{BgpDaemon, ESTABLISHED, START_TIMEOUT};
pub use error::{Error, Result};
pub use frr::Frr;
pub use gobgp::Gobgp;
pub use host::{Host, IPV4_PREFIX_LEN, IPV6_PREFIX_LEN};
pub use lab::{KEEP_ENV, Lab};
pub use names::{DEFAULT_PREFIX, RUN_DIR};
pub use prefix::{Family, IpPrefix};
pub use process::{LabProcess, tail_file};
pub use route::{KernelRoute, RouteInfo, describe_routes};
pub use stale::{StaleReport, cleanup_stale, list_namespaces, remove_orphan_namespaces};
pub use wait::{wait_for, wait_until};

/// Whether this process runs as root (network namespaces need it); tests skip without it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
