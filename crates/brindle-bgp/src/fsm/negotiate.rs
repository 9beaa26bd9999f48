//! Our OPEN, the checks on the peer's OPEN (RFC 4271 §6.2), and what the two OPENs together
//! decide for the session (hold time, families, four-octet AS, ADD-PATH, graceful restart).

use std::net::Ipv4Addr;

use super::SessionConfig;
use crate::model::{
    AS_TRANS, AddPathMode, Capability, Family, GracefulRestartCap, Notification, Open,
};

/// What both sides agreed on, fixed for the life of an Established session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's (four-octet) AS.
    pub remote_as: u32,
    /// The peer's BGP identifier.
    pub remote_id: Ipv4Addr,
    /// Hold time in seconds: the smaller of the two proposals (RFC 4271 §4.2); 0 = none.
    pub hold_time: u16,
    /// Keepalive interval in seconds: a third of the hold time (RFC 4271 §10).
    pub keepalive: u16,
    /// Families both sides announced (RFC 4760 §8); IPv4 unicast when the peer announced none.
    pub families: Vec<Family>,
    /// Both sides speak four-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Families on which we may send several paths (we offered Send, the peer Receive).
    pub add_path_send: Vec<Family>,
    /// Families on which the peer sends several paths (we offered Receive, the peer Send).
    pub add_path_receive: Vec<Family>,
    /// The peer accepts ROUTE-REFRESH (RFC 2918).
    pub route_refresh: bool,
    /// Both sides support enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's graceful-restart capability, if it sent one (RFC 4724).
    pub peer_graceful_restart: Option<GracefulRestartCap>,
    /// We offered graceful restart.
    pub local_graceful_restart: bool,
}

/// The OPEN we send for `cfg`.
pub fn build_open(cfg: &SessionConfig) -> Open {
    let mut caps: Vec<Capability> = cfg
        .families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    if cfg.route_refresh {
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::EnhancedRouteRefresh);
    }
    caps.push(Capability::FourOctetAs(cfg.local_as));
    if let Some(gr) = cfg.graceful_restart {
        // RFC 4724 §4.2: once the session is re-established, "if the Forwarding State bit for
        // a specific address family is not set ... the Receiving Speaker MUST immediately
        // remove all the stale routes from the peer that it is retaining for that address
        // family". Our forwarding state is the kernel's: it outlives a session reset and a
        // restart of the speaker alike, so the bit is always set (without it every
        // re-establishment, after a crash or an upgrade too, would flush our routes at the peer).
        caps.push(Capability::GracefulRestart(GracefulRestartCap {
            restarting: gr.restarting,
            notification: false,
            restart_time: gr.restart_time.min(4095),
            families: cfg.families.iter().map(|f| (*f, true)).collect(),
        }));
    }
    if !cfg.add_path.is_empty() {
        caps.push(Capability::AddPath(cfg.add_path.clone()));
    }
    Open {
        version: 4,
        my_as: u16::try_from(cfg.local_as).unwrap_or(AS_TRANS),
        hold_time: cfg.hold_time,
        bgp_id: cfg.router_id,
        capabilities: caps,
    }
}

fn open_error(subcode: u8, data: Vec<u8>) -> Notification {
    Notification {
        code: 2,
        subcode,
        data,
    }
}

/// Checks the peer's OPEN against `cfg` and computes the session parameters. The error is the
/// NOTIFICATION to send (RFC 4271 §6.2).
pub fn negotiate(cfg: &SessionConfig, remote: &Open) -> Result<Negotiated, Notification> {
    // RFC 4271 §6.2: "If the version number in the Version field of the received OPEN message is
    // not supported, then the Error Subcode MUST be set to Unsupported Version Number."
    if remote.version != 4 {
        return Err(open_error(1, 4u16.to_be_bytes().to_vec()));
    }
    // "If the Autonomous System field of the OPEN message is unacceptable, then the Error
    // Subcode MUST be set to Bad Peer AS."
    let remote_as = remote.asn();
    if remote_as != cfg.remote_as {
        return Err(open_error(2, Vec::new()));
    }
    // "If the Hold Time field of the OPEN message is unacceptable, then the Error Subcode MUST
    // be set to Unacceptable Hold Time. An implementation MUST reject Hold Time values of one or
    // two seconds."
    if remote.hold_time == 1 || remote.hold_time == 2 {
        return Err(open_error(6, Vec::new()));
    }
    // "If the BGP Identifier field of the OPEN message is syntactically incorrect, then the
    // Error Subcode MUST be set to Bad BGP Identifier." RFC 6286 §2.2: within one AS the
    // identifiers must differ.
    let id = remote.bgp_id;
    if id.is_unspecified()
        || id.is_multicast()
        || (remote_as == cfg.local_as && id == cfg.router_id)
    {
        return Err(open_error(3, Vec::new()));
    }
    let hold_time = cfg.hold_time.min(remote.hold_time);
    let mut peer_families = Vec::new();
    let mut four_octet = false;
    let mut rr = false;
    let mut err = false;
    let mut peer_gr = None;
    let mut peer_add_path: Vec<(Family, AddPathMode)> = Vec::new();
    for cap in &remote.capabilities {
        match cap {
            Capability::Multiprotocol(f) => peer_families.push(*f),
            Capability::FourOctetAs(_) => four_octet = true,
            Capability::RouteRefresh => rr = true,
            Capability::EnhancedRouteRefresh => err = true,
            Capability::GracefulRestart(g) => peer_gr = Some(g.clone()),
            Capability::AddPath(v) => peer_add_path.extend(v.iter().copied()),
            Capability::MultiprotocolOther { .. } | Capability::Unknown { .. } => {}
        }
    }
    // RFC 4760 §8: a speaker that sends no Multiprotocol capability supports IPv4 unicast only.
    let has_mp = remote.capabilities.iter().any(|c| {
        matches!(
            c,
            Capability::Multiprotocol(_) | Capability::MultiprotocolOther { .. }
        )
    });
    if !has_mp {
        peer_families.push(Family::Ipv4Unicast);
    }
    let families: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| cfg.families.contains(f) && peer_families.contains(f))
        .collect();
    let mode = |list: &[(Family, AddPathMode)], f: Family| {
        list.iter().find(|(g, _)| *g == f).map(|(_, m)| *m)
    };
    // RFC 7911 §5: send several paths only if we said Send and the peer said Receive, and
    // expect them only if we said Receive and the peer said Send.
    let add_path_send = families
        .iter()
        .copied()
        .filter(|f| mode(&cfg.add_path, *f).is_some_and(AddPathMode::sends))
        .filter(|f| mode(&peer_add_path, *f).is_some_and(AddPathMode::receives))
        .collect();
    let add_path_receive = families
        .iter()
        .copied()
        .filter(|f| mode(&cfg.add_path, *f).is_some_and(AddPathMode::receives))
        .filter(|f| mode(&peer_add_path, *f).is_some_and(AddPathMode::sends))
        .collect();
    Ok(Negotiated {
        remote_as,
        remote_id: id,
        hold_time,
        keepalive: hold_time / 3,
        families,
        four_octet_as: four_octet,
        add_path_send,
        add_path_receive,
        route_refresh: rr || err,
        enhanced_route_refresh: err && cfg.route_refresh,
        peer_graceful_restart: peer_gr,
        local_graceful_restart: cfg.graceful_restart.is_some(),
    })
}
