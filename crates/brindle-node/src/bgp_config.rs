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
//!     exportV4:                          # also importV4, importV6, exportV6 (optional)
//!       - cidr: 10.244.0.0/16            # Calico BGPFilter rules: the first match decides
//!         matchOperator: In              # Equal | NotEqual | In | NotIn
//!         prefixLength: {min: 24, max: 26}
//!         action: Accept                 # Accept | Reject
//!         addCommunities: ["64512:100", "64512:1:2", no-export]
//!       - {action: Reject}
//! prefixes: [10.244.0.0/26, "fd00:1::/64"]
//! gracefulRestart:                       # RFC 4724 timers (optional)
//!   restartTime: 120                     # seconds we ask peers to keep our routes
//!   selectionDeferral: 240               # after --restarting: longest wait for End-of-RIB
//! kernel:                                # install best paths as kernel routes (optional)
//!   enabled: true                        # default false
//!   table: 254                           # default 254 (main)
//!   protocol: 81                         # default 81, brindle's: `ip route show proto 81`
//! ```
//!
//! `addCommunities` (Accept rules only) adds communities to the routes the rule accepts:
//! standard ones as `ASN:VALUE` (16 bits each, RFC 1997), large ones as `A:B:C` (32 bits each,
//! RFC 8092), and the well-known `no-export`, `no-advertise` and `no-export-subconfed`. On an
//! export rule they go to that peer only; on an import rule they are added to the routes taken
//! from that peer (and so travel on with them).
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

use brindle_api::resources::bgp_filter::{
    FilterAction, MatchOperator as ApiMatchOperator, PrefixLength,
};
use brindle_bgp::model::{AddPathMode, Community, Family, LargeCommunity, Prefix};
use brindle_bgp::policy::{Action, Filter, Policy, Rule};
use brindle_bgp::speaker::{NextHopMode, PeerConfig, SpeakerConfig};
use serde::Deserialize;

use crate::filter_rule;
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
    #[serde(default)]
    graceful_restart: Option<GracefulRestartEntry>,
}

/// Speaker-wide graceful restart timers (RFC 4724).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GracefulRestartEntry {
    /// Restart Time we advertise, seconds.
    #[serde(default)]
    restart_time: Option<u16>,
    /// Selection_Deferral_Timer after `--restarting`, seconds.
    #[serde(default)]
    selection_deferral: Option<u32>,
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
    match_operator: Option<ApiMatchOperator>,
    #[serde(default)]
    prefix_length: Option<PrefixLength>,
    action: FilterAction,
    #[serde(default)]
    add_communities: Vec<String>,
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
    if let Some(gr) = f.graceful_restart {
        if let Some(t) = gr.restart_time {
            // RFC 4724 §3: the Restart Time field is 12 bits.
            if t > 4095 {
                return Err(format!(
                    "gracefulRestart.restartTime: {t} is more than 4095 seconds (a 12-bit field)"
                ));
            }
            speaker.restart_time = t;
        }
        if let Some(s) = gr.selection_deferral {
            if s == 0 {
                return Err("gracefulRestart.selectionDeferral: must be at least 1 second".into());
            }
            speaker.selection_deferral = std::time::Duration::from_secs(u64::from(s));
        }
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
    entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let at = format!("{path}[{j}]");
            let mut rule = filter_rule::build(
                e.cidr.as_deref(),
                e.match_operator,
                e.prefix_length,
                e.action,
                family,
                &at,
            )?;
            let action = rule.action;
            if !e.add_communities.is_empty() && action != Action::Accept {
                return Err(format!(
                    "{at}.addCommunities: only an Accept rule can add communities"
                ));
            }
            for (k, text) in e.add_communities.iter().enumerate() {
                match community(text)
                    .map_err(|why| format!("{at}.addCommunities[{k}]: {text:?}: {why}"))?
                {
                    AnyCommunity::Standard(c) => rule.add_communities.push(c),
                    AnyCommunity::Large(c) => rule.add_large_communities.push(c),
                }
            }
            Ok(rule)
        })
        .collect()
}

/// A community as written in `addCommunities`.
#[derive(Debug, PartialEq, Eq)]
enum AnyCommunity {
    Standard(Community),
    Large(LargeCommunity),
}

