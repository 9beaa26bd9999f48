//! Why a BGP session is not Established, in words a network engineer can act on: a pure
//! reading of a peer's status (state, the speaker's INFO, counters). The phrases looked for
//! are the ones brindle-bgp's `speaker/info.rs` promises to keep.

use brindle_bgp::speaker::PeerStatus;

/// What keeps a session from being Established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// It is Established.
    Established,
    /// Our TCP connection is refused: nothing listens on the peer's port.
    Refused,
    /// Our SYNs go unanswered; `md5` when a TCP MD5 password makes a mismatch likely.
    Timeout {
        /// A password is configured.
        md5: bool,
    },
    /// No route to the peer's address.
    NoRoute,
    /// The peer takes TCP connections but closes them before its OPEN, or rejects us by
    /// NOTIFICATION: it is not configured to peer with this node.
    NotConfiguredBack,
    /// Connections are reset; `md5` when a password is configured.
    Reset {
        /// A password is configured.
        md5: bool,
    },
    /// The peer closed an open session without a NOTIFICATION.
    ClosedByPeer,
    /// The peer sent this NOTIFICATION (`OPEN Message Error / Bad Peer AS`).
    NotificationReceived(String),
    /// We sent this NOTIFICATION.
    NotificationSent(String),
    /// Nothing heard from the peer within the hold time.
    HoldTimerExpired,
    /// The peer's packets arrive with a TTL below what GTSM (ttlSecurity) requires.
    Gtsm,
    /// We only wait for the peer to connect, and it does not.
    PassiveWaiting,
    /// Coming up, no error so far.
    InProgress,
    /// Something the speaker words in a way not recognised here (its INFO is shown as is).
    Other,
}

/// A cause with its words: `short` for the INFO column, `advice` for `--detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// What keeps the session down.
    pub cause: Cause,
    /// A few words for the table (empty: the state says it all).
    pub short: String,
    /// What to check, in sentences.
    pub advice: String,
}

/// Reads `p`'s status.
pub fn diagnose(p: &PeerStatus) -> Diagnosis {
    let cause = cause(p);
    let short = short(&cause, &p.info);
    let advice = advice(&cause, p);
    Diagnosis {
        cause,
        short,
        advice,
    }
}

fn cause(p: &PeerStatus) -> Cause {
    let info = p.info.as_str();
    let has = |s: &str| info.contains(s);
    if p.state == "Established" {
        Cause::Established
    } else if let Some(name) = info.strip_prefix("NOTIFICATION received: ") {
        let name = notification_name(name);
        if matches!(subcode(&name), "Connection Rejected" | "Peer De-configured") {
            Cause::NotConfiguredBack
        } else {
            Cause::NotificationReceived(name)
        }
    } else if let Some(name) = info.strip_prefix("NOTIFICATION sent: ") {
        Cause::NotificationSent(notification_name(name))
    } else if has("hold timer expired") {
        Cause::HoldTimerExpired
    } else if has("TTL") && has("GTSM") {
        Cause::Gtsm
    } else if has("connection refused") {
        Cause::Refused
    } else if has("timed out") {
        Cause::Timeout { md5: has("MD5") }
    } else if has("no route") || has("unreachable") {
        Cause::NoRoute
    } else if has("reset by the peer") && has("MD5") {
        Cause::Reset { md5: true }
    } else if has("before it sent an OPEN") {
        Cause::NotConfiguredBack
    } else if has("reset by the peer") {
        Cause::Reset { md5: false }
    } else if has("closed by the peer") {
        Cause::ClosedByPeer
    } else if info.starts_with("passive") {
        Cause::PassiveWaiting
    } else if info.is_empty()
        || ["connecting", "waiting", "OPEN", "idle"]
            .iter()
            .any(|w| info.starts_with(w))
    {
        Cause::InProgress
    } else {
        Cause::Other
    }
}

