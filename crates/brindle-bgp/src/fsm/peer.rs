//! [`PeerFsm`]: the state of one configured peer and its transitions.

use std::time::Duration;

use super::negotiate::build_open;
use super::{
    Action, ConnId, DownReason, Event, Negotiated, SessionConfig, State, Timer, negotiate,
};
use crate::model::{Message, Notification};

/// RFC 4271 §8.2.2: "the HoldTimer [is set] to a large value (a value of 4 minutes is
/// suggested)" while waiting for the peer's OPEN.
const OPEN_HOLD: Duration = Duration::from_secs(240);

/// Cease subcodes (RFC 4486 §4).
const CEASE: u8 = 6;
const CEASE_COLLISION: u8 = 7;

/// One connection of the peer, from the moment TCP is up. The negotiated parameters exist
/// from OpenConfirm on.
#[derive(Clone, Debug)]
enum Conn {
    OpenSent,
    OpenConfirm(Box<Negotiated>),
    Established(Box<Negotiated>),
}

impl Conn {
    fn state(&self) -> State {
        match self {
            Conn::OpenSent => State::OpenSent,
            Conn::OpenConfirm(_) => State::OpenConfirm,
            Conn::Established(_) => State::Established,
        }
    }

    fn negotiated(&self) -> Option<&Negotiated> {
        match self {
            Conn::OpenSent => None,
            Conn::OpenConfirm(n) | Conn::Established(n) => Some(n),
        }
    }
}

/// The FSM of one peer. Feed it events with [`PeerFsm::handle`]; carry out the actions.
#[derive(Clone, Debug)]
pub struct PeerFsm {
    cfg: SessionConfig,
    started: bool,
    connecting: bool,
    holding: bool,
    failures: u32,
    /// Consecutive outgoing connects refused by the peer's host.
    refused: u32,
    outgoing: Option<Conn>,
    incoming: Option<Conn>,
    last_error: Option<DownReason>,
}

impl PeerFsm {
    /// A stopped (Idle) peer; send [`Event::Start`] to bring it up.
    pub fn new(cfg: SessionConfig) -> PeerFsm {
        PeerFsm {
            cfg,
            started: false,
            connecting: false,
            holding: false,
            failures: 0,
            refused: 0,
            outgoing: None,
            incoming: None,
            last_error: None,
        }
    }

    /// The session configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Sets or clears the Restart State bit of the OPENs sent from now on (RFC 4724 §3): set
    /// while the speaker is recovering from its restart.
    pub fn set_restarting(&mut self, restarting: bool) {
        if let Some(gr) = &mut self.cfg.graceful_restart {
            gr.restarting = restarting;
        }
    }

    /// The peer's state: that of its most advanced connection, else Connect while an outgoing
    /// attempt runs, Active while waiting, Idle when stopped or backing off after an error.
    pub fn state(&self) -> State {
        let rank = |s: State| match s {
            State::Established => 3,
            State::OpenConfirm => 2,
            State::OpenSent => 1,
            _ => 0,
        };
        let best = [&self.outgoing, &self.incoming]
            .into_iter()
            .flatten()
            .map(Conn::state)
            .max_by_key(|s| rank(*s));
        match best {
            Some(s) => s,
            None if !self.started || self.holding => State::Idle,
            None if self.connecting => State::Connect,
            None => State::Active,
        }
    }

    /// Why the session last went down or failed to come up.
    pub fn last_error(&self) -> Option<&DownReason> {
        self.last_error.as_ref()
    }

