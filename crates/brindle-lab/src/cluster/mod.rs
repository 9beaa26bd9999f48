//! Persistent BGP-routed clusters in network namespaces: the engine of the `brindle-lab`
//! binary.
//!
//! [`up`] builds a lab that outlives the command: a switch namespace with a bridge, one
//! namespace per node (`<lab>-node1`…) running the agent `brindle-node run`, a shared datastore
//! (a SQLite file, or etcd in `<lab>-etcd`), optionally an external router (`<lab>-router`,
//! BIRD, FRR or GoBGP in AS 64513 advertising the VIP 10.99.0.1), and pods
//! (`<lab>-node1-pod1`…) wired by the CNI plugin exactly as a container runtime calls it.
//! What it built is recorded in `<dir>/state.json` ([`LabState`]), which [`status`], [`exec`],
//! [`pods`], [`check`] and [`down`] read. A failing `up` removes everything it made; [`down`]
//! also works without the state file.
//!
//! Binaries (`brindle-node`, `brindle`, `brindlectl`) come from one directory, given as
//! [`UpOptions::bin_dir`] and recorded in the state.

pub mod agent;
pub mod check;
pub mod cni;
pub mod converge;
pub mod datastore;
pub mod detached;
pub mod down;
pub mod exec;
pub mod naming;
pub mod options;
pub mod pods;
pub mod router;
pub mod state;
pub mod status;
pub mod tools;
pub mod up;

pub use check::{CheckReport, check};
pub use down::{DownReport, down};
pub use exec::exec;
pub use options::{DatastoreKind, RouterKind, UpOptions};
pub use state::{LabState, NodeState, PodState, RouterState};
pub use up::{UpReport, up};
