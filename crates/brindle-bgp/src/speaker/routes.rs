//! The speaker task's routing side: what sessions coming and going, UPDATEs and ROUTE-REFRESHes
//! do to the RIB, and how the RIB's outbound queues reach the sockets. Routes are pulled from
//! the RIB only while a peer's writer has little queued, so a slow peer never makes the speaker
//! buffer a whole table, and changes made meanwhile coalesce in the RIB.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::status::{PathStatus, RouteStatus, RouteUpdate};
use super::task::{Internal, SpeakerTask, TimerKind, log};
use crate::fsm::{DownReason, Event, Negotiated};
use crate::model::{
    AsPath, Family, GracefulRestartCap, Message, Origin, PathAttributes, Prefix, RouteRefresh,
    RouteRefreshSubtype, SegmentKind, Update,
};
use crate::rib::{Changes, PathInfo, PeerId, SessionInfo};
use crate::wire::{encode, pack_updates};

/// Stop pulling routes for a peer once this many bytes wait to be written to it.
const HIGH_WATER: usize = 256 * 1024;

/// Routes taken from the RIB per pull.
const BATCH: usize = 4096;

impl SpeakerTask {
    fn ip_of(&self, id: PeerId) -> Option<IpAddr> {
        self.rib.peer_info(id).map(|i| i.address)
    }

    /// Acts on what a RIB call changed: kernel updates to subscribers, outbound pulls, and the
    /// max-prefix limit.
    pub(crate) fn apply(&mut self, changes: Changes) {
        if !changes.kernel.is_empty() {
            self.subscribers.retain(|s| {
                changes.kernel.iter().all(|k| {
                    s.send(RouteUpdate {
                        prefix: k.prefix,
                        next_hops: k.next_hops.clone(),
                    })
                    .is_ok()
                })
            });
            if self.subscribers.is_empty() {
                self.rib.set_kernel_changes(false);
            }
        }
        if let Some(over) = changes.max_prefix
            && let Some(ip) = self.ip_of(over.peer)
        {
            log(
                ip,
                &format!(
                    "more than {} prefixes received: closing the session",
                    over.limit
                ),
            );
            if let Some(id) = self.peers.get(&ip).and_then(|p| p.fsm.established()) {
                self.event(ip, Event::Malformed(id, over.notification()));
            }
        }
        for id in changes.outbound {
            if let Some(ip) = self.ip_of(id) {
                self.to_flush.insert(ip);
            }
        }
    }

    /// Sends the peer what the RIB has queued for it, while its writer has room.
    pub(crate) fn flush(&mut self, ip: IpAddr) {
        if self.deferral.is_active() {
            return;
        }
        loop {
            let Some(p) = self.peers.get_mut(&ip) else {
                return;
            };
            let Some(id) = p.fsm.established() else {
                return;
            };
            let enhanced = p.fsm.negotiated().is_some_and(|n| n.enhanced_route_refresh);
            let rib_id = p.rib_id;
            let Some(conn) = p.conn(id).as_mut() else {
                return;
            };
            if conn.queued >= HIGH_WATER {
                return;
            }
            let params = conn.params;
            let batch = self.rib.take_outbound(rib_id, BATCH);
            if batch.is_empty() {
                return;
            }
            let mut buf = Vec::new();
            let mut messages = 0;
            // Each attribute group is packed on its own: packing is all-or-nothing per call, so a
            // group the codec refuses (logged) does not take the rest of the batch with it.
            let groups = std::iter::once((None, &[][..], &batch.withdrawn[..])).chain(
                batch
                    .announced
                    .iter()
                    .map(|g| (Some(&*g.attrs), &g.nlri[..], &[][..])),
            );
            for (attrs, announce, withdraw) in groups {
                match pack_updates(attrs, announce, withdraw, &params, &mut buf) {
                    Ok(n) => messages += n,
                    Err(e) => log(
                        ip,
                        &format!(
                            "cannot encode {} routes: {e}",
                            announce.len() + withdraw.len()
                        ),
                    ),
                }
            }
            for f in &batch.end_of_rib {
                if encode(&Message::Update(Update::end_of_rib(*f)), &params, &mut buf).is_ok() {
                    messages += 1;
                }
            }
            if enhanced {
                for f in &batch.end_of_refresh {
                    let rr = RouteRefresh {
                        family: *f,
                        subtype: RouteRefreshSubtype::EndOfRefresh,
                    };
                    if encode(&Message::RouteRefresh(rr), &params, &mut buf).is_ok() {
                        messages += 1;
                    }
                }
            }
            conn.send(buf);
            let announced: usize = batch.announced.iter().map(|g| g.nlri.len()).sum();
            p.prefixes_sent =
                (p.prefixes_sent + announced as u64).saturating_sub(batch.withdrawn.len() as u64);
            p.messages.1 += messages as u64;
        }
    }

