//! The standalone speaker's configuration file (`brindle-node bgp --config FILE`), YAML:
//!
//! ```yaml
//! routerId: 10.0.0.1
//! asNumber: 64512
//! listen: ["0.0.0.0:179", "[::]:179"]   # default: [::]:179 (dual stack)
//! clusterId: 244.0.0.1                   # act as route reflector (optional)
//! controlSocket: /run/brindle/bgp.sock
//! peers:
//!   - address: 10.0.0.2
//!     asNumber: 64512
//!     port: 179                          # optional
//!     password: s3cret                   # TCP MD5 (optional)
//!     passive: false
//!     routeReflectorClient: true
//!     ttlSecurity: 1                     # GTSM hops (optional)
//!     addPaths: both                     # send | receive | both (optional)
//!     gracefulRestart: true              # default true
//!     holdTime: 90
//!     sourceAddress: 10.0.0.1
//!     nextHop: auto                      # auto | self | keep
//!     maxPrefixes: 100000
//! prefixes: [10.244.0.0/26, "fd00:1::/64"]
//! kernel:                                # install best paths as kernel routes (optional)
//!   enabled: true                        # default false
//!   table: 254                           # default 254 (main)
//!   protocol: 81                         # default 81, brindle's: `ip route show proto 81`
//! ```
//!
//! With `kernel.enabled`, the best paths learned from peers (ECMP next hops merged) become
//! kernel routes of that protocol in that table; see [`crate::kernel`] for start-up and
//! shutdown. The protocol's routes in the table are the speaker's own: 0-4 (kernel, boot,
//! static...) are refused, and so are tables 0 and 255.
//!
//! Unknown fields are errors that name the field; so are bad addresses and AS numbers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use std::sync::Arc;

use brindle_bgp::model::{AddPathMode, Family, Prefix};
use brindle_bgp::policy::{Action, Filter, MatchOperator, Policy, Rule};
use brindle_bgp::speaker::{NextHopMode, PeerConfig, SpeakerConfig};
use serde::Deserialize;

use crate::kernel::{KernelConfig, KernelEntry};

/// Default control socket of the standalone speaker.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/brindle/bgp.sock";

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    router_id: Ipv4Addr,
    as_number: u32,
    #[serde(default)]
    listen: Option<Vec<SocketAddr>>,
    #[serde(default)]
    cluster_id: Option<Ipv4Addr>,
    #[serde(default)]
    control_socket: Option<PathBuf>,
    #[serde(default)]
    peers: Vec<PeerEntry>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    multipath: Option<bool>,
    #[serde(default)]
    kernel: Option<KernelEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeerEntry {
    address: IpAddr,
    as_number: u32,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    local_as_number: Option<u32>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    passive: bool,
    #[serde(default)]
    route_reflector_client: bool,
    #[serde(default)]
    ttl_security: Option<u8>,
    #[serde(default)]
    add_paths: Option<AddPaths>,
    #[serde(default)]
    graceful_restart: Option<bool>,
    #[serde(default)]
    hold_time: Option<u16>,
    #[serde(default)]
    source_address: Option<IpAddr>,
    #[serde(default)]
    next_hop: Option<NextHop>,
    #[serde(default)]
    max_prefixes: Option<u32>,
    #[serde(default)]
    num_allowed_local_as_numbers: Option<u8>,
    #[serde(default, rename = "importV4")]
    import_v4: Vec<RuleEntry>,
    #[serde(default, rename = "exportV4")]
    export_v4: Vec<RuleEntry>,
    #[serde(default, rename = "importV6")]
    import_v6: Vec<RuleEntry>,
    #[serde(default, rename = "exportV6")]
    export_v6: Vec<RuleEntry>,
}

/// One filter rule, as in Calico's BGPFilter: optional cidr with a match operator, optional
/// prefix-length bounds, and an action; the first matching rule decides.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleEntry {
    #[serde(default)]
    cidr: Option<String>,
    #[serde(default)]
    match_operator: Option<MatchOp>,
    #[serde(default)]
    prefix_length: Option<LengthEntry>,
    action: ActionEntry,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LengthEntry {
    #[serde(default)]
    min: Option<u8>,
    #[serde(default)]
    max: Option<u8>,
}

#[derive(Debug, Deserialize)]
enum MatchOp {
    Equal,
    NotEqual,
    In,
    NotIn,
}

