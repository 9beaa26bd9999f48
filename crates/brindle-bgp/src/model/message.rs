//! BGP messages (RFC 4271 §4), decoded.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::{Family, Nlri, PathAttributes};

/// A BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// OPEN (type 1).
    Open(Open),
    /// UPDATE (type 2).
    Update(Update),
    /// NOTIFICATION (type 3).
    Notification(Notification),
    /// KEEPALIVE (type 4).
    Keepalive,
    /// ROUTE-REFRESH (type 5, RFC 2918; subtypes RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// OPEN (RFC 4271 §4.2) with its capabilities (RFC 5492) flattened out of the optional
/// parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// Protocol version; 4.
    pub version: u8,
    /// "My Autonomous System": the two-octet AS, or AS_TRANS (RFC 6793).
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in received order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's real AS: the Four-octet AS capability's value when present, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }
}

/// A capability (RFC 5492 §4) advertised in OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760 §8: multiprotocol extensions for a family brindle speaks.
    Multiprotocol(Family),
    /// Code 1 for an AFI/SAFI brindle does not speak.
    MultiprotocolOther {
        /// AFI.
        afi: u16,
        /// SAFI.
        safi: u8,
    },
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Code 65, RFC 6793: the four-octet AS number.
    FourOctetAs(u32),
    /// Code 64, RFC 4724.
    GracefulRestart(GracefulRestartCap),
    /// Code 69, RFC 7911: per family, whether we can send and/or receive several paths.
    AddPath(Vec<(Family, AddPathMode)>),
    /// Any other capability, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// RFC 4724 §3 Graceful Restart capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestartCap {
    /// Restart State (R) bit: the sender has restarted.
    pub restarting: bool,
    /// RFC 8538 Notification (N) bit.
    pub notification: bool,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// Families whose forwarding state is preserved, with the Forwarding State (F) bit.
    pub families: Vec<(Family, bool)>,
}

/// RFC 7911 §4 Send/Receive field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// True when the mode includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// True when the mode includes sending.
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// UPDATE (RFC 4271 §4.3), with MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) folded into the
/// announced and withdrawn lists. IPv4 NLRI may come from either the classic fields or MP
/// attributes; IPv6 only from MP attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn routes.
    pub withdrawn: Vec<(Family, Nlri)>,
    /// Path attributes; present whenever `announced` is not empty. Shared, because every route
    /// of the UPDATE (and of the RIB entries made from it) carries the same set.
    pub attrs: Option<Arc<PathAttributes>>,
    /// Announced routes, all sharing `attrs`.
    pub announced: Vec<(Family, Nlri)>,
    /// RFC 4724 §2: set when this UPDATE is an End-of-RIB marker — an UPDATE with nothing in it
    /// (IPv4 unicast), or whose only attribute is an empty MP_UNREACH_NLRI (other families).
    /// The decoder sets it; the encoder writes the marker form when it is set (and the lists
    /// and `attrs` are empty).
    pub end_of_rib: Option<Family>,
}

impl Update {
    /// The End-of-RIB marker for `family`.
    pub fn end_of_rib(family: Family) -> Update {
        Update {
            end_of_rib: Some(family),
            ..Update::default()
        }
    }
}

/// NOTIFICATION (RFC 4271 §4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data (for Cease/Administrative Shutdown or Reset, RFC 8203's length-prefixed message).
    pub data: Vec<u8>,
}

/// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// RFC 7313 message subtype.
    pub subtype: RouteRefreshSubtype,
}

/// RFC 7313 §3 subtypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteRefreshSubtype {
    /// 0: a normal request.
    Request,
    /// 1: Beginning of Route Refresh.
    BeginOfRefresh,
    /// 2: End of Route Refresh.
    EndOfRefresh,
}