    pub(crate) fn session_up(&mut self, ip: IpAddr, neg: &Negotiated, local: Option<IpAddr>) {
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        p.peer_gr = neg.peer_graceful_restart.clone();
        let mut info = SessionInfo::new(neg.remote_id, local.unwrap_or(ip));
        info.families = neg.families.clone();
        info.add_path_send = neg.add_path_send.clone();
        if local.is_none() {
            info.local_v4 = None;
            info.local_v6 = None;
        }
        let rib_id = p.rib_id;
        self.deferral
            .session_up(ip, &neg.families, neg.peer_graceful_restart.as_ref());
        let changes = self.rib.peer_up(rib_id, info);
        self.apply(changes);
        // RFC 4724 §4.2: "if the Forwarding State bit for a specific address family is not set
        // in the newly received Graceful Restart Capability, or if a specific address family is
        // not included in the newly received Graceful Restart Capability, or if the Graceful
        // Restart Capability is not received in the re-established session at all, then the
        // Receiving Speaker MUST immediately remove all the stale routes from the peer that it
        // is retaining for that address family."
        for family in forwarding_lost(neg.peer_graceful_restart.as_ref()) {
            let changes = self.rib.flush_stale_family(rib_id, family);
            self.apply(changes);
        }
        self.check_deferral();
        self.flush(ip);
    }

    /// RFC 4724 §4.2: when the session of a peer that can restart gracefully ends by a TCP
    /// failure or hold-timer expiry (not a NOTIFICATION), keep its routes as stale for its
    /// Restart Time; otherwise withdraw them now. "Can restart gracefully" is what the peer
    /// said on that session: only the families listed in its Graceful Restart Capability are
    /// kept ("for all the address families that were previously received in the Graceful
    /// Restart Capability"), and a peer that sent none is not waited for at all.
    pub(crate) fn session_down(&mut self, ip: IpAddr, reason: &DownReason) {
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        // The FSM reports Down after the connection is gone (`negotiated()` is empty here): use
        // the capability remembered when the session came up.
        let peer_gr = p.peer_gr.take().filter(|_| p.cfg.graceful_restart);
        let retain = peer_gr.is_some()
            && matches!(
                reason,
                DownReason::Connection(_) | DownReason::HoldTimerExpired
            );
        p.prefixes_received = 0;
        p.prefixes_sent = 0;
        self.deferral.session_down(ip);
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        let rib_id = p.rib_id;
        let changes = self.rib.peer_down(rib_id, retain);
        self.apply(changes);
        if let Some(gr) = peer_gr.filter(|_| retain) {
            for family in not_listed(&gr) {
                let changes = self.rib.flush_stale_family(rib_id, family);
                self.apply(changes);
            }
            self.timers.start(
                (ip, TimerKind::Stale),
                Duration::from_secs(u64::from(gr.restart_time)),
                Internal::Timer,
            );
        }
    }

