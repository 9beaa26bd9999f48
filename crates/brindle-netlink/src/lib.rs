//! Synchronous rtnetlink for brindle: IPv4 and IPv6 routes (add, replace, delete, dump),
//! interfaces (veth pairs created across namespaces, MAC, MTU, up/down, delete, lookup),
//! addresses (add, delete, dump, IPv6 link-local) and per-namespace sysctls ([`sysctl`]), with
//! no async runtime, so that the CNI plugin and the node agent's route-programming thread share
//! one small crate.
//!
//! Routes are unicast through one gateway or several (ECMP, `RTA_MULTIPATH`), device-only
//! (`dev cali1234 scope link`) or `blackhole`, in any table, filed under a route protocol
//! number: brindle's own is [`RTPROT_BRINDLE`], so `ip route show proto 81` lists what brindle
//! programmed and a dump by protocol finds it again after a restart.
//!
//! ```no_run
//! use brindle_netlink::{Netlink, Route, RouteFilter, RT_TABLE_MAIN, RTPROT_BRINDLE};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut nl = Netlink::open()?;
//! let dst = "10.244.1.0/26".parse()?;
//! nl.replace_route(&Route::via(dst, ["10.0.0.2".parse()?, "10.0.0.3".parse()?]))?;
//! for r in nl.routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))? {
//!     println!("{r}");
//! }
//! nl.delete_route(&Route::blackhole(dst))?; // matched by destination, table and protocol
//! # Ok(())
//! # }
//! ```
//!
//! Errors are one line that says what was being done and the kernel's words:
//! `adding route 10.1.0.0/24 via 10.0.0.2: Network is unreachable`.
//!
//! Message encoding and decoding are pure code (the `wire` and `*_msg` modules), tested
//! without a socket; the socket goes through rustix's safe API, so this crate has no unsafe
//! code. [`Netlink::open_in`] works on another network namespace (a container's) without the
//! calling thread leaving its own.

mod addr;
mod addr_msg;
mod cidr;
mod error;
mod handle;
mod handle_link;
mod link;
mod link_msg;
mod route;
mod route_msg;
mod socket;
pub mod sysctl;
mod wire;

pub use addr::{
    Address, IFA_F_DADFAILED, IFA_F_NODAD, IFA_F_PERMANENT, IFA_F_TENTATIVE, SCOPE_HOST,
    SCOPE_LINK, SCOPE_UNIVERSE,
};
pub use cidr::{Cidr, InvalidCidr};
pub use error::{Cause, Error};
pub use handle::{Netlink, RouteOp};
pub use link::{IFF_LOWER_UP, IFF_UP, InvalidMac, Link, LinkChange, MacAddr, Veth};
pub use route::{NextHop, Route, RouteFilter, Target};

/// brindle's route protocol number (`proto 81` in `ip route`).
///
/// Unassigned in the kernel's `rtnetlink.h` and in iproute2's `rt_protos` (which name 0–4, 8–18,
/// 42, 99, 186–189 and 192), and not Calico's: BIRD under Calico files routes as `proto bird`
/// (12) and Felix without BIRD as `proto 80`. Using a number of its own lets brindle delete
/// exactly its routes, stale ones after a crash included, even on a host migrating from Calico.
pub const RTPROT_BRINDLE: u8 = 81;

/// The main routing table (`table main`).
pub const RT_TABLE_MAIN: u32 = 254;
