//! Transitions of the session FSM, driven event by event.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use super::negotiate::build_open;
use super::*;
use crate::model::{Capability, Open, Update};

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn cfg() -> SessionConfig {
    SessionConfig::new(64512, LOCAL_ID, 64512)
}

fn peer_open(asn: u32, id: Ipv4Addr, hold: u16) -> Open {
    let mut c = SessionConfig::new(asn, id, 64512);
    c.hold_time = hold;
    build_open(&c)
}

fn sent(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(_, m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn notification(actions: &[Action]) -> Option<(u8, u8)> {
    sent(actions).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some((n.code, n.subcode)),
        _ => None,
    })
}

/// Brings a fresh peer to Established over the outgoing connection.
fn established() -> PeerFsm {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    f.handle(Event::Connected);
    f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Open(peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)),
    ));
    let a = f.handle(Event::Received(ConnId::Outgoing, Message::Keepalive));
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Up(ConnId::Outgoing, _))),
        "{a:?}"
    );
    f
}

#[test]
fn active_open_to_established() {
    let mut f = PeerFsm::new(cfg());
    assert_eq!(f.state(), State::Idle);
    let a = f.handle(Event::Start);
    assert_eq!(
        a,
        vec![
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, Duration::from_secs(5))
        ]
    );
    assert_eq!(f.state(), State::Connect);
    let a = f.handle(Event::Connected);
    assert!(
        matches!(sent(&a)[..], [Message::Open(ref o)] if o.hold_time == 90 && o.my_as == 64512)
    );
    assert!(a.contains(&Action::StartTimer(
        Timer::Hold(ConnId::Outgoing),
        Duration::from_secs(240)
    )));
    assert_eq!(f.state(), State::OpenSent);
    let a = f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Open(peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 30)),
    ));
    assert_eq!(sent(&a), vec![Message::Keepalive]);
    // Hold time is the smaller proposal; keepalive a third of it.
    assert!(a.contains(&Action::StartTimer(
        Timer::Hold(ConnId::Outgoing),
        Duration::from_secs(30)
    )));
    assert!(a.contains(&Action::StartTimer(
        Timer::Keepalive(ConnId::Outgoing),
        Duration::from_secs(10)
    )));
    assert_eq!(f.state(), State::OpenConfirm);
    let a = f.handle(Event::Received(ConnId::Outgoing, Message::Keepalive));
    let Some(Action::Up(ConnId::Outgoing, neg)) = a.iter().find(|a| matches!(a, Action::Up(..)))
    else {
        panic!("no Up in {a:?}")
    };
    assert_eq!(neg.hold_time, 30);
    assert_eq!(
        neg.families,
        vec![
            crate::model::Family::Ipv4Unicast,
            crate::model::Family::Ipv6Unicast
        ]
    );
    assert!(neg.four_octet_as && neg.enhanced_route_refresh);
    assert_eq!(
        neg.peer_graceful_restart.as_ref().map(|g| g.restart_time),
        Some(120)
    );
    assert_eq!(f.state(), State::Established);
    assert_eq!(
        f.negotiated().map(|n| n.remote_id),
        Some(Ipv4Addr::new(10, 0, 0, 2))
    );
}

#[test]
fn updates_are_delivered_and_refresh_the_hold_timer() {
    let mut f = established();
    let upd = Message::Update(Update::default());
    let a = f.handle(Event::Received(ConnId::Outgoing, upd.clone()));
    assert_eq!(
        a,
        vec![
            Action::StartTimer(Timer::Hold(ConnId::Outgoing), Duration::from_secs(90)),
            Action::Deliver(upd)
        ]
    );
    let a = f.handle(Event::TimerExpired(Timer::Keepalive(ConnId::Outgoing)));
    assert_eq!(
        a,
        vec![
            Action::Send(ConnId::Outgoing, Message::Keepalive),
            Action::StartTimer(Timer::Keepalive(ConnId::Outgoing), Duration::from_secs(30))
        ]
    );
}