    pub(crate) fn stale_timer(&mut self, ip: IpAddr) {
        let Some(p) = self.peers.get(&ip) else { return };
        log(
            ip,
            "restart time over: dropping the routes kept from the previous session",
        );
        let changes = self.rib.flush_stale(p.rib_id);
        self.apply(changes);
    }

    pub(crate) fn deliver(&mut self, ip: IpAddr, msg: Message) {
        let Some(p) = self.peers.get(&ip) else { return };
        let rib_id = p.rib_id;
        let changes = match msg {
            Message::Update(u) => {
                if let Some(family) = u.end_of_rib {
                    self.deferral.end_of_rib(ip, family);
                    self.check_deferral();
                }
                let c = self.rib.apply_update(rib_id, &u);
                if let Some(p) = self.peers.get_mut(&ip) {
                    p.prefixes_received = u64::from(self.rib.received_count(rib_id));
                }
                c
            }
            Message::RouteRefresh(rr) => match rr.subtype {
                RouteRefreshSubtype::Request => self.rib.refresh_out(rib_id, rr.family),
                RouteRefreshSubtype::BeginOfRefresh => {
                    self.rib.begin_route_refresh(rib_id, rr.family)
                }
                RouteRefreshSubtype::EndOfRefresh => self.rib.end_route_refresh(rib_id, rr.family),
            },
            _ => return,
        };
        self.apply(changes);
    }

    /// Applies what changed in a peer's settings that needs no new session: the prefix limit
    /// and the filters. A new export policy re-sends exactly what changed; a new import policy
    /// applies to routes received from now on, so the peer is asked to send its routes again
    /// (ROUTE-REFRESH, RFC 2918) when it supports that.
    pub(crate) fn update_peer_settings(&mut self, ip: IpAddr, old: &super::config::PeerConfig) {
        let Some(p) = self.peers.get(&ip) else { return };
        let (rib_id, cfg) = (p.rib_id, p.cfg.clone());
        self.rib.set_max_prefix(rib_id, cfg.max_prefixes);
        if cfg.export != old.export {
            let changes = self.rib.set_export_policy(rib_id, cfg.export.clone());
            self.apply(changes);
        }
        if cfg.import != old.import {
            self.rib.set_import_policy(rib_id, cfg.import.clone());
            let Some(p) = self.peers.get_mut(&ip) else {
                return;
            };
            let Some(neg) = p.fsm.negotiated().filter(|n| n.route_refresh).cloned() else {
                return;
            };
            let Some(id) = p.fsm.established() else {
                return;
            };
            if let Some(conn) = p.conn(id).as_mut() {
                let mut buf = Vec::new();
                for family in &neg.families {
                    let rr = RouteRefresh {
                        family: *family,
                        subtype: RouteRefreshSubtype::Request,
                    };
                    let _ = encode(&Message::RouteRefresh(rr), &conn.params, &mut buf);
                }
                conn.send(buf);
            }
        }
    }

    pub(crate) fn originate(&mut self, prefix: Prefix) {
        let attrs = PathAttributes {
            origin: Origin::Igp,
            as_path: AsPath::default(),
            ..Default::default()
        };
        let changes = self.rib.originate(prefix, attrs);
        self.apply(changes);
    }

    /// A new subscriber first gets the current table.
    pub(crate) fn subscribe(&mut self, tx: UnboundedSender<RouteUpdate>) {
        for f in Family::ALL {
            for k in self.rib.kernel_routes(f) {
                let _ = tx.send(RouteUpdate {
                    prefix: k.prefix,
                    next_hops: k.next_hops,
                });
            }
        }
        self.subscribers.push(tx);
        self.rib.set_kernel_changes(true);
    }