/// `OPEN Message Error / Bad Peer AS (…)` as `OPEN Message Error / Bad Peer AS`.
fn notification_name(text: &str) -> String {
    let end = [text.find(" ("), text.find(": ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    text.get(..end).unwrap_or(text).to_string()
}

/// `OPEN Message Error / Bad Peer AS` as `Bad Peer AS`; a code without subcode as itself.
fn subcode(name: &str) -> &str {
    name.split_once(" / ").map_or(name, |(_, s)| s)
}

/// The number after `marker` in `text` (`says AS 64513`).
fn number_after(text: &str, marker: &str) -> Option<u32> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The text after `marker` up to the closing parenthesis (`(the peer's BGP identifier …)`).
fn clause_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    Some(rest.split(')').next().unwrap_or(rest))
}

fn short(cause: &Cause, info: &str) -> String {
    match cause {
        Cause::Established | Cause::InProgress => String::new(),
        Cause::Refused => "Connection refused".into(),
        Cause::Timeout { md5: false } => "Timed out".into(),
        Cause::Timeout { md5: true } => "Timed out (MD5 mismatch?)".into(),
        Cause::NoRoute => "No route to peer".into(),
        Cause::NotConfiguredBack => "Peer not configured for us?".into(),
        Cause::Reset { md5: false } => "Connection reset".into(),
        Cause::Reset { md5: true } => "Connection reset (MD5 mismatch?)".into(),
        Cause::ClosedByPeer => "Closed by peer".into(),
        Cause::NotificationReceived(n) => format!("Received {}", subcode(n)),
        Cause::NotificationSent(n) => format!("Sent {}", subcode(n)),
        Cause::HoldTimerExpired => "Hold timer expired".into(),
        Cause::Gtsm => "GTSM: peer TTL too low".into(),
        Cause::PassiveWaiting => "Passive, waiting for peer".into(),
        Cause::Other => {
            let first = info.split(" (").next().unwrap_or(info);
            if first.chars().count() <= 40 {
                return first.to_string();
            }
            let head: String = first.chars().take(40).collect();
            let cut = head.rfind(' ').unwrap_or(head.len());
            format!("{}…", head.get(..cut).unwrap_or(&head))
        }
    }
}

fn advice(cause: &Cause, p: &PeerStatus) -> String {
    let dest = std::net::SocketAddr::new(p.address, p.port);
    let (ip, us, them) = (p.address, p.local_as, p.remote_as);
    match cause {
        Cause::Established => "Established.".into(),
        Cause::Refused => format!(
            "Nothing listens on {dest}: is the peer's BGP daemon running and listening on that \
             port? (Some routers also refuse connections from addresses they have no neighbor \
             for: check that {ip} has this node configured as a neighbor with remote AS {us}.)"
        ),
        Cause::Timeout { md5: false } => format!(
            "No answer from {dest}: our SYNs go unanswered. Check routing to {ip} (`ip route get \
             {ip}`) and firewalls between the hosts: TCP port {} must be open both ways.",
            p.port
        ),
        Cause::Timeout { md5: true } => format!(
            "No answer from {dest}, and a TCP MD5 password is configured: a password mismatch (or \
             a password on one side only) makes the peer's kernel drop our SYNs silently. Compare \
             the passwords on both sides; if they match, check routing and firewalls to {ip}."
        ),
        Cause::NoRoute => format!(
            "This host has no route to {ip}: check `ip route get {ip}` and the node's addresses \
             and default route."
        ),
        Cause::NotConfiguredBack => format!(
            "{ip} accepts TCP on port {} but drops this node before the BGP handshake: it is \
             most likely not configured to peer with this node. Add this node's address as a \
             neighbor on {ip} with remote AS {us}, and check that it expects the address this \
             node connects from.",
            p.port
        ),
        Cause::Reset { md5: true } => format!(
            "{ip} resets our connections and a TCP MD5 password is configured: compare the \
             passwords on both sides (a password on one side only fails the same way)."
        ),
        Cause::Reset { md5: false } => format!(
            "{ip} resets our connections: the peer refuses this session (not configured for \
             this node?) or a firewall between the hosts sends resets."
        ),
        Cause::ClosedByPeer => format!(
            "{ip} closed the session without saying why (no NOTIFICATION): the peer's log has \
             the reason."
        ),
        Cause::NotificationReceived(n) => received(n, p),
        Cause::NotificationSent(n) => sent(n, p),
        Cause::HoldTimerExpired => format!(
            "Nothing heard from {ip} within the hold time: its KEEPALIVEs do not reach us. Check \
             packet loss, MTU black holes (big UPDATEs lost while small packets pass) and \
             firewalls between the hosts, and whether the peer is overloaded."
        ),
        Cause::Gtsm => format!(
            "{} This node has ttlSecurity set for {ip}: enable TTL security (GTSM) on the peer \
             too, or remove ttlSecurity from the BGPPeer.",
            p.info
        ),
        Cause::PassiveWaiting if p.messages.0 == 0 => format!(
            "This node only waits for {ip} to connect (passive), and it never has: configure \
             the peer to connect to this node (and to have it as a neighbor with remote AS \
             {us}), or make this side active."
        ),
        Cause::PassiveWaiting => format!(
            "This node only waits for {ip} to connect (passive) and it has not reconnected: \
             check the peer's state and log."
        ),
        Cause::InProgress => format!(
            "The session is coming up ({}). If it stays {}, the peer's messages are not \
             reaching this node: check the peer's log and the path between the hosts.",
            if p.info.is_empty() {
                "no error so far"
            } else {
                &p.info
            },
            p.state
        ),
        Cause::Other => format!("{} (AS {us} here, AS {them} expected for the peer)", p.info),
    }
}

/// Advice for a NOTIFICATION the peer sent.
fn received(name: &str, p: &PeerStatus) -> String {
    let (ip, us) = (p.address, p.local_as);
    match subcode(name) {
        "Bad Peer AS" => format!(
            "The peer says Bad Peer AS: we use AS {us}, and {ip} expects another AS for this \
             node. Set this node's remote AS on the peer to {us}, or, if the peer is right, \
             change this node's AS (BGPConfiguration asNumber or the node's spec.bgp.asNumber)."
        ),
        "Bad BGP Identifier" => format!(
            "{ip} rejects our BGP identifier (router ID): probably the same as its own or \
             another neighbor's. Give this node a unique router ID."
        ),
        "Administrative Shutdown" | "Administrative Reset" => {
            let msg = p
                .info
                .split_once(&format!("{name}: "))
                .map(|(_, m)| format!(" (\"{m}\")"))
                .unwrap_or_default();
            format!(
                "The peer's operator shut the session down{msg}; it stays down until it is \
                 enabled again on {ip}."
            )
        }
        "Maximum Number of Prefixes Reached" => format!(
            "This node sent {ip} more prefixes than its maximum-prefix limit allows: raise \
             the limit on the peer, or export fewer routes from here."
        ),
        "Hold Timer Expired" => format!(
            "{ip} heard nothing from us within the hold time: our KEEPALIVEs get lost on the \
             way. Check packet loss, MTU and firewalls between the hosts, and whether this \
             node is overloaded."
        ),
        "Connection Collision Resolution" => {
            "Both sides connected at once and the peer closed the duplicate connection; this \
             resolves itself."
                .into()
        }
        s @ ("Unacceptable Hold Time"
        | "Unsupported Capability"
        | "Unsupported Version Number"
        | "Unsupported Optional Parameter"
        | "Role Mismatch"
        | "Authentication Failure") => format!(
            "{ip} refuses our OPEN ({s}): compare the session settings on both sides (hold \
             time, address families, capabilities)."
        ),
        _ if name.starts_with("Cease") => {
            format!("{ip} ended the session ({name}); the peer's log says more.")
        }
        _ => format!(
            "{ip} found an error in what we sent ({name}): the peer's log and this node's \
             agent log have the details."
        ),
    }
}

/// Advice for a NOTIFICATION we sent.
fn sent(name: &str, p: &PeerStatus) -> String {
    let ip = p.address;
    match subcode(name) {
        "Bad Peer AS" => match number_after(&p.info, "says AS ") {
            Some(theirs) => format!(
                "Bad Peer AS: {ip} uses AS {theirs}, but this node expects AS {} for it. Fix the \
                 wrong side: the peer's asNumber in its BGPPeer (or the cluster AS for mesh \
                 peers), or the peer's own AS.",
                number_after(&p.info, "expect AS ").unwrap_or(p.remote_as)
            ),
            None => format!(
                "Bad Peer AS: {ip} does not use AS {} that this node expects for it: compare \
                 the AS numbers on both sides.",
                p.remote_as
            ),
        },
        "Bad BGP Identifier" => format!(
            "{ip} sent a BGP identifier (router ID) we cannot accept ({}): router IDs must be \
             unique within an AS.",
            clause_after(&p.info, "(the peer's ").unwrap_or("invalid")
        ),
        "Unacceptable Hold Time" => format!(
            "{ip} proposed a hold time of 1 or 2 seconds, which RFC 4271 forbids: set 0 or at \
             least 3 seconds on the peer."
        ),
        "Maximum Number of Prefixes Reached" => format!(
            "{ip} sent more prefixes than this node's limit for it: check what the peer \
             exports, or raise the limit."
        ),
        _ => format!(
            "We closed the session: {ip} sent something we cannot accept ({name}); this node's \
             agent log has the detail. It is usually a bug or an unsupported feature on the \
             peer's side."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(state: &str, info: &str) -> PeerStatus {
        PeerStatus {
            address: "10.0.0.2".parse().expect("ip"),
            port: 179,
            kind: "global".into(),
            remote_as: 64513,
            local_as: 64512,
            state: state.into(),
            since: 0,
            info: info.into(),
            prefixes_received: 0,
            prefixes_sent: 0,
            messages: (0, 0),
            negotiated: None,
        }
    }

    fn check(state: &str, info: &str, cause: Cause, advice_has: &str) {
        let d = diagnose(&peer(state, info));
        assert_eq!(d.cause, cause, "{info}");
        assert!(d.advice.contains(advice_has), "{info}: {}", d.advice);
    }

    #[test]
    fn tcp_failures() {
        check(
            "Active",
            "TCP connection refused by 10.0.0.2:179 (nothing listening, or the peer is not \
             configured for us)",
            Cause::Refused,
            "Nothing listens on 10.0.0.2:179: is the peer's BGP daemon running",
        );
        check(
            "Connect",
            "TCP connect to 10.0.0.2:179 timed out after 4.5s",
            Cause::Timeout { md5: false },
            "No answer from 10.0.0.2:179",
        );
        check(
            "Idle",
            "TCP connect to 10.0.0.2:179 timed out after 4.5s (MD5 password mismatch suspected)",
            Cause::Timeout { md5: true },
            "Compare the passwords",
        );
        check(
            "Active",
            "TCP connect to 10.0.0.2:179 failed: no route to the peer (No route to host)",
            Cause::NoRoute,
            "ip route get 10.0.0.2",
        );
        check(
            "Idle",
            "connection to 10.0.0.2:179 reset by the peer before it sent an OPEN (MD5 password \
             configured: a password mismatch is suspected)",
            Cause::Reset { md5: true },
            "compare the passwords",
        );
        check(
            "Idle",
            "connection to 10.0.0.2:179 reset by the peer",
            Cause::Reset { md5: false },
            "resets our connections",
        );
        check(
            "Idle",
            "connection to 10.0.0.2:179 closed by the peer",
            Cause::ClosedByPeer,
            "peer's log",
        );
    }

    #[test]
    fn peer_not_configured_back() {
        check(
            "Idle",
            "connection to 10.0.0.2:179 closed by the peer before it sent an OPEN",
            Cause::NotConfiguredBack,
            "not configured to peer with this node. Add this node's address as a neighbor on \
             10.0.0.2 with remote AS 64512",
        );
        check(
            "Idle",
            "NOTIFICATION received: Cease / Connection Rejected",
            Cause::NotConfiguredBack,
            "remote AS 64512",
        );
        check(
            "Active",
            "passive: waiting for the peer to connect to us (we do not connect)",
            Cause::PassiveWaiting,
            "it never has",
        );
        let mut p = peer("Active", "passive: waiting for the peer to connect to us");
        p.messages = (12, 12);
        assert!(diagnose(&p).advice.contains("has not reconnected"));
    }

    #[test]
    fn notifications_are_decoded_with_their_numbers() {
        check(
            "Idle",
            "NOTIFICATION received: OPEN Message Error / Bad Peer AS (the peer does not accept \
             our AS 64512)",
            Cause::NotificationReceived("OPEN Message Error / Bad Peer AS".into()),
            "The peer says Bad Peer AS: we use AS 64512",
        );
        check(
            "Idle",
            "NOTIFICATION sent: OPEN Message Error / Bad Peer AS (the peer's OPEN says AS 64999, \
             we expect AS 64513)",
            Cause::NotificationSent("OPEN Message Error / Bad Peer AS".into()),
            "Bad Peer AS: 10.0.0.2 uses AS 64999, but this node expects AS 64513 for it",
        );
        check(
            "Idle",
            "NOTIFICATION sent: OPEN Message Error / Bad BGP Identifier (the peer's BGP \
             identifier 10.0.0.1 is ours too)",
            Cause::NotificationSent("OPEN Message Error / Bad BGP Identifier".into()),
            "(BGP identifier 10.0.0.1 is ours too)",
        );
        check(
            "Active",
            "NOTIFICATION received: Cease / Administrative Shutdown: maintenance until 6pm",
            Cause::NotificationReceived("Cease / Administrative Shutdown".into()),
            "(\"maintenance until 6pm\")",
        );
        check(
            "Idle",
            "NOTIFICATION sent: Message Header Error / Connection Not Synchronized",
            Cause::NotificationSent("Message Header Error / Connection Not Synchronized".into()),
            "(Message Header Error / Connection Not Synchronized)",
        );
        let d = diagnose(&peer("Idle", "NOTIFICATION received: Hold Timer Expired"));
        assert_eq!(d.short, "Received Hold Timer Expired");
        assert!(d.advice.contains("heard nothing from us"));
    }

    #[test]
    fn timers_gtsm_and_the_rest() {
        check(
            "Idle",
            "hold timer expired: nothing heard from the peer within the hold time \
             (NOTIFICATION Hold Timer Expired sent)",
            Cause::HoldTimerExpired,
            "MTU black holes",
        );
        check(
            "Active",
            "connection refused: the peer's SYN arrived with TTL 1, below the 255 that GTSM \
             (ttlSecurity 1) requires: is TTL security (GTSM) configured on the peer?",
            Cause::Gtsm,
            "enable TTL security (GTSM) on the peer",
        );
        check(
            "Connect",
            "connecting to 10.0.0.2:179",
            Cause::InProgress,
            "coming up",
        );
        check("OpenSent", "", Cause::InProgress, "stays OpenSent");
        let d = diagnose(&peer(
            "Idle",
            "something new and unforeseen happened to the session",
        ));
        assert_eq!(d.cause, Cause::Other);
        assert_eq!(d.short, "something new and unforeseen happened…");
        assert_eq!(
            diagnose(&peer("Established", "Established")).cause,
            Cause::Established
        );
    }
}
