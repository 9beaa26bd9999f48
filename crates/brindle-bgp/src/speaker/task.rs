//! The speaker task: the single owner of every peer's FSM, connections and timers (and of the
//! RIB). Everything else — listeners, connection readers and writers, timers, connect attempts
//! — runs in small tasks that only send it messages.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::api::Command;
use super::config::{PeerConfig, SpeakerConfig};
use super::conn::{ConnEvent, ConnHandle, Report};
use super::deferral::Deferral;
use super::info::{Facts, OpenSeen, peer_info};
use super::net;
use super::status::{NegotiatedStatus, PeerStatus, RouteUpdate};
use super::timers::Timers;
use crate::fsm::{Action, ConnId, Event, Negotiated, PeerFsm, State, Timer, build_open};
use crate::model::{Message, Notification};
use crate::rib::{LocalConfig, PeerId, Rib};
use crate::wire::{CodecParams, FamilySet};

/// What a speaker-level timer is for: an FSM timer, or the graceful-restart window in which a
/// restarting peer's routes are kept (RFC 4724 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TimerKind {
    Fsm(Timer),
    Stale,
    /// RFC 4724 §4.1 Selection_Deferral_Timer (speaker-wide; keyed by the unspecified address).
    SelectionDeferral,
}

/// The key of the speaker-wide selection deferral timer.
const DEFERRAL_TIMER: (IpAddr, TimerKind) = (
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    TimerKind::SelectionDeferral,
);

/// Messages from the task's own helpers (timers, connect attempts, listeners).
#[derive(Debug)]
pub(crate) enum Internal {
    Timer((IpAddr, TimerKind), u64),
    ConnectDone(IpAddr, u64, Result<TcpStream, net::ConnectError>),
    Accepted(TcpStream, SocketAddr),
}

/// A peer as the task holds it.
pub(crate) struct PeerRt {
    pub(crate) cfg: PeerConfig,
    pub(crate) rib_id: PeerId,
    pub(crate) fsm: PeerFsm,
    outgoing: Option<ConnHandle>,
    incoming: Option<ConnHandle>,
    connect_attempt: u64,
    connect_task: Option<JoinHandle<()>>,
    state: State,
    since: u64,
    pub(crate) messages: (u64, u64),
    pub(crate) prefixes_received: u64,
    pub(crate) prefixes_sent: u64,
    /// The Graceful Restart Capability the peer sent on the current (or last) session: whether,
    /// for which families and how long its routes are kept when that session fails.
    pub(crate) peer_gr: Option<crate::model::GracefulRestartCap>,
    /// Why the last connection from the peer was refused before BGP saw it (GTSM), for INFO.
    pub(crate) refused: Option<String>,
    /// The peer's last OPEN, to explain why it was refused (INFO).
    pub(crate) open_seen: Option<OpenSeen>,
}

impl PeerRt {
    pub(crate) fn conn(&mut self, id: ConnId) -> &mut Option<ConnHandle> {
        match id {
            ConnId::Outgoing => &mut self.outgoing,
            ConnId::Incoming => &mut self.incoming,
        }
    }
}

pub(crate) struct SpeakerTask {
    pub(crate) cfg: SpeakerConfig,
    pub(crate) rib: Rib,
    cmds: UnboundedReceiver<Command>,
    reports_tx: UnboundedSender<Report>,
    reports: UnboundedReceiver<Report>,
    internal_tx: UnboundedSender<Internal>,
    internal: UnboundedReceiver<Internal>,
    pub(crate) timers: Timers<(IpAddr, TimerKind), Internal>,
    listeners: Vec<Arc<TcpListener>>,
    accept_tasks: Vec<JoinHandle<()>>,
    pub(crate) peers: BTreeMap<IpAddr, PeerRt>,
    next_serial: u64,
    pub(crate) subscribers: Vec<UnboundedSender<RouteUpdate>>,
    /// Peers the RIB has something new for, written to once the messages already waiting have
    /// been handled (see [`SpeakerTask::run`]).
    pub(crate) to_flush: BTreeSet<IpAddr>,
    /// Graceful restart, restarting side: our advertisements wait for the peers' End-of-RIB.
    pub(crate) deferral: Deferral,
}