    pub(crate) fn route_status(&self, prefix: Option<Prefix>) -> Vec<RouteStatus> {
        let routes: Vec<_> = match prefix {
            Some(p) => self.rib.route(&p).into_iter().collect(),
            None => Family::ALL
                .into_iter()
                .flat_map(|f| self.rib.routes(f))
                .collect(),
        };
        routes
            .into_iter()
            .map(|r| RouteStatus {
                prefix: r.prefix.to_string(),
                paths: r
                    .paths
                    .iter()
                    .map(|p| self.path_status(r.prefix.family(), p))
                    .collect(),
            })
            .collect()
    }

    fn path_status(&self, family: Family, p: &PathInfo) -> PathStatus {
        let a: &Arc<PathAttributes> = &p.attrs;
        PathStatus {
            from: if p.from.is_local() {
                None
            } else {
                self.ip_of(p.from)
            },
            path_id: p.path_id,
            next_hop: a.next_hop_for(family),
            as_path: as_path_text(&a.as_path),
            origin: match a.origin {
                Origin::Igp => "IGP",
                Origin::Egp => "EGP",
                Origin::Incomplete => "incomplete",
            }
            .into(),
            local_pref: a.local_pref,
            med: a.med,
            communities: a
                .communities
                .iter()
                .map(|c| format!("{}:{}", c.0 >> 16, c.0 & 0xffff))
                .chain(
                    a.large_communities
                        .iter()
                        .map(|l| format!("{}:{}:{}", l.0, l.1, l.2)),
                )
                .collect(),
            originator_id: a.originator_id.map(|o| o.to_string()),
            cluster_list: a.cluster_list.iter().map(ToString::to_string).collect(),
            best: p.best,
            stale: p.stale,
        }
    }
}

/// The families whose forwarding state the peer did not keep across its restart, by the
/// Graceful Restart Capability of the new session (`None`: it sent none): their stale routes
/// go at once (RFC 4724 §4.2).
fn forwarding_lost(cap: Option<&GracefulRestartCap>) -> Vec<Family> {
    Family::ALL
        .into_iter()
        .filter(|f| !cap.is_some_and(|c| c.families.contains(&(*f, true))))
        .collect()
}

/// The families a peer's Graceful Restart Capability does not list: its routes of those are
/// not kept when its session fails (RFC 4724 §4.2).
fn not_listed(cap: &GracefulRestartCap) -> Vec<Family> {
    Family::ALL
        .into_iter()
        .filter(|f| !cap.families.iter().any(|(g, _)| g == f))
        .collect()
}

/// `64513 64514 {1 2}` — sequences plain, sets in braces, confederation parts in parentheses.
pub(crate) fn as_path_text(p: &AsPath) -> String {
    p.segments
        .iter()
        .map(|s| {
            let list = s
                .asns
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            match s.kind {
                SegmentKind::Sequence => list,
                SegmentKind::Set => format!("{{{list}}}"),
                SegmentKind::ConfedSequence => format!("({list})"),
                SegmentKind::ConfedSet => format!("({{{list}}})"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_stale_routes_go_by_the_peers_capability() {
        use Family::{Ipv4Unicast as V4, Ipv6Unicast as V6};
        let cap = |families: Vec<(Family, bool)>| GracefulRestartCap {
            restarting: true,
            notification: false,
            restart_time: 120,
            families,
        };
        assert_eq!(forwarding_lost(None), [V4, V6]);
        assert_eq!(forwarding_lost(Some(&cap(vec![]))), [V4, V6]);
        assert_eq!(
            forwarding_lost(Some(&cap(vec![(V4, true), (V6, false)]))),
            [V6]
        );
        assert_eq!(forwarding_lost(Some(&cap(vec![(V6, true)]))), [V4]);
        assert!(forwarding_lost(Some(&cap(vec![(V6, true), (V4, true)]))).is_empty());
        // When the session fails, the F bit does not matter: being listed does.
        assert_eq!(not_listed(&cap(vec![(V4, false)])), [V6]);
        assert_eq!(not_listed(&cap(vec![])), [V4, V6]);
        assert!(not_listed(&cap(vec![(V6, false), (V4, true)])).is_empty());
    }
}
