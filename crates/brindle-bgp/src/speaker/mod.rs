//! The tokio driver: one task owns the RIB and every peer's FSM and receives messages from
//! connection tasks, timers and the API; sockets are read and written in their own tasks.

mod config;
pub mod net;
mod status;

pub use config::{NextHopMode, PeerConfig, SpeakerConfig};
pub use status::{NegotiatedStatus, PathStatus, PeerStatus, RouteStatus, RouteUpdate};