#[test]
fn open_errors_send_the_exact_notification() {
    let cases: Vec<(Open, (u8, u8))> = vec![
        (peer_open(64513, Ipv4Addr::new(10, 0, 0, 2), 90), (2, 2)),
        (peer_open(64512, LOCAL_ID, 90), (2, 3)),
        (peer_open(64512, Ipv4Addr::UNSPECIFIED, 90), (2, 3)),
        (peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 2), (2, 6)),
        (
            Open {
                version: 3,
                ..peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)
            },
            (2, 1),
        ),
    ];
    for (open, want) in cases {
        let mut f = PeerFsm::new(cfg());
        f.handle(Event::Start);
        f.handle(Event::Connected);
        let a = f.handle(Event::Received(
            ConnId::Outgoing,
            Message::Open(open.clone()),
        ));
        assert_eq!(notification(&a), Some(want), "{open:?}");
        assert!(a.contains(&Action::Close(ConnId::Outgoing)));
        assert_eq!(f.state(), State::Idle, "backs off after an error");
        assert!(
            matches!(f.last_error(), Some(DownReason::NotificationSent(n)) if (n.code, n.subcode) == want)
        );
        assert!(a.contains(&Action::StartTimer(Timer::IdleHold, Duration::from_secs(5))));
    }
}

#[test]
fn unsupported_version_names_the_version_we_speak() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    f.handle(Event::Connected);
    let open = Open {
        version: 5,
        ..peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)
    };
    let a = f.handle(Event::Received(ConnId::Outgoing, Message::Open(open)));
    assert!(sent(&a).contains(&Message::Notification(Notification {
        code: 2,
        subcode: 1,
        data: vec![0, 4]
    })));
}

#[test]
fn hold_timer_expiry_and_backoff_doubles_to_the_maximum() {
    let mut f = established();
    let a = f.handle(Event::TimerExpired(Timer::Hold(ConnId::Outgoing)));
    assert_eq!(notification(&a), Some((4, 0)));
    assert!(a.contains(&Action::Down(DownReason::HoldTimerExpired)));
    assert_eq!(f.state(), State::Idle);
    assert_eq!(
        f.last_error().map(ToString::to_string).as_deref(),
        Some("hold timer expired")
    );
    // Each consecutive failure doubles the wait: 5, 10, 20, 30, 30 s.
    let mut waits = Vec::new();
    for _ in 0..5 {
        let a = f.handle(Event::TimerExpired(Timer::IdleHold));
        assert!(a.contains(&Action::Connect));
        f.handle(Event::Connected);
        let a = f.handle(Event::Received(
            ConnId::Outgoing,
            Message::Open(peer_open(64513, Ipv4Addr::new(10, 0, 0, 2), 90)),
        ));
        waits.extend(a.iter().filter_map(|a| match a {
            Action::StartTimer(Timer::IdleHold, d) => Some(d.as_secs()),
            _ => None,
        }));
    }
    assert_eq!(waits, vec![10, 20, 30, 30, 30]);
}

#[test]
fn backing_off_still_takes_the_peers_connection() {
    let mut f = established();
    f.handle(Event::TimerExpired(Timer::Hold(ConnId::Outgoing)));
    let a = f.handle(Event::Accepted);
    assert!(a.contains(&Action::StopTimer(Timer::IdleHold)), "{a:?}");
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Send(ConnId::Incoming, Message::Open(_)))),
        "{a:?}"
    );
    // The wait is over: its timer firing late starts nothing.
    assert!(f.handle(Event::TimerExpired(Timer::IdleHold)).is_empty());
}

#[test]
fn notification_received_takes_the_session_down() {
    let mut f = established();
    let n = Notification {
        code: 6,
        subcode: 2,
        data: vec![],
    };
    let a = f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Notification(n.clone()),
    ));
    assert!(a.contains(&Action::Down(DownReason::NotificationReceived(n.clone()))));
    assert!(a.contains(&Action::Close(ConnId::Outgoing)));
    assert_eq!(notification(&a), None, "no NOTIFICATION in reply to one");
    assert_eq!(f.last_error(), Some(&DownReason::NotificationReceived(n)));
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    f.handle(Event::Connected);
    let a = f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Update(Update::default()),
    ));
    assert_eq!(notification(&a), Some((5, 1)));
    let mut f = established();
    let a = f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Open(peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)),
    ));
    assert_eq!(notification(&a), Some((5, 3)));
}

#[test]
fn malformed_input_sends_the_codecs_notification() {
    let mut f = established();
    let n = Notification {
        code: 3,
        subcode: 1,
        data: vec![],
    };
    let a = f.handle(Event::Malformed(ConnId::Outgoing, n.clone()));
    assert_eq!(
        a[0],
        Action::Send(ConnId::Outgoing, Message::Notification(n.clone()))
    );
    assert!(a.contains(&Action::Down(DownReason::NotificationSent(n))));
}

