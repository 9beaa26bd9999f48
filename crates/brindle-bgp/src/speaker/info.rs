//! The INFO text of a peer's status: `Established`, or why not, with the facts an operator
//! needs to tell the causes apart (which connection, which port, which NOTIFICATION and the
//! numbers behind it).
//!
//! `brindlectl node status --detail` recognises these phrases; keep them stable:
//! `NOTIFICATION received: `, `NOTIFICATION sent: `, `hold timer expired`,
//! `TCP connection refused by`, `timed out`, `MD5`, `closed by the peer`,
//! `before it sent an OPEN`, `reset by the peer`, `passive: waiting for the peer`,
//! `the peer's OPEN says AS N`, `our AS N`, and the GTSM refusal's `TTL`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::fsm::{DownReason, State};
use crate::model::{Notification, Open};
use crate::wire::notification::{codes, open_subcode};

/// What the last OPEN received from the peer said (kept to explain a refusal of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenSeen {
    /// Its AS (the four-octet one when the capability carries it).
    pub asn: u32,
    /// Its BGP identifier.
    pub id: Ipv4Addr,
    /// Its proposed hold time (s).
    pub hold_time: u16,
}

impl OpenSeen {
    /// The facts of `open`.
    pub(crate) fn of(open: &Open) -> OpenSeen {
        OpenSeen {
            asn: open.asn(),
            id: open.bgp_id,
            hold_time: open.hold_time,
        }
    }
}

/// Everything the INFO text is made from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts<'a> {
    /// The peer's FSM state.
    pub state: State,
    /// Why the session last went down or failed to come up.
    pub last_error: Option<&'a DownReason>,
    /// Why the peer's last connection was refused at accept (GTSM), if it was.
    pub refused: Option<&'a str>,
    /// Where we connect to.
    pub dest: SocketAddr,
    /// We only wait for the peer to connect.
    pub passive: bool,
    /// A TCP MD5 password is configured.
    pub password: bool,
    /// Our AS on the session.
    pub local_as: u32,
    /// The AS we expect the peer to have.
    pub remote_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The peer's last OPEN.
    pub open: Option<OpenSeen>,
}

/// The INFO text for a peer.
pub(crate) fn peer_info(f: &Facts) -> String {
    match (f.state, f.last_error) {
        (State::Established, _) => "Established".into(),
        (_, Some(DownReason::Stopped) | None) => match f.refused {
            Some(r) => r.to_string(),
            None => progress(f),
        },
        (_, Some(e)) => error(f, e),
    }
}

/// What a peer without an error is doing.
fn progress(f: &Facts) -> String {
    match f.state {
        State::Idle => "idle".into(),
        State::Connect => format!("connecting to {}", f.dest),
        State::Active if f.passive => {
            "passive: waiting for the peer to connect to us (we do not connect)".into()
        }
        State::Active => format!("waiting to connect to {}", f.dest),
        State::OpenSent => "OPEN sent, waiting for the peer's OPEN".into(),
        State::OpenConfirm => "OPENs exchanged, waiting for the peer's KEEPALIVE".into(),
        State::Established => "Established".into(),
    }
}

fn error(f: &Facts, e: &DownReason) -> String {
    match e {
        DownReason::NotificationReceived(n) => {
            format!(
                "NOTIFICATION received: {}{}",
                n.describe(),
                received_hint(f, n)
            )
        }
        DownReason::NotificationSent(n) => {
            format!("NOTIFICATION sent: {}{}", n.describe(), sent_hint(f, n))
        }
        DownReason::HoldTimerExpired => "hold timer expired: nothing heard from the peer within \
             the hold time (NOTIFICATION Hold Timer Expired sent)"
            .into(),
        DownReason::Connection(r) if f.password && r.contains("reset by the peer") => {
            format!("{r} (MD5 password configured: a password mismatch is suspected)")
        }
        DownReason::Connection(r) => r.clone(),
        DownReason::Stopped => "stopped by configuration".into(),
    }
}

/// The numbers behind a NOTIFICATION the peer sent us.
fn received_hint(f: &Facts, n: &Notification) -> String {
    match (n.code, n.subcode) {
        (codes::OPEN_MESSAGE_ERROR, open_subcode::BAD_PEER_AS) => {
            format!(" (the peer does not accept our AS {})", f.local_as)
        }
        (codes::OPEN_MESSAGE_ERROR, open_subcode::BAD_BGP_IDENTIFIER) => {
            format!(" (the peer rejects our BGP identifier {})", f.router_id)
        }
        _ => String::new(),
    }
}

/// The numbers behind a NOTIFICATION we sent, from the peer's OPEN.
fn sent_hint(f: &Facts, n: &Notification) -> String {
    let Some(open) = f.open else {
        return String::new();
    };
    match (n.code, n.subcode) {
        (codes::OPEN_MESSAGE_ERROR, open_subcode::BAD_PEER_AS) => format!(
            " (the peer's OPEN says AS {}, we expect AS {})",
            open.asn, f.remote_as
        ),
        (codes::OPEN_MESSAGE_ERROR, open_subcode::BAD_BGP_IDENTIFIER) => {
            if open.id == f.router_id {
                format!(" (the peer's BGP identifier {} is ours too)", open.id)
            } else {
                format!(" (the peer's BGP identifier is {})", open.id)
            }
        }
        (codes::OPEN_MESSAGE_ERROR, open_subcode::UNACCEPTABLE_HOLD_TIME) => {
            format!(" (the peer proposed hold time {} s)", open.hold_time)
        }
        _ => String::new(),
    }
}