#[derive(Debug, Deserialize)]
enum ActionEntry {
    Accept,
    Reject,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AddPaths {
    Send,
    Receive,
    Both,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NextHop {
    Auto,
    #[serde(rename = "self")]
    SelfHop,
    Keep,
}

/// The speaker's settings, its peers and what it originates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpConfig {
    /// The speaker.
    pub speaker: SpeakerConfig,
    /// Its peers.
    pub peers: Vec<PeerConfig>,
    /// Prefixes to originate.
    pub prefixes: Vec<Prefix>,
    /// Where the control socket listens.
    pub control_socket: PathBuf,
    /// Whether and where best paths are installed as kernel routes.
    pub kernel: KernelConfig,
}

/// Parses the configuration text; errors are one line naming the field.
pub fn parse(text: &str) -> Result<BgpConfig, String> {
    let f: File = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    if f.router_id.is_unspecified() {
        return Err("routerId: 0.0.0.0 is not a valid BGP identifier".into());
    }
    let mut speaker = SpeakerConfig::new(f.as_number, f.router_id);
    if let Some(l) = f.listen {
        speaker.listen = l;
    }
    speaker.cluster_id = f.cluster_id;
    if let Some(m) = f.multipath {
        speaker.multipath = m;
    }
    let mut peers = Vec::new();
    for (i, p) in f.peers.into_iter().enumerate() {
        if peers.iter().any(|q: &PeerConfig| q.address == p.address) {
            return Err(format!("peers[{i}].address: {} is listed twice", p.address));
        }
        if p.password.as_ref().is_some_and(|pw| pw.len() > 80) {
            return Err(format!("peers[{i}].password: longer than 80 bytes"));
        }
        if p.ttl_security == Some(0) {
            return Err(format!("peers[{i}].ttlSecurity: must be 1..=255"));
        }
        let mut c = PeerConfig::new(p.address, p.as_number);
        c.port = p.port.unwrap_or(179);
        c.local_as = p.local_as_number;
        c.password = p.password;
        c.passive = p.passive;
        c.rr_client = p.route_reflector_client;
        c.ttl_security = p.ttl_security;
        c.add_path = p.add_paths.map(|a| match a {
            AddPaths::Send => AddPathMode::Send,
            AddPaths::Receive => AddPathMode::Receive,
            AddPaths::Both => AddPathMode::Both,
        });
        c.graceful_restart = p.graceful_restart.unwrap_or(true);
        if let Some(h) = p.hold_time {
            if h == 1 || h == 2 {
                return Err(format!("peers[{i}].holdTime: must be 0 or at least 3"));
            }
            c.hold_time = h;
        }
        c.source = p.source_address;
        c.next_hop = match p.next_hop {
            None | Some(NextHop::Auto) => NextHopMode::Auto,
            Some(NextHop::SelfHop) => NextHopMode::SelfHop,
            Some(NextHop::Keep) => NextHopMode::Keep,
        };
        c.max_prefixes = p.max_prefixes;
        c.allow_local_as = p.num_allowed_local_as_numbers.unwrap_or(0);
        let path = |dir: &str| format!("peers[{i}].{dir}");
        c.import = policy(
            &format!("{}-import", p.address),
            (&p.import_v4, &path("importV4")),
            (&p.import_v6, &path("importV6")),
        )?;
        c.export = policy(
            &format!("{}-export", p.address),
            (&p.export_v4, &path("exportV4")),
            (&p.export_v6, &path("exportV6")),
        )?;
        c.kind = if c.remote_as == f.as_number {
            "internal".into()
        } else {
            "external".into()
        };
        peers.push(c);
    }
    let mut prefixes = Vec::new();
    for (i, p) in f.prefixes.iter().enumerate() {
        prefixes.push(
            p.parse::<Prefix>()
                .map_err(|e| format!("prefixes[{i}]: {e}"))?,
        );
    }
    Ok(BgpConfig {
        speaker,
        peers,
        prefixes,
        control_socket: f
            .control_socket
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL_SOCKET)),
        kernel: KernelEntry::validate(f.kernel)?,
    })
}

/// One filter from the IPv4 and IPv6 rule lists of a direction (no filter when both are empty).
fn policy(
    name: &str,
    v4: (&[RuleEntry], &str),
    v6: (&[RuleEntry], &str),
) -> Result<Policy, String> {
    if v4.0.is_empty() && v6.0.is_empty() {
        return Ok(Policy::default());
    }
    let filter = Filter {
        name: name.to_string(),
        v4: rules(v4.0, v4.1, Family::Ipv4Unicast)?,
        v6: rules(v6.0, v6.1, Family::Ipv6Unicast)?,
    };
    Ok(Policy::new(vec![Arc::new(filter)]))
}