#[test]
fn connect_failure_retries_on_the_connect_retry_timer() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    let a = f.handle(Event::ConnectFailed(
        "connection refused by 10.0.0.2:179".into(),
    ));
    assert!(a.is_empty());
    assert_eq!(f.state(), State::Active);
    assert_eq!(
        f.last_error().map(ToString::to_string).as_deref(),
        Some("connection refused by 10.0.0.2:179")
    );
    let a = f.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert_eq!(
        a,
        vec![
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, Duration::from_secs(5))
        ]
    );
}

#[test]
fn passive_peer_waits_for_the_peer() {
    let mut c = cfg();
    c.passive = true;
    let mut f = PeerFsm::new(c);
    assert!(f.handle(Event::Start).is_empty());
    assert_eq!(f.state(), State::Active);
    let a = f.handle(Event::Accepted);
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
    f.handle(Event::Received(
        ConnId::Incoming,
        Message::Open(peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)),
    ));
    let a = f.handle(Event::Received(ConnId::Incoming, Message::Keepalive));
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Up(ConnId::Incoming, _)))
    );
}

#[test]
fn idle_refuses_and_established_refuses_a_second_connection() {
    let mut f = PeerFsm::new(cfg());
    assert_eq!(f.handle(Event::Accepted), vec![Action::Refuse]);
    let mut f = established();
    assert_eq!(f.handle(Event::Accepted), vec![Action::Refuse]);
}

/// Both sides connect at once; the OPEN on one connection arrives while the other is in
/// OpenConfirm. The connection initiated by the higher BGP identifier survives.
#[test]
fn collision_keeps_the_connection_of_the_higher_identifier() {
    for (remote_id, survivor) in [
        (Ipv4Addr::new(10, 0, 0, 2), ConnId::Incoming),
        (Ipv4Addr::new(9, 0, 0, 1), ConnId::Outgoing),
    ] {
        let mut f = PeerFsm::new(cfg());
        f.handle(Event::Start);
        f.handle(Event::Connected);
        f.handle(Event::Accepted);
        let open = Message::Open(peer_open(64512, remote_id, 90));
        f.handle(Event::Received(ConnId::Outgoing, open.clone()));
        let a = f.handle(Event::Received(ConnId::Incoming, open));
        let loser = if survivor == ConnId::Incoming {
            ConnId::Outgoing
        } else {
            ConnId::Incoming
        };
        assert!(
            a.contains(&Action::Send(
                loser,
                Message::Notification(Notification {
                    code: 6,
                    subcode: 7,
                    data: vec![]
                })
            )),
            "{a:?}"
        );
        assert!(a.contains(&Action::Close(loser)));
        let a = f.handle(Event::Received(survivor, Message::Keepalive));
        assert!(
            a.iter()
                .any(|x| matches!(x, Action::Up(id, _) if *id == survivor)),
            "{a:?}"
        );
        assert_eq!(f.state(), State::Established);
    }
}

#[test]
fn a_connection_still_in_open_sent_loses_to_an_established_one() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    f.handle(Event::Connected);
    f.handle(Event::Accepted);
    f.handle(Event::Received(
        ConnId::Outgoing,
        Message::Open(peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90)),
    ));
    let a = f.handle(Event::Received(ConnId::Outgoing, Message::Keepalive));
    assert!(a.contains(&Action::Close(ConnId::Incoming)));
    assert_eq!(f.established(), Some(ConnId::Outgoing));
}

#[test]
fn stop_sends_cease_and_stays_down() {
    let mut f = established();
    let cease = Notification {
        code: 6,
        subcode: 2,
        data: vec![],
    };
    let a = f.handle(Event::Stop(cease.clone()));
    assert_eq!(
        a[0],
        Action::Send(ConnId::Outgoing, Message::Notification(cease))
    );
    assert!(a.contains(&Action::Down(DownReason::Stopped)));
    assert_eq!(f.state(), State::Idle);
    assert!(
        f.handle(Event::TimerExpired(Timer::ConnectRetry))
            .is_empty()
    );
    assert!(f.handle(Event::TimerExpired(Timer::IdleHold)).is_empty());
}

