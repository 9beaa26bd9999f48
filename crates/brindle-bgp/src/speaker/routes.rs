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
    AsPath, Family, Message, Origin, PathAttributes, Prefix, RouteRefresh, RouteRefreshSubtype,
    SegmentKind, Update,
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
                self.event_pub(ip, Event::Malformed(id, over.notification()));
            }
        }
        for id in changes.outbound {
            if let Some(ip) = self.ip_of(id) {
                self.flush(ip);
            }
        }
    }

    /// Sends the peer what the RIB has queued for it, while its writer has room.
    pub(crate) fn flush(&mut self, ip: IpAddr) {
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
            let mut result = pack_updates(None, &[], &batch.withdrawn, &params, &mut buf);
            for g in &batch.announced {
                result = result.and_then(|n| {
                    pack_updates(Some(&g.attrs), &g.nlri, &[], &params, &mut buf).map(|m| n + m)
                });
            }
            if let Ok(n) = result {
                messages += n;
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
            if let Err(e) = result {
                log(ip, &format!("cannot encode routes: {e}"));
            }
            conn.send(buf);
            let announced: usize = batch.announced.iter().map(|g| g.nlri.len()).sum();
            p.prefixes_sent =
                (p.prefixes_sent + announced as u64).saturating_sub(batch.withdrawn.len() as u64);
            p.messages.1 += messages as u64;
        }
    }

    pub(crate) fn session_up(&mut self, ip: IpAddr, neg: &Negotiated, local: Option<IpAddr>) {
        let Some(p) = self.peers.get(&ip) else { return };
        let mut info = SessionInfo::new(neg.remote_id, local.unwrap_or(ip));
        info.families = neg.families.clone();
        info.add_path_send = neg.add_path_send.clone();
        if local.is_none() {
            info.local_v4 = None;
            info.local_v6 = None;
        }
        let changes = self.rib.peer_up(p.rib_id, info);
        self.apply(changes);
        self.flush(ip);
    }

    /// RFC 4724 §4.2: when the session of a peer that can restart gracefully ends by a TCP
    /// failure or hold-timer expiry (not a NOTIFICATION), keep its routes as stale for its
    /// Restart Time; otherwise withdraw them now.
    pub(crate) fn session_down(&mut self, ip: IpAddr, reason: &DownReason) {
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        let restart_time = p
            .fsm
            .negotiated()
            .and_then(|n| n.peer_graceful_restart.as_ref())
            .map(|g| g.restart_time);
        // The FSM reports Down after the connection is gone, so `negotiated()` is empty here;
        // use what the RIB remembers of the peer's capability instead.
        let gr = restart_time.or(p.cfg.graceful_restart.then_some(self.cfg.restart_time));
        let retain = p.cfg.graceful_restart
            && gr.is_some()
            && matches!(
                reason,
                DownReason::Connection(_) | DownReason::HoldTimerExpired
            );
        p.prefixes_received = 0;
        p.prefixes_sent = 0;
        let rib_id = p.rib_id;
        let changes = self.rib.peer_down(rib_id, retain);
        if retain {
            let secs = u64::from(gr.unwrap_or(120));
            self.timers.start(
                (ip, TimerKind::Stale),
                Duration::from_secs(secs),
                Internal::Timer,
            );
        }
        self.apply(changes);
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
