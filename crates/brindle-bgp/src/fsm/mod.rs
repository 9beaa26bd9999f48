//! The BGP session finite state machine (RFC 4271 §8) as a pure function of events: the driver
//! feeds [`Event`]s (TCP results, timer expiries, decoded messages) and carries out the
//! [`Action`]s that come back (connect, send, arm a timer, report the session up or down).
//! Nothing here touches a socket or a clock, so every transition is tested directly.
//!
//! One [`PeerFsm`] per configured peer. It holds up to two connections at once — the one we
//! opened and one the peer opened — because RFC 4271 §6.8 resolves such collisions only once an
//! OPEN has been received on one of them.

mod negotiate;
mod peer;
mod reason;

pub use negotiate::{Negotiated, build_open, negotiate};
pub use peer::PeerFsm;
pub use reason::DownReason;

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::model::{AddPathMode, Family, Message, Notification};

/// RFC 4271 §8.2.2 states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not trying; refuses connections.
    Idle,
    /// Waiting for our outgoing TCP connection.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Exchanging routes.
    Established,
}

impl State {
    /// The state's name as routers print it.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// Which of the (at most two) connections of a peer an event or action concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnId {
    /// The connection we initiated.
    Outgoing,
    /// The connection the peer initiated.
    Incoming,
}

/// The timers the FSM asks the driver to run. Re-arming a timer replaces its previous deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// RFC 4271 §10 ConnectRetryTimer (peer-wide).
    ConnectRetry,
    /// Time to wait in Idle after an error before starting again (BIRD's "error wait time",
    /// doubling from the minimum to the maximum on consecutive failures; peer-wide).
    IdleHold,
    /// HoldTimer of one connection.
    Hold(ConnId),
    /// KeepaliveTimer of one connection.
    Keepalive(ConnId),
}

/// What the speaker offers and expects on a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS number.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The AS the peer must present.
    pub remote_as: u32,
    /// Never connect; wait for the peer to connect to us.
    pub passive: bool,
    /// Proposed hold time in seconds (Calico's BIRD: 90). 0 disables keepalives.
    pub hold_time: u16,
    /// Interval between connection attempts (Calico's BIRD: 5 s).
    pub connect_retry: Duration,
    /// Idle time after an error: starts at `.0`, doubles on each consecutive error up to `.1`
    /// (Calico's BIRD: 5 s and 30 s).
    pub error_wait: (Duration, Duration),
    /// Families offered (MP-BGP capability for each).
    pub families: Vec<Family>,
    /// ADD-PATH (RFC 7911) offered per family.
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Offer route refresh (RFC 2918) and enhanced route refresh (RFC 7313).
    pub route_refresh: bool,
    /// Graceful restart (RFC 4724) offered, when set.
    pub graceful_restart: Option<GracefulRestartConfig>,
}

/// Our graceful-restart capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Restart Time advertised (Calico: 120 s).
    pub restart_time: u16,
    /// We restarted (sets the Restart State bit). The Forwarding State bits are always set:
    /// brindle's forwarding state lives in the kernel and survives the speaker.
    pub restarting: bool,
}

impl SessionConfig {
    /// Defaults as Calico configures BIRD: hold 90 s, connect retry 5 s, error wait 5–30 s,
    /// IPv4 and IPv6 unicast, route refresh, graceful restart with 120 s.
    pub fn new(local_as: u32, router_id: Ipv4Addr, remote_as: u32) -> SessionConfig {
        SessionConfig {
            local_as,
            router_id,
            remote_as,
            passive: false,
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            error_wait: (Duration::from_secs(5), Duration::from_secs(30)),
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            add_path: Vec::new(),
            route_refresh: true,
            graceful_restart: Some(GracefulRestartConfig {
                restart_time: 120,
                restarting: false,
            }),
        }
    }
}

/// Inputs to the FSM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Start the session (RFC 4271 Event 1/4/5: manual or automatic start).
    Start,
    /// Stop the session, sending this NOTIFICATION if a connection is open (Event 2).
    Stop(Notification),
    /// Our outgoing TCP connection is up (Event 16/17).
    Connected,
    /// Our outgoing TCP connection failed, with the reason in words (Event 18).
    ConnectFailed(String),
    /// Our outgoing TCP connection was refused (a reset to the SYN): as `ConnectFailed`, but
    /// the next attempt comes sooner (see [`Event::ConnectRefused`]'s handling in the FSM).
    ConnectRefused(String),
    /// The peer connected to us (Event 14/15). The FSM answers with [`Action::Refuse`] when it
    /// does not want the connection.
    Accepted,
    /// A connection closed or failed (Event 18).
    Closed(ConnId, String),
    /// A timer fired.
    TimerExpired(Timer),
    /// A message arrived on a connection.
    Received(ConnId, Message),
    /// A message on a connection could not be decoded; send this NOTIFICATION and close
    /// (RFC 4271 §6).
    Malformed(ConnId, Notification),
}

/// Outputs of the FSM, to be carried out in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer (the result comes back as `Connected` or
    /// `ConnectFailed`).
    Connect,
    /// Abandon a pending outgoing connection attempt.
    CancelConnect,
    /// Do not keep the connection just accepted (answer to `Accepted`).
    Refuse,
    /// Write a message on a connection.
    Send(ConnId, Message),
    /// Close a connection (after writing what was queued).
    Close(ConnId),
    /// Arm a timer (replacing an armed one).
    StartTimer(Timer, Duration),
    /// Disarm a timer.
    StopTimer(Timer),
    /// The session reached Established on `ConnId`, with what was negotiated.
    Up(ConnId, Box<Negotiated>),
    /// The Established session ended.
    Down(DownReason),
    /// A message for the routing table (UPDATE or ROUTE-REFRESH) on the Established session.
    Deliver(Message),
}

#[cfg(test)]
mod tests;