    /// What was negotiated, while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.established()
            .and_then(|id| self.conn(id))
            .and_then(Conn::negotiated)
    }

    /// The connection carrying the Established session.
    pub fn established(&self) -> Option<ConnId> {
        [ConnId::Outgoing, ConnId::Incoming].into_iter().find(|id| {
            self.conn(*id)
                .is_some_and(|c| matches!(c, Conn::Established(_)))
        })
    }

    fn conn(&self, id: ConnId) -> Option<&Conn> {
        match id {
            ConnId::Outgoing => self.outgoing.as_ref(),
            ConnId::Incoming => self.incoming.as_ref(),
        }
    }

    fn slot(&mut self, id: ConnId) -> &mut Option<Conn> {
        match id {
            ConnId::Outgoing => &mut self.outgoing,
            ConnId::Incoming => &mut self.incoming,
        }
    }

    fn other(id: ConnId) -> ConnId {
        match id {
            ConnId::Outgoing => ConnId::Incoming,
            ConnId::Incoming => ConnId::Outgoing,
        }
    }

    /// Handles one event, returning the actions to carry out in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Start => self.start(&mut out),
            Event::Stop(n) => self.stop(n, &mut out),
            Event::Connected => self.connected(&mut out),
            Event::ConnectFailed(reason) => {
                self.connecting = false;
                self.refused = 0;
                if self.outgoing.is_none() && self.incoming.is_none() {
                    self.last_error = Some(DownReason::Connection(reason));
                }
            }
            Event::ConnectRefused(reason) => {
                self.connecting = false;
                if self.outgoing.is_none() && self.incoming.is_none() {
                    self.last_error = Some(DownReason::Connection(reason));
                    self.retry_soon(&mut out);
                }
            }
            Event::Accepted => self.accepted(&mut out),
            Event::Closed(id, reason) => {
                match self.conn(id) {
                    // Closed before the peer's OPEN: its speaker does not take us yet (it has
                    // not configured us, or is Idle). Not a session failure to back off from.
                    Some(Conn::OpenSent) => {
                        self.drop_conn(id, DownReason::Stopped, false, &mut out);
                        self.last_error = Some(DownReason::Connection(reason));
                        if id == ConnId::Outgoing
                            && self.incoming.is_none()
                            && self.started
                            && !self.holding
                        {
                            self.retry_soon(&mut out);
                        }
                    }
                    Some(_) => {
                        self.drop_conn(id, DownReason::Connection(reason), true, &mut out);
                    }
                    None => {}
                }
            }
            Event::TimerExpired(t) => self.timer(t, &mut out),
            Event::Received(id, msg) => self.received(id, msg, &mut out),
            Event::Malformed(id, n) => {
                if self.conn(id).is_some() {
                    out.push(Action::Send(id, Message::Notification(n.clone())));
                    self.drop_conn(id, DownReason::NotificationSent(n), true, &mut out);
                }
            }
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Action>) {
        if self.started && !self.holding {
            return;
        }
        self.started = true;
        self.holding = false;
        self.try_connect(out);
    }

    fn try_connect(&mut self, out: &mut Vec<Action>) {
        if self.cfg.passive || self.outgoing.is_some() || self.established().is_some() {
            return;
        }
        if self.connecting {
            out.push(Action::CancelConnect);
        }
        self.connecting = true;
        out.push(Action::Connect);
        out.push(Action::StartTimer(
            Timer::ConnectRetry,
            self.cfg.connect_retry,
        ));
    }

    fn stop(&mut self, n: Notification, out: &mut Vec<Action>) {
        for id in [ConnId::Outgoing, ConnId::Incoming] {
            if self.conn(id).is_some() {
                out.push(Action::Send(id, Message::Notification(n.clone())));
                self.drop_conn(id, DownReason::Stopped, false, out);
            }
        }
        if self.connecting {
            out.push(Action::CancelConnect);
        }
        self.connecting = false;
        self.started = false;
        self.holding = false;
        out.push(Action::StopTimer(Timer::ConnectRetry));
        out.push(Action::StopTimer(Timer::IdleHold));
        self.last_error = Some(DownReason::Stopped);
    }

    /// The peer's host is up but its speaker does not take us yet: typically it is starting,
    /// or has not configured us yet (a passive mesh side learns of a new node a moment after
    /// the active side). The next connect comes soon, doubling from [`REFUSED_RETRY`] up to
    /// ConnectRetry, rather than a whole ConnectRetry (or error wait) lost to a start-up race.
    fn retry_soon(&mut self, out: &mut Vec<Action>) {
        let factor = 1u32 << self.refused.min(16);
        let delay = REFUSED_RETRY
            .saturating_mul(factor)
            .min(self.cfg.connect_retry);
        self.refused = self.refused.saturating_add(1);
        out.push(Action::StartTimer(Timer::ConnectRetry, delay));
    }

    fn open_conn(&mut self, id: ConnId, out: &mut Vec<Action>) {
        *self.slot(id) = Some(Conn::OpenSent);
        out.push(Action::Send(id, Message::Open(build_open(&self.cfg))));
        out.push(Action::StartTimer(Timer::Hold(id), OPEN_HOLD));
    }

    fn connected(&mut self, out: &mut Vec<Action>) {
        let was_connecting = std::mem::replace(&mut self.connecting, false);
        // RFC 4271 §6.8: a new connection colliding with an Established one is closed.
        if !was_connecting
            || !self.started
            || self.holding
            || self.outgoing.is_some()
            || self.established().is_some()
        {
            out.push(Action::Close(ConnId::Outgoing));
            return;
        }
        out.push(Action::StopTimer(Timer::ConnectRetry));
        self.open_conn(ConnId::Outgoing, out);
    }

    fn accepted(&mut self, out: &mut Vec<Action>) {
        // Idle refuses connections (RFC 4271 §8.2.2), and so does a peer with a session up.
        if !self.started || self.incoming.is_some() || self.established().is_some() {
            out.push(Action::Refuse);
            return;
        }
        // Backing off after an error (the IdleHold wait), a started peer still takes the other
        // side's connection. Refusing it, as RFC 4271's optional DampPeerOscillations would,
        // lets two speakers that both back off lock each other out: each one's retry lands in
        // the other's wait, and the waits double (seen when one side restarts: its peers
        // back off after the drop, its first connects are refused, it backs off in turn).
        if self.holding {
            self.holding = false;
            out.push(Action::StopTimer(Timer::IdleHold));
        }
        self.open_conn(ConnId::Incoming, out);
    }

    fn timer(&mut self, t: Timer, out: &mut Vec<Action>) {
        match t {
            Timer::ConnectRetry => {
                if self.started
                    && !self.holding
                    && self.outgoing.is_none()
                    && self.incoming.is_none()
                {
                    self.try_connect(out);
                }
            }
            Timer::IdleHold => {
                if self.started && self.holding {
                    self.holding = false;
                    self.try_connect(out);
                }
            }
            Timer::Hold(id) => {
                if self.conn(id).is_some() {
                    // RFC 4271 §6.5: "If a system does not receive successive KEEPALIVE, UPDATE,
                    // and/or NOTIFICATION messages within the period specified in the Hold Time
                    // field of the OPEN message, then the NOTIFICATION message with the Hold
                    // Timer Expired Error Code is sent and the BGP connection is closed."
                    let n = Notification {
                        code: 4,
                        subcode: 0,
                        data: Vec::new(),
                    };
                    out.push(Action::Send(id, Message::Notification(n)));
                    self.drop_conn(id, DownReason::HoldTimerExpired, true, out);
                }
            }
            Timer::Keepalive(id) => {
                if let Some(ka) = self
                    .conn(id)
                    .and_then(Conn::negotiated)
                    .map(|n| n.keepalive)
                {
                    out.push(Action::Send(id, Message::Keepalive));
                    if ka > 0 {
                        out.push(Action::StartTimer(Timer::Keepalive(id), secs(ka)));
                    }
                }
            }
        }
    }

    fn received(&mut self, id: ConnId, msg: Message, out: &mut Vec<Action>) {
        let Some(state) = self.conn(id).map(Conn::state) else {
            return;
        };
        match (state, msg) {
            (_, Message::Notification(n)) => {
                self.drop_conn(id, DownReason::NotificationReceived(n), true, out);
            }
            (State::OpenSent, Message::Open(open)) => match negotiate(&self.cfg, &open) {
                Err(n) => {
                    out.push(Action::Send(id, Message::Notification(n.clone())));
                    self.drop_conn(id, DownReason::NotificationSent(n), true, out);
                }
                Ok(neg) => self.open_received(id, neg, out),
            },
            (State::OpenConfirm, Message::Keepalive) => {
                let Some(Conn::OpenConfirm(neg)) = self.slot(id).take() else {
                    return;
                };
                *self.slot(id) = Some(Conn::Established(neg.clone()));
                self.failures = 0;
                self.refused = 0;
                self.last_error = None;
                self.restart_hold(id, neg.hold_time, out);
                out.push(Action::Up(id, neg));
                // RFC 4271 §6.8: a connection still waiting for its OPEN loses to the one that
                // is now Established.
                let other = Self::other(id);
                if self.conn(other).is_some() {
                    let n = Notification {
                        code: CEASE,
                        subcode: CEASE_COLLISION,
                        data: Vec::new(),
                    };
                    out.push(Action::Send(other, Message::Notification(n)));
                    self.drop_conn(other, DownReason::Stopped, false, out);
                }
            }
            (State::Established, Message::Keepalive) => {
                self.restart_hold(id, self.hold_of(id), out);
            }
            (State::Established, m @ (Message::Update(_) | Message::RouteRefresh(_))) => {
                if matches!(m, Message::Update(_)) {
                    self.restart_hold(id, self.hold_of(id), out);
                }
                out.push(Action::Deliver(m));
            }
            (state, _) => {
                // RFC 6608 §4: FSM Error subcodes for an unexpected message in OpenSent (1),
                // OpenConfirm (2) and Established (3).
                let subcode = match state {
                    State::OpenSent => 1,
                    State::OpenConfirm => 2,
                    _ => 3,
                };
                let n = Notification {
                    code: 5,
                    subcode,
                    data: Vec::new(),
                };
                out.push(Action::Send(id, Message::Notification(n.clone())));
                self.drop_conn(id, DownReason::NotificationSent(n), true, out);
            }
        }
    }

    fn open_received(&mut self, id: ConnId, neg: Negotiated, out: &mut Vec<Action>) {
        // RFC 4271 §6.8: "the local system MUST examine all of its connections that are in the
        // OpenConfirm state ... If the value of the local BGP Identifier is less than the remote
        // one, the local system closes the BGP connection that already exists (the one that is
        // already in the OpenConfirm state), and accepts the BGP connection initiated by the
        // remote system. Otherwise, the local system closes the newly created BGP connection
        // (the one associated with the newly received OPEN message)".
        let other = Self::other(id);
        if self.conn(other).and_then(Conn::negotiated).is_some() {
            let keep = if u32::from(self.cfg.router_id) < u32::from(neg.remote_id) {
                ConnId::Incoming
            } else {
                ConnId::Outgoing
            };
            let lose = Self::other(keep);
            let n = Notification {
                code: CEASE,
                subcode: CEASE_COLLISION,
                data: Vec::new(),
            };
            out.push(Action::Send(lose, Message::Notification(n)));
            self.drop_conn(lose, DownReason::Stopped, false, out);
            if lose == id {
                return;
            }
        }
        let (hold, ka) = (neg.hold_time, neg.keepalive);
        *self.slot(id) = Some(Conn::OpenConfirm(Box::new(neg)));
        out.push(Action::Send(id, Message::Keepalive));
        if ka > 0 {
            out.push(Action::StartTimer(Timer::Keepalive(id), secs(ka)));
        }
        self.restart_hold(id, hold, out);
    }

    fn hold_of(&self, id: ConnId) -> u16 {
        self.conn(id)
            .and_then(Conn::negotiated)
            .map_or(0, |n| n.hold_time)
    }

    fn restart_hold(&self, id: ConnId, hold: u16, out: &mut Vec<Action>) {
        if hold > 0 {
            out.push(Action::StartTimer(Timer::Hold(id), secs(hold)));
        } else {
            out.push(Action::StopTimer(Timer::Hold(id)));
        }
    }

    /// Forgets connection `id`: stops its timers and closes it; reports Down if it carried the
    /// session. With `failed`, the peer backs off (Idle for the error-wait time) before trying
    /// again, unless its other connection is still alive.
    fn drop_conn(&mut self, id: ConnId, reason: DownReason, failed: bool, out: &mut Vec<Action>) {
        let Some(c) = self.slot(id).take() else {
            return;
        };
        out.push(Action::StopTimer(Timer::Hold(id)));
        out.push(Action::StopTimer(Timer::Keepalive(id)));
        out.push(Action::Close(id));
        if matches!(c, Conn::Established(_)) {
            out.push(Action::Down(reason.clone()));
        }
        if !failed {
            return;
        }
        self.last_error = Some(reason);
        if self.conn(Self::other(id)).is_some() || !self.started {
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let (min, max) = self.cfg.error_wait;
        let factor = 1u32 << self.failures.saturating_sub(1).min(16);
        let wait = min.saturating_mul(factor).min(max);
        self.holding = true;
        if self.connecting {
            self.connecting = false;
            out.push(Action::CancelConnect);
        }
        out.push(Action::StopTimer(Timer::ConnectRetry));
        out.push(Action::StartTimer(Timer::IdleHold, wait));
    }
}

/// The first retry after a refused connect (then doubling up to ConnectRetry).
const REFUSED_RETRY: Duration = Duration::from_millis(200);

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}
