//! The tokio driver: one task owns the RIB and every peer's FSM and receives messages from
//! connection tasks, timers and the API; sockets are read and written in their own tasks.

mod api;
mod config;
mod conn;
mod deferral;
mod info;
pub mod net;
mod routes;
mod status;
mod task;
mod timers;

pub use crate::rib::NextHopMode;
pub use api::Speaker;
pub use config::{PeerConfig, SpeakerConfig};
pub use status::{NegotiatedStatus, PathStatus, PeerStatus, RouteStatus, RouteUpdate};