fn rules(entries: &[RuleEntry], path: &str, family: Family) -> Result<Vec<Rule>, String> {
    let max = if family == Family::Ipv4Unicast {
        32
    } else {
        128
    };
    entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let at = format!("{path}[{j}]");
            let action = match e.action {
                ActionEntry::Accept => Action::Accept,
                ActionEntry::Reject => Action::Reject,
            };
            let mut rule = match (&e.cidr, &e.match_operator) {
                (Some(c), Some(op)) => {
                    let cidr: Prefix = c.parse().map_err(|err| format!("{at}.cidr: {err}"))?;
                    if cidr.family() != family {
                        return Err(format!(
                            "{at}.cidr: {c} is not of this list's address family"
                        ));
                    }
                    let op = match op {
                        MatchOp::Equal => MatchOperator::Equal,
                        MatchOp::NotEqual => MatchOperator::NotEqual,
                        MatchOp::In => MatchOperator::In,
                        MatchOp::NotIn => MatchOperator::NotIn,
                    };
                    Rule::new(cidr, op, action)
                }
                (None, None) => Rule::any(action),
                (Some(_), None) => {
                    return Err(format!("{at}.matchOperator: is required with cidr"));
                }
                (None, Some(_)) => {
                    return Err(format!("{at}.cidr: is required with matchOperator"));
                }
            };
            if let Some(l) = &e.prefix_length {
                for v in [l.min, l.max].into_iter().flatten() {
                    if v > max {
                        return Err(format!("{at}.prefixLength: {v} is outside 0..={max}"));
                    }
                }
                rule = rule.with_length(l.min, l.max);
            }

            Ok(rule)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let c = parse(
            "routerId: 10.0.0.1\nasNumber: 64512\nlisten: [\"127.0.0.1:1790\"]\nclusterId: 244.0.0.1\npeers:\n- address: 10.0.0.2\n  asNumber: 64512\n  password: s3cret\n  routeReflectorClient: true\n  addPaths: both\n  nextHop: self\n- address: fd00::2\n  asNumber: 4200000001\n  passive: true\nprefixes: [10.244.0.0/26, \"fd00:1::/64\"]\n",
        )
        .expect("valid");
        assert_eq!(
            c.speaker.listen,
            vec!["127.0.0.1:1790".parse::<SocketAddr>().expect("addr")]
        );
        assert_eq!(c.speaker.cluster_id, Some(Ipv4Addr::new(244, 0, 0, 1)));
        assert_eq!(c.peers.len(), 2);
        assert!(c.peers[0].rr_client && c.peers[0].password.as_deref() == Some("s3cret"));
        assert_eq!(c.peers[0].next_hop, NextHopMode::SelfHop);
        assert_eq!(c.peers[1].remote_as, 4_200_000_001);
        assert_eq!(c.peers[1].kind, "external");
        assert_eq!(c.prefixes.len(), 2);
    }

    /// The example in README.md is the documentation users copy: it must parse.
    #[test]
    fn readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## Running the BGP speaker on its own")
            .nth(1)
            .expect("section");
        let yaml = section
            .split("```yaml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("block");
        let c = parse(yaml).unwrap_or_else(|e| panic!("README example: {e}"));
        assert_eq!(c.peers.len(), 3);
        assert!(!c.peers[2].export.is_empty());
        assert_eq!(c.speaker.cluster_id, Some(Ipv4Addr::new(244, 0, 0, 1)));
    }

    #[test]
    fn filters() {
        let c = parse("routerId: 10.0.0.1\nasNumber: 1\npeers:\n- address: 10.0.0.2\n  asNumber: 2\n  exportV4:\n  - {cidr: 10.78.0.0/16, matchOperator: In, action: Reject}\n  - {action: Accept}\n").expect("valid");
        let p = &c.peers[0];
        assert!(p.import.is_empty());
        assert!(
            !p.export
                .evaluate(&"10.78.1.0/24".parse().expect("prefix"))
                .accepted()
        );
        assert!(
            p.export
                .evaluate(&"10.77.0.0/24".parse().expect("prefix"))
                .accepted()
        );
        for (text, want) in [
            (
                "exportV4:\n  - {cidr: 10.0.0.0/8, action: Reject}\n",
                "peers[0].exportV4[0].matchOperator",
            ),
            (
                "importV6:\n  - {cidr: 10.0.0.0/8, matchOperator: In, action: Reject}\n",
                "peers[0].importV6[0].cidr",
            ),
            (
                "importV4:\n  - {cidr: 10.0.0.0/8, matchOperator: In, prefixLength: {max: 40}, action: Accept}\n",
                "prefixLength",
            ),
            ("importV4:\n  - {action: Maybe}\n", "Maybe"),
        ] {
            let e = parse(&format!("routerId: 10.0.0.1\nasNumber: 1\npeers:\n- address: 10.0.0.2\n  asNumber: 2\n  {text}")).expect_err(text);
            assert!(e.contains(want), "{e} should mention {want}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        for (text, want) in [
            (
                "routerId: 10.0.0.1\nasNumber: 1\npeers:\n- address: 10.0.0.2\n  asNumbr: 2\n",
                "asNumbr",
            ),
            (
                "routerId: 10.0.0.1\nasNumber: 1\nprefixes: [10.0.0.0/33]\n",
                "prefixes[0]",
            ),
            ("routerId: 300.0.0.1\nasNumber: 1\n", "routerId"),
            (
                "routerId: 10.0.0.1\nasNumber: 1\npeers:\n- {address: 10.0.0.2, asNumber: 2}\n- {address: 10.0.0.2, asNumber: 3}\n",
                "listed twice",
            ),
            (
                "routerId: 10.0.0.1\nasNumber: 1\npeers:\n- {address: 10.0.0.2, asNumber: 2, holdTime: 2}\n",
                "holdTime",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{e} should mention {want}");
        }
    }
}