/// The words for a connection that ended: `conn` names it (`connection to 10.0.0.2:179`),
/// `before_open` says the peer never sent its OPEN on it, `error` is the socket error if any
/// (none for an orderly close).
pub(crate) fn closed_text(conn: &str, before_open: bool, error: Option<&std::io::Error>) -> String {
    let when = if before_open {
        " before it sent an OPEN"
    } else {
        ""
    };
    match error.map(std::io::Error::kind) {
        None => format!("{conn} closed by the peer{when}"),
        Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) => {
            format!("{conn} reset by the peer{when}")
        }
        Some(_) => match error {
            Some(e) => format!("{conn} failed{when}: {e}"),
            None => format!("{conn} failed{when}"),
        },
    }
}

/// Names a connection for [`closed_text`]: ours goes to the peer's BGP port, the peer's comes
/// from one of its ephemeral ports.
pub(crate) fn conn_name(outgoing: bool, remote: Option<SocketAddr>, peer: IpAddr) -> String {
    match (outgoing, remote) {
        (true, Some(r)) => format!("connection to {}", unmapped(r)),
        (true, None) => format!("connection to {peer}"),
        (false, Some(r)) => format!("connection from {}", unmapped(r)),
        (false, None) => format!("connection from {peer}"),
    }
}

/// `[::ffff:10.0.0.2]:179` as `10.0.0.2:179`.
fn unmapped(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(state: State, e: Option<&'a DownReason>) -> Facts<'a> {
        Facts {
            state,
            last_error: e,
            refused: None,
            dest: "10.0.0.2:179".parse().expect("addr"),
            passive: false,
            password: false,
            local_as: 64512,
            remote_as: 64513,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            open: None,
        }
    }

    fn open_error(subcode: u8) -> Notification {
        Notification {
            code: 2,
            subcode,
            data: Vec::new(),
        }
    }

    #[test]
    fn bad_peer_as_names_both_numbers() {
        let sent = DownReason::NotificationSent(open_error(2));
        let mut f = facts(State::Idle, Some(&sent));
        f.open = Some(OpenSeen {
            asn: 64999,
            id: Ipv4Addr::new(10, 0, 0, 2),
            hold_time: 90,
        });
        assert_eq!(
            peer_info(&f),
            "NOTIFICATION sent: OPEN Message Error / Bad Peer AS (the peer's OPEN says AS 64999, \
             we expect AS 64513)"
        );
        let received = DownReason::NotificationReceived(open_error(2));
        assert_eq!(
            peer_info(&facts(State::Active, Some(&received))),
            "NOTIFICATION received: OPEN Message Error / Bad Peer AS (the peer does not accept \
             our AS 64512)"
        );
    }

    #[test]
    fn duplicate_router_id_and_hold_time_are_explained() {
        let sent = DownReason::NotificationSent(open_error(3));
        let mut f = facts(State::Idle, Some(&sent));
        f.open = Some(OpenSeen {
            asn: 64513,
            id: Ipv4Addr::new(10, 0, 0, 1),
            hold_time: 2,
        });
        assert!(peer_info(&f).ends_with("(the peer's BGP identifier 10.0.0.1 is ours too)"));
        let hold = DownReason::NotificationSent(open_error(6));
        f.last_error = Some(&hold);
        assert!(
            peer_info(&f).ends_with("Unacceptable Hold Time (the peer proposed hold time 2 s)")
        );
    }

    #[test]
    fn without_an_error_the_state_is_explained() {
        assert_eq!(
            peer_info(&facts(State::Connect, None)),
            "connecting to 10.0.0.2:179"
        );
        let mut f = facts(State::Active, None);
        f.passive = true;
        assert!(peer_info(&f).starts_with("passive: waiting for the peer to connect"));
        f.refused = Some("the peer's SYN arrived with TTL 1");
        assert_eq!(peer_info(&f), "the peer's SYN arrived with TTL 1");
        let up = DownReason::HoldTimerExpired;
        assert_eq!(
            peer_info(&facts(State::Established, Some(&up))),
            "Established"
        );
        assert!(peer_info(&facts(State::Idle, Some(&up))).starts_with("hold timer expired"));
    }

    #[test]
    fn resets_with_a_password_point_at_md5() {
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let text = closed_text("connection to 10.0.0.2:179", true, Some(&e));
        assert_eq!(
            text,
            "connection to 10.0.0.2:179 reset by the peer before it sent an OPEN"
        );
        let reset = DownReason::Connection(text);
        let mut f = facts(State::Idle, Some(&reset));
        assert!(!peer_info(&f).contains("MD5"));
        f.password = true;
        assert!(
            peer_info(&f).ends_with("(MD5 password configured: a password mismatch is suspected)")
        );
    }

    #[test]
    fn closes_say_which_connection_and_when() {
        let from: SocketAddr = "[::ffff:10.0.0.2]:40312".parse().expect("addr");
        let peer: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_eq!(
            closed_text(&conn_name(false, Some(from), peer), true, None),
            "connection from 10.0.0.2:40312 closed by the peer before it sent an OPEN"
        );
        assert_eq!(
            closed_text(&conn_name(true, None, peer), false, None),
            "connection to 10.0.0.2 closed by the peer"
        );
        let e = std::io::Error::other("boom");
        assert_eq!(
            closed_text("connection to 10.0.0.2:179", false, Some(&e)),
            "connection to 10.0.0.2:179 failed: boom"
        );
    }
}
