//! brindle's CNI plugins in one synchronous binary: `brindle`, the main plugin (a veth per pod,
//! its host end routed with a `/32 scope link` route, addresses from IPAM), and `brindle-ipam`,
//! the IPAM plugin; which one is chosen by the name the binary is run as.
//!
//! CNI spec 1.1.0 (ADD, DEL, CHECK, STATUS, GC, VERSION); configurations declaring 0.3.0,
//! 0.3.1, 0.4.0, 1.0.0 or 1.1.0 get results in their own format. Errors are the spec's error
//! object on stdout with a non-zero exit, and a failed ADD leaves nothing behind.

pub mod config;
pub mod datapath;
pub mod endpoint;
pub mod ipam;
pub mod plugin;
pub mod result;
pub mod sha1;
pub mod spec;
pub mod store;

pub use plugin::{Outcome, Role, run};
