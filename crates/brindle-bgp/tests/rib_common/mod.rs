//! Helpers shared by the RIB tests: a speaker in AS 64512, peers with sessions, UPDATE
//! builders, and a model of what a peer has been told (replaying `take_outbound`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use brindle_bgp::model::{AsPath, Family, Nlri, PathAttributes, Prefix, Update};
use brindle_bgp::rib::{Changes, LocalConfig, Outbound, PeerId, PeerInfo, Rib, SessionInfo};

pub const LOCAL_AS: u32 = 64512;
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const SELF_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

pub fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

pub fn v4(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

pub fn rib() -> Rib {
    Rib::new(LocalConfig::new(LOCAL_AS, ROUTER_ID))
}

/// Kinds of peers the tests use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ebgp(u32),
    Ibgp,
    Client,
}

/// Adds a peer at 192.0.2.`n` (router id 10.0.0.`n`) and brings its session up.
pub fn peer(rib: &mut Rib, n: u8, kind: Kind) -> PeerId {
    let id = add(rib, n, kind);
    up(rib, id, n, false);
    id
}

/// Adds a peer without a session.
pub fn add(rib: &mut Rib, n: u8, kind: Kind) -> PeerId {
    let remote_as = match kind {
        Kind::Ebgp(a) => a,
        Kind::Ibgp | Kind::Client => LOCAL_AS,
    };
    let mut info = PeerInfo::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), LOCAL_AS, remote_as);
    info.rr_client = kind == Kind::Client;
    rib.add_peer(info)
}

/// Brings a session up (router id 10.0.0.`n`), ADD-PATH send for IPv4 when `add_path`.
pub fn up(rib: &mut Rib, id: PeerId, n: u8, add_path: bool) -> Changes {
    let mut s = SessionInfo::new(Ipv4Addr::new(10, 0, 0, n), IpAddr::V4(SELF_V4));
    s.local_v6 = Some("2001:db8::1".parse().expect("v6"));
    if add_path {
        s.add_path_send = vec![Family::Ipv4Unicast];
    }
    rib.peer_up(id, s)
}

/// Attributes with an AS_SEQUENCE and an IPv4 next hop.
pub fn attrs(path: &[u32], nh: &str) -> PathAttributes {
    PathAttributes {
        as_path: AsPath::sequence(path.to_vec()),
        next_hop: Some(v4(nh)),
        ..PathAttributes::default()
    }
}

pub fn announce(rib: &mut Rib, peer: PeerId, prefixes: &[&str], a: PathAttributes) -> Changes {
    announce_ids(
        rib,
        peer,
        &prefixes.iter().map(|s| (*s, 0)).collect::<Vec<_>>(),
        a,
    )
}

pub fn announce_ids(
    rib: &mut Rib,
    peer: PeerId,
    nlri: &[(&str, u32)],
    a: PathAttributes,
) -> Changes {
    let announced = nlri
        .iter()
        .map(|(s, id)| {
            let prefix = p(s);
            (
                prefix.family(),
                Nlri {
                    prefix,
                    path_id: *id,
                },
            )
        })
        .collect();
    rib.apply_update(
        peer,
        &Update {
            attrs: Some(Arc::new(a)),
            announced,
            ..Update::default()
        },
    )
}

pub fn withdraw(rib: &mut Rib, peer: PeerId, prefixes: &[&str]) -> Changes {
    let withdrawn = prefixes
        .iter()
        .map(|s| {
            let prefix = p(s);
            (prefix.family(), Nlri::new(prefix))
        })
        .collect();
    rib.apply_update(
        peer,
        &Update {
            withdrawn,
            ..Update::default()
        },
    )
}

/// What a peer has been told: replayed from `take_outbound` batches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Told {
    pub routes: BTreeMap<(Prefix, u32), Arc<PathAttributes>>,
    pub eor: Vec<Family>,
}

impl Told {
    pub fn apply(&mut self, o: &Outbound) {
        for (_, n) in &o.withdrawn {
            self.routes.remove(&(n.prefix, n.path_id));
        }
        for g in &o.announced {
            for (_, n) in &g.nlri {
                self.routes.insert((n.prefix, n.path_id), g.attrs.clone());
            }
        }
        self.eor.extend(&o.end_of_rib);
    }

    pub fn get(&self, prefix: &str) -> Option<&PathAttributes> {
        self.routes.get(&(p(prefix), 0)).map(|a| &**a)
    }

    pub fn has(&self, prefix: &str) -> bool {
        self.get(prefix).is_some()
    }
}

/// Drains everything pending for `peer` into `told`; returns the batches.
pub fn drain(rib: &mut Rib, peer: PeerId, told: &mut Told) -> Vec<Outbound> {
    let mut v = Vec::new();
    for _ in 0..100_000 {
        if !rib.has_outbound(peer) {
            break;
        }
        let o = rib.take_outbound(peer, 64);
        told.apply(&o);
        v.push(o);
    }
    v
}

/// A fresh model of `peer` after draining everything.
pub fn told(rib: &mut Rib, peer: PeerId) -> Told {
    let mut t = Told::default();
    drain(rib, peer, &mut t);
    t
}