/// Parses `ASN:VALUE` (RFC 1997, 16 bits each), `A:B:C` (RFC 8092, 32 bits each) or a
/// well-known name; the error says what is wrong with the text.
fn community(text: &str) -> Result<AnyCommunity, String> {
    match text {
        "no-export" => return Ok(AnyCommunity::Standard(Community::NO_EXPORT)),
        "no-advertise" => return Ok(AnyCommunity::Standard(Community::NO_ADVERTISE)),
        "no-export-subconfed" => {
            return Ok(AnyCommunity::Standard(Community::NO_EXPORT_SUBCONFED));
        }
        _ => {}
    }
    let parts: Vec<&str> = text.split(':').collect();
    let number = |s: &str| -> Result<u32, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not a decimal number"));
        }
        s.parse::<u32>()
            .map_err(|_| format!("{s} is more than {} (32 bits)", u32::MAX))
    };
    match parts[..] {
        [a, b] => {
            let (a, b) = (number(a)?, number(b)?);
            for v in [a, b] {
                if v > 0xffff {
                    return Err(format!(
                        "{v} is more than 65535 (a standard community is ASN:VALUE, 16 bits each; \
                         write A:B:C for a large community)"
                    ));
                }
            }
            Ok(AnyCommunity::Standard(Community((a << 16) | b)))
        }
        [a, b, c] => Ok(AnyCommunity::Large(LargeCommunity(
            number(a)?,
            number(b)?,
            number(c)?,
        ))),
        _ => {
            Err("expected ASN:VALUE, A:B:C, no-export, no-advertise or no-export-subconfed".into())
        }
    }
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
        let rule = &c.peers[2].export.filters[0].v6[0];
        assert_eq!(rule.add_communities, vec![Community((64512 << 16) | 100)]);
        assert_eq!(
            rule.add_large_communities,
            vec![LargeCommunity(64512, 1, 2)]
        );
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

    fn one_peer(rules: &str) -> Result<BgpConfig, String> {
        parse(&format!(
            "routerId: 10.0.0.1\nasNumber: 1\npeers:\n- address: 10.0.0.2\n  asNumber: 2\n{rules}"
        ))
    }

    #[test]
    fn accept_rules_add_communities() {
        let c = one_peer(
            "  exportV4:\n  - {cidr: 10.78.0.0/16, matchOperator: In, action: Reject}\n  - cidr: 10.244.0.0/16\n    matchOperator: In\n    action: Accept\n    addCommunities: [\"64512:100\", 65535:65535, \"64512:1:2\", 4294967295:0:7, no-export, no-advertise, no-export-subconfed]\n  importV6:\n  - {action: Accept, addCommunities: [\"0:0\"]}\n",
        )
        .expect("valid");
        let p = &c.peers[0];
        let rule = &p.export.filters[0].v4[1];
        assert_eq!(
            rule.add_communities,
            vec![
                Community((64512 << 16) | 100),
                Community(0xffff_ffff),
                Community::NO_EXPORT,
                Community::NO_ADVERTISE,
                Community::NO_EXPORT_SUBCONFED,
            ]
        );
        assert_eq!(
            rule.add_large_communities,
            vec![LargeCommunity(64512, 1, 2), LargeCommunity(u32::MAX, 0, 7)]
        );
        assert!(p.export.filters[0].v4[0].add_communities.is_empty());
        // The verdict names the rule, so the speaker applies its additions.
        let route: Prefix = "10.244.1.0/26".parse().expect("prefix");
        let brindle_bgp::policy::Verdict::Accept(Some(r)) = p.export.evaluate(&route) else {
            panic!("the accepting rule should modify the route");
        };
        let mut attrs = brindle_bgp::model::PathAttributes::default();
        p.export.apply(r, route.family(), &mut attrs);
        assert_eq!(attrs.communities.len(), 5);
        assert_eq!(attrs.large_communities.len(), 2);
        assert_eq!(
            p.import.filters[0].v6[0].add_communities,
            vec![Community(0)]
        );
    }

    #[test]
    fn bad_communities_name_the_field_and_value() {
        for (rules, want) in [
            (
                "  exportV4:\n  - {action: Reject}\n  - {action: Accept, addCommunities: [\"64512:99999\"]}\n",
                "peers[0].exportV4[1].addCommunities[0]: \"64512:99999\": 99999 is more than 65535",
            ),
            (
                "  importV4:\n  - {action: Accept, addCommunities: [\"1:2\", \"70000:1\"]}\n",
                "peers[0].importV4[0].addCommunities[1]: \"70000:1\": 70000 is more than 65535",
            ),
            (
                "  importV6:\n  - {action: Accept, addCommunities: [\"1:2:4294967296\"]}\n",
                "peers[0].importV6[0].addCommunities[0]: \"1:2:4294967296\": 4294967296 is more than",
            ),
            (
                "  exportV6:\n  - {action: Accept, addCommunities: [\"1:x\"]}\n",
                "peers[0].exportV6[0].addCommunities[0]: \"1:x\": \"x\" is not a decimal number",
            ),
            (
                "  exportV6:\n  - {action: Accept, addCommunities: [\"-1:2\"]}\n",
                "\"-1\" is not a decimal number",
            ),
            (
                "  exportV4:\n  - {action: Accept, addCommunities: [\"1:2:3:4\"]}\n",
                "peers[0].exportV4[0].addCommunities[0]: \"1:2:3:4\": expected ASN:VALUE, A:B:C",
            ),
            (
                "  exportV4:\n  - {action: Accept, addCommunities: [NO_EXPORT]}\n",
                "\"NO_EXPORT\": expected",
            ),
            (
                "  exportV4:\n  - {action: Accept, addCommunities: [\"\"]}\n",
                "addCommunities[0]: \"\": expected",
            ),
            (
                "  exportV4:\n  - {cidr: 10.0.0.0/8, matchOperator: In, action: Reject, addCommunities: [\"1:2\"]}\n",
                "peers[0].exportV4[0].addCommunities: only an Accept rule can add communities",
            ),
            (
                "  exportV4:\n  - {action: Accept, addCommunity: [\"1:2\"]}\n",
                "addCommunity",
            ),
        ] {
            let e = one_peer(rules).expect_err(rules);
            assert!(e.contains(want), "{e} should contain {want}");
            assert!(!e.contains('\n'), "one line: {e}");
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