#[test]
fn add_path_and_families_are_intersected() {
    use crate::model::{AddPathMode, Family};
    let mut c = cfg();
    c.add_path = vec![
        (Family::Ipv4Unicast, AddPathMode::Both),
        (Family::Ipv6Unicast, AddPathMode::Send),
    ];
    let mut remote = peer_open(64512, Ipv4Addr::new(10, 0, 0, 2), 90);
    remote
        .capabilities
        .retain(|c| !matches!(c, Capability::Multiprotocol(Family::Ipv6Unicast)));
    remote.capabilities.push(Capability::AddPath(vec![(
        Family::Ipv4Unicast,
        AddPathMode::Receive,
    )]));
    let n = negotiate(&c, &remote).unwrap();
    assert_eq!(n.families, vec![Family::Ipv4Unicast]);
    assert_eq!(n.add_path_send, vec![Family::Ipv4Unicast]);
    assert!(n.add_path_receive.is_empty());
    // A peer without MP capabilities speaks IPv4 unicast (RFC 4760 §8).
    let bare = Open {
        capabilities: vec![],
        ..remote
    };
    let n = negotiate(&c, &bare).unwrap();
    assert_eq!(n.families, vec![Family::Ipv4Unicast]);
    assert!(!n.four_octet_as);
}

#[test]
fn four_octet_as_goes_in_the_capability_with_as_trans_in_the_header() {
    let o = build_open(&SessionConfig::new(4_200_000_001, LOCAL_ID, 1));
    assert_eq!(o.my_as, crate::model::AS_TRANS);
    assert_eq!(o.asn(), 4_200_000_001);
}

fn graceful_restart_cap(open: &Open) -> crate::model::GracefulRestartCap {
    open.capabilities
        .iter()
        .find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn forwarding_state_bits_are_set_with_or_without_a_restart() {
    // RFC 4724 §4.2: without the F bit for a family the peer flushes the stale routes it kept
    // for us as soon as the session is back (a flap after every crash or session reset).
    use crate::model::Family::{Ipv4Unicast, Ipv6Unicast};
    let gr = graceful_restart_cap(&build_open(&cfg()));
    assert!(!gr.restarting);
    assert_eq!(gr.restart_time, 120);
    assert_eq!(gr.families, [(Ipv4Unicast, true), (Ipv6Unicast, true)]);
    let mut c = cfg();
    c.families = vec![Ipv6Unicast];
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 30,
        restarting: true,
    });
    let gr = graceful_restart_cap(&build_open(&c));
    assert!(gr.restarting);
    assert_eq!(gr.families, [(Ipv6Unicast, true)]);
    c.graceful_restart = None;
    assert!(
        !build_open(&c)
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::GracefulRestart(_)))
    );
}

#[test]
fn a_refused_connect_is_retried_soon_then_less_often() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    let mut delays = Vec::new();
    for _ in 0..7 {
        let a = f.handle(Event::ConnectRefused(
            "TCP connection refused by 10.0.0.2:179".into(),
        ));
        delays.extend(a.iter().filter_map(|a| match a {
            Action::StartTimer(Timer::ConnectRetry, d) => Some(d.as_millis()),
            _ => None,
        }));
        let a = f.handle(Event::TimerExpired(Timer::ConnectRetry));
        assert!(a.contains(&Action::Connect), "{a:?}");
    }
    assert_eq!(delays, vec![200, 400, 800, 1600, 3200, 5000, 5000]);
    assert!(
        f.last_error()
            .is_some_and(|e| e.to_string().contains("refused"))
    );
    // Any other failure resets the quick retries.
    f.handle(Event::ConnectFailed(
        "TCP connect to 10.0.0.2:179 timed out".into(),
    ));
    let a = f.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert!(a.contains(&Action::Connect));
    let a = f.handle(Event::ConnectRefused("refused".into()));
    assert!(a.contains(&Action::StartTimer(
        Timer::ConnectRetry,
        Duration::from_millis(200)
    )));
}

#[test]
fn a_connection_closed_before_the_peers_open_is_retried_soon_without_backing_off() {
    let mut f = PeerFsm::new(cfg());
    f.handle(Event::Start);
    f.handle(Event::Connected);
    let a = f.handle(Event::Closed(
        ConnId::Outgoing,
        "connection to 10.0.0.2:179 closed by the peer before it sent an OPEN".into(),
    ));
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::StartTimer(Timer::IdleHold, _))),
        "{a:?}"
    );
    assert!(a.contains(&Action::StartTimer(
        Timer::ConnectRetry,
        Duration::from_millis(200)
    )));
    assert!(
        f.last_error()
            .is_some_and(|e| e.to_string().contains("before it sent an OPEN"))
    );
    let a = f.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert!(a.contains(&Action::Connect));
}