/// At most this many waiting reports are handled before pending output is written.
const REPORTS_PER_FLUSH: usize = 64;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An IPv4 peer connecting to a dual-stack listener shows up as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

pub(crate) fn log(peer: IpAddr, msg: &str) {
    eprintln!("bgp: peer {peer}: {msg}");
}

impl SpeakerTask {
    pub(crate) fn new(
        cfg: SpeakerConfig,
        cmds: UnboundedReceiver<Command>,
    ) -> io::Result<SpeakerTask> {
        let (reports_tx, reports) = unbounded_channel();
        let (internal_tx, internal) = unbounded_channel();
        let mut listeners = Vec::new();
        let mut accept_tasks = Vec::new();
        for addr in &cfg.listen {
            let l =
                Arc::new(net::listen(*addr).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
                })?);
            let tx = internal_tx.clone();
            let acc = l.clone();
            accept_tasks.push(tokio::spawn(async move {
                loop {
                    match acc.accept().await {
                        Ok((stream, remote)) => {
                            if tx.send(Internal::Accepted(stream, remote)).is_err() {
                                return;
                            }
                        }
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                    }
                }
            }));
            listeners.push(l);
        }
        let mut local = LocalConfig::new(cfg.asn, cfg.router_id);
        local.cluster_id = cfg.cluster_id;
        local.multipath = cfg.multipath;
        let deferral = Deferral::new(cfg.restarting);
        let mut timers = Timers::new(internal_tx.clone());
        if cfg.restarting {
            timers.start(DEFERRAL_TIMER, cfg.selection_deferral, Internal::Timer);
        }
        let mut rib = Rib::new(local);
        // Nobody to program yet: `subscribe` turns the kernel side on.
        rib.set_kernel_changes(false);
        Ok(SpeakerTask {
            timers,
            rib,
            cfg,
            cmds,
            reports_tx,
            reports,
            internal_tx,
            internal,
            listeners,
            accept_tasks,
            peers: BTreeMap::new(),
            next_serial: 0,
            subscribers: Vec::new(),
            to_flush: BTreeSet::new(),
            deferral,
        })
    }

    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                cmd = self.cmds.recv() => match cmd {
                    None => {
                        self.shutdown(None);
                        return;
                    }
                    Some(Command::Shutdown(n, reply)) => {
                        self.shutdown(n);
                        let _ = reply.send(());
                        return;
                    }
                    Some(c) => self.command(c),
                },
                Some(r) = self.reports.recv() => self.report(r),
                Some(i) = self.internal.recv() => self.internal(i),
            }
            // Handle the reports already waiting (a burst of UPDATEs from many peers) before
            // writing: the changes coalesce in the RIB, so each peer gets one batch for the
            // burst instead of one per UPDATE. Nothing waits when nothing else is queued.
            for _ in 0..REPORTS_PER_FLUSH {
                match self.reports.try_recv() {
                    Ok(r) => self.report(r),
                    Err(_) => break,
                }
            }
            for ip in std::mem::take(&mut self.to_flush) {
                self.flush(ip);
            }
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::AddPeer(p) => self.add_peer(*p),
            Command::RemovePeer(ip, n) => self.remove_peer(ip, n),
            Command::Originate(p) => self.originate(p),
            Command::Withdraw(p) => {
                let changes = self.rib.withdraw_local(p);
                self.apply(changes);
            }
            Command::Subscribe(tx) => self.subscribe(tx),
            Command::Peers(reply) => {
                let _ = reply.send(self.peer_status());
            }
            Command::Routes(prefix, reply) => {
                let _ = reply.send(self.route_status(prefix));
            }
            Command::Shutdown(..) => {}
        }
    }

    fn add_peer(&mut self, cfg: PeerConfig) {
        let ip = cfg.address;
        if let Some(p) = self.peers.get_mut(&ip) {
            if !p.cfg.needs_reset(&cfg) {
                let old = std::mem::replace(&mut p.cfg, cfg);
                self.update_peer_settings(ip, &old);
                return;
            }
            // RFC 4486 §4: Cease / Other Configuration Change.
            let n = Notification {
                code: 6,
                subcode: 6,
                data: Vec::new(),
            };
            self.remove_peer(ip, n);
        }
        self.set_listener_password(ip, cfg.password.as_deref());
        self.deferral.add_peer(ip, cfg.graceful_restart);
        let fsm = PeerFsm::new(cfg.session(&self.cfg));
        let rib_id = self.rib.add_peer(cfg.rib_info(&self.cfg));
        let rt = PeerRt {
            rib_id,
            cfg,
            fsm,
            outgoing: None,
            incoming: None,
            connect_attempt: 0,
            connect_task: None,
            state: State::Idle,
            since: now_secs(),
            messages: (0, 0),
            prefixes_received: 0,
            prefixes_sent: 0,
            peer_gr: None,
            refused: None,
            open_seen: None,
        };
        self.peers.insert(ip, rt);
        self.event(ip, Event::Start);
    }

    fn remove_peer(&mut self, ip: IpAddr, n: Notification) {
        if !self.peers.contains_key(&ip) {
            return;
        }
        self.event(ip, Event::Stop(n));
        self.timers.stop_where(|(p, _)| *p == ip);
        if let Some(mut p) = self.peers.remove(&ip) {
            let changes = self.rib.remove_peer(p.rib_id);
            self.apply(changes);
            if let Some(t) = p.connect_task.take() {
                t.abort();
            }
            for id in [ConnId::Outgoing, ConnId::Incoming] {
                if let Some(c) = p.conn(id).take() {
                    c.close();
                }
            }
        }
        self.set_listener_password(ip, None);
        self.deferral.remove_peer(ip);
        self.check_deferral();
    }

    /// Ends the restart deferral when nothing is awaited any more.
    pub(crate) fn check_deferral(&mut self) {
        if self.deferral.check() {
            self.end_deferral("every peer sent End-of-RIB");
        }
    }

    /// RFC 4724 §4.1: "Once the route selection process is completed, the Restarting Speaker
    /// MUST send its routes and EoR." The table has been kept up to date all along; each peer
    /// now gets its pending initial dump and End-of-RIB, and later OPENs no longer carry the
    /// Restart State bit.
    fn end_deferral(&mut self, why: &str) {
        eprintln!("bgp: graceful restart: advertising routes now ({why})");
        self.timers.stop(&DEFERRAL_TIMER);
        self.cfg.restarting = false;
        for p in self.peers.values_mut() {
            p.fsm.set_restarting(false);
        }
        let all: Vec<IpAddr> = self.peers.keys().copied().collect();
        self.to_flush.extend(all);
    }

    fn set_listener_password(&self, ip: IpAddr, password: Option<&str>) {
        for l in &self.listeners {
            // A listener of the other address family cannot carry the key; that is fine.
            let _ = net::set_listener_password(l, ip, password);
        }
    }

    fn shutdown(&mut self, n: Option<Notification>) {
        let ips: Vec<IpAddr> = self.peers.keys().copied().collect();
        for ip in ips {
            match &n {
                Some(n) => self.remove_peer(ip, n.clone()),
                // Graceful restart: drop the connections without a NOTIFICATION so that peers
                // keep our routes (RFC 4724 §4.2).
                None => {
                    if let Some(mut p) = self.peers.remove(&ip) {
                        for id in [ConnId::Outgoing, ConnId::Incoming] {
                            if let Some(c) = p.conn(id).take() {
                                c.close();
                            }
                        }
                    }
                }
            }
        }
        for t in &self.accept_tasks {
            t.abort();
        }
    }

    fn report(&mut self, r: Report) {
        let Some(p) = self.peers.get_mut(&r.peer) else {
            return;
        };
        let current = match r.id {
            ConnId::Outgoing => p.outgoing.as_ref(),
            ConnId::Incoming => p.incoming.as_ref(),
        }
        .is_some_and(|c| c.serial == r.serial);
        if !current {
            return;
        }
        match r.event {
            ConnEvent::Message(m) => {
                p.messages.0 += 1;
                if let Message::Open(o) = &m {
                    p.open_seen = Some(OpenSeen::of(o));
                }
                self.event(r.peer, Event::Received(r.id, m));
            }
            ConnEvent::Malformed(n, detail) => {
                log(r.peer, &format!("malformed message: {detail}"));
                self.event(r.peer, Event::Malformed(r.id, n));
            }
            ConnEvent::Warning(w) => log(r.peer, &w),
            ConnEvent::Closed(reason) => self.event(r.peer, Event::Closed(r.id, reason)),
            ConnEvent::Drained => {
                if let Some(c) = p.conn(r.id).as_mut() {
                    c.queued = 0;
                }
                self.flush(r.peer);
            }
        }
    }

    fn internal(&mut self, i: Internal) {
        match i {
            Internal::Timer(key, generation) => {
                if !self.timers.fired(&key, generation) {
                    return;
                }
                match key.1 {
                    TimerKind::Fsm(t) => self.event(key.0, Event::TimerExpired(t)),
                    TimerKind::Stale => self.stale_timer(key.0),
                    TimerKind::SelectionDeferral => {
                        let awaited = self.deferral.awaited();
                        if self.deferral.expire() {
                            self.end_deferral(&format!(
                                "selection deferral time over, still without End-of-RIB from {awaited:?}"
                            ));
                        }
                    }
                }
            }
            Internal::ConnectDone(ip, attempt, result) => {
                let Some(p) = self.peers.get_mut(&ip) else {
                    return;
                };
                if attempt != p.connect_attempt {
                    return;
                }
                p.connect_task = None;
                match result {
                    Ok(stream) => {
                        self.attach(ip, ConnId::Outgoing, stream);
                        self.event(ip, Event::Connected);
                    }
                    Err(e) if e.refused => self.event(ip, Event::ConnectRefused(e.message)),
                    Err(e) => self.event(ip, Event::ConnectFailed(e.message)),
                }
            }
            Internal::Accepted(stream, remote) => {
                let ip = canonical(remote.ip());
                let Some(p) = self.peers.get_mut(&ip) else {
                    return;
                };
                if let Some(hops) = p.cfg.ttl_security
                    && let Err(e) = net::set_accepted_gtsm(&stream, hops)
                {
                    let text = format!("connection refused: {e}");
                    // Logged once per distinct reason, not on every retry of the peer.
                    if p.refused.as_deref() != Some(text.as_str()) {
                        log(ip, &text);
                    }
                    p.refused = Some(text);
                    return;
                }
                p.refused = None;
                let actions = p.fsm.handle(Event::Accepted);
                if actions.contains(&Action::Refuse) {
                    return;
                }
                self.attach(ip, ConnId::Incoming, stream);
                self.execute(ip, actions);
            }
        }
    }

    fn attach(&mut self, ip: IpAddr, id: ConnId, stream: TcpStream) {
        let serial = self.next_serial;
        self.next_serial += 1;
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        let open = build_open(p.fsm.config());
        let h = ConnHandle::start(stream, ip, id, serial, open, self.reports_tx.clone());
        if let Some(old) = p.conn(id).replace(h) {
            old.close();
        }
    }

    /// Feeds `event` to the peer's FSM and carries out what it decides.
    pub(crate) fn event(&mut self, ip: IpAddr, event: Event) {
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        let actions = p.fsm.handle(event);
        self.execute(ip, actions);
    }

    fn execute(&mut self, ip: IpAddr, actions: Vec<Action>) {
        for a in actions {
            let Some(p) = self.peers.get_mut(&ip) else {
                return;
            };
            match a {
                Action::Connect => {
                    p.connect_attempt += 1;
                    let attempt = p.connect_attempt;
                    let cfg = p.cfg.clone();
                    let tx = self.internal_tx.clone();
                    if let Some(t) = p.connect_task.take() {
                        t.abort();
                    }
                    // The attempt gives up a little before the FSM's ConnectRetry timer fires:
                    // otherwise the timer may win the race, cancel the attempt and leave the
                    // status with no reason at all (an MD5 mismatch looks exactly like that).
                    let timeout = cfg.connect_retry.saturating_sub(cfg.connect_retry / 10);
                    p.connect_task = Some(tokio::spawn(async move {
                        let r = net::connect(&cfg, timeout).await;
                        let _ = tx.send(Internal::ConnectDone(cfg.address, attempt, r));
                    }));
                }
                Action::CancelConnect => {
                    p.connect_attempt += 1;
                    if let Some(t) = p.connect_task.take() {
                        t.abort();
                    }
                }
                Action::Refuse => {}
                Action::Send(id, msg) => {
                    let params = p.conn(id).as_ref().map(|c| c.params).unwrap_or_default();
                    let mut buf = Vec::new();
                    match crate::wire::encode(&msg, &params, &mut buf) {
                        Ok(()) => {
                            if let Some(c) = p.conn(id).as_mut() {
                                c.send(buf);
                                p.messages.1 += 1;
                            }
                        }
                        Err(e) => log(ip, &format!("cannot encode {msg:?}: {e}")),
                    }
                }
                Action::Close(id) => {
                    if let Some(c) = p.conn(id).take() {
                        c.close();
                    }
                }
                Action::StartTimer(t, d) => {
                    self.timers
                        .start((ip, TimerKind::Fsm(t)), d, Internal::Timer);
                }
                Action::StopTimer(t) => self.timers.stop(&(ip, TimerKind::Fsm(t))),
                Action::Up(id, neg) => {
                    let params = codec_params(&neg, p.fsm.config().local_as);
                    let local = p.conn(id).as_mut().and_then(|c| {
                        c.params = params;
                        c.local
                    });
                    log(
                        ip,
                        &format!("session established (hold time {}s)", neg.hold_time),
                    );
                    self.session_up(ip, &neg, local);
                }
                Action::Down(reason) => {
                    log(ip, &format!("session down: {reason}"));
                    self.session_down(ip, &reason);
                }
                Action::Deliver(msg) => self.deliver(ip, msg),
            }
        }
        if let Some(p) = self.peers.get_mut(&ip) {
            let s = p.fsm.state();
            if s != p.state {
                p.state = s;
                p.since = now_secs();
            }
        }
    }

    fn peer_status(&self) -> Vec<PeerStatus> {
        self.peers
            .values()
            .map(|p| {
                let info = peer_info(&Facts {
                    state: p.state,
                    last_error: p.fsm.last_error(),
                    refused: p.refused.as_deref(),
                    dest: SocketAddr::new(p.cfg.address, p.cfg.port),
                    passive: p.cfg.passive,
                    password: p.cfg.password.is_some(),
                    local_as: p.fsm.config().local_as,
                    remote_as: p.cfg.remote_as,
                    router_id: self.cfg.router_id,
                    open: p.open_seen,
                });
                PeerStatus {
                    address: p.cfg.address,
                    port: p.cfg.port,
                    kind: p.cfg.kind.clone(),
                    remote_as: p.cfg.remote_as,
                    local_as: p.cfg.local_as.unwrap_or(self.cfg.asn),
                    state: p.state.name().to_string(),
                    since: p.since,
                    info,
                    prefixes_received: p.prefixes_received,
                    prefixes_sent: p.prefixes_sent,
                    messages: p.messages,
                    negotiated: p.fsm.negotiated().map(|n| NegotiatedStatus {
                        hold_time: n.hold_time,
                        families: n.families.iter().map(ToString::to_string).collect(),
                        add_path: n
                            .add_path_send
                            .iter()
                            .map(|f| format!("{f} send"))
                            .chain(n.add_path_receive.iter().map(|f| format!("{f} receive")))
                            .collect(),
                        peer_restart_time: n.peer_graceful_restart.as_ref().map(|g| g.restart_time),
                        four_octet_as: n.four_octet_as,
                    }),
                }
            })
            .collect()
    }
}

/// The codec parameters an Established session uses for what we send.
fn codec_params(neg: &Negotiated, local_as: u32) -> CodecParams {
    CodecParams {
        four_octet_as: neg.four_octet_as,
        add_path_rx: neg.add_path_receive.iter().copied().collect::<FamilySet>(),
        add_path_tx: neg.add_path_send.iter().copied().collect::<FamilySet>(),
        local_as,
        peer_as: Some(neg.remote_as),
    }
}
