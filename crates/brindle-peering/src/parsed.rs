//! A BGPPeer's selectors and address, parsed once; a BGPPeer that cannot be parsed is reported
//! and skipped.

use std::collections::BTreeSet;
use std::net::IpAddr;

use brindle_api::net::PeerAddress;
use brindle_api::resources::bgp_peer::ReversePeering;
use brindle_api::selector::Selector;

use crate::inputs::{NodeView, PeerView};

/// Which local nodes a BGPPeer applies to.
#[derive(Debug)]
pub(crate) enum Scope {
    /// Neither `node` nor `nodeSelector`: every node.
    Global,
    /// `node: NAME`.
    Node(String),
    /// `nodeSelector`.
    Selector(Selector),
}

/// Whom a BGPPeer peers with.
#[derive(Debug)]
pub(crate) enum Remote {
    /// `peerIP` (with optional port) and `asNumber`.
    Ip {
        /// The peer's address.
        addr: IpAddr,
        /// The port given in `peerIP`.
        port: Option<u16>,
        /// `asNumber`.
        asn: u32,
    },
    /// `peerSelector`: the selected nodes.
    Selector(Selector),
}

/// One usable BGPPeer.
#[derive(Debug)]
pub(crate) struct ParsedPeer<'a> {
    /// The resource.
    pub view: &'a PeerView,
    /// Local side.
    pub scope: Scope,
    /// Remote side.
    pub remote: Remote,
}

impl ParsedPeer<'_> {
    /// True for a global BGPPeer.
    pub(crate) fn is_global(&self) -> bool {
        matches!(self.scope, Scope::Global)
    }

    /// Whether the BGPPeer applies to `node` (as a local node).
    pub(crate) fn applies_to(&self, node: &NodeView) -> bool {
        match &self.scope {
            Scope::Global => true,
            Scope::Node(name) => *name == node.name,
            Scope::Selector(s) => s.matches(&node.labels),
        }
    }

    /// Whether reverse peerings are created for this BGPPeer (`reversePeering` `Auto`, the
    /// default; `Manual` means the user writes the reverse BGPPeer).
    pub(crate) fn reverses(&self) -> bool {
        self.view.spec.reverse_peering != Some(ReversePeering::Manual)
    }
}

/// A problem line about a field of a BGPPeer.
pub(crate) fn peer_problem(name: &str, field: &str, message: impl std::fmt::Display) -> String {
    format!("BGPPeer {name:?}: spec.{field}: {message}")
}

/// The text of an optional field, `None` when empty (Calico treats `""` as unset).
fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Parses every BGPPeer, sorted by name (ties broken by content, so input order never matters),
/// recording a problem for each one skipped.
pub(crate) fn parse_all<'a>(
    peers: &'a [PeerView],
    problems: &mut BTreeSet<String>,
) -> Vec<ParsedPeer<'a>> {
    let mut sorted: Vec<&PeerView> = peers.iter().collect();
    sorted.sort_by_cached_key(|p| (p.name.clone(), format!("{:?}", p.spec)));
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for view in sorted {
        if last == Some(view.name.as_str()) {
            problems.insert(format!(
                "BGPPeer {:?} is listed more than once; one of them is used",
                view.name
            ));
            continue;
        }
        last = Some(&view.name);
        match parse_one(view) {
            Ok(p) => out.push(p),
            Err(problem) => {
                problems.insert(problem);
            }
        }
    }
    out
}

fn parse_one(view: &PeerView) -> Result<ParsedPeer<'_>, String> {
    let spec = &view.spec;
    let bad = |field: &str, msg: String| peer_problem(&view.name, field, msg);
    let selector = |field: &str, text: &str| {
        Selector::parse(text)
            .map_err(|e| bad(field, format!("{}; BGPPeer ignored", e.describe(text))))
    };
    // confd checks `nodeSelector` before `node`.
    let scope = match (set(&spec.node_selector), set(&spec.node)) {
        (Some(s), _) => Scope::Selector(selector("nodeSelector", s)?),
        (None, Some(n)) => Scope::Node(n.to_string()),
        (None, None) => Scope::Global,
    };
    // confd uses `peerSelector` when it is set, `peerIP` otherwise.
    let remote = match (set(&spec.peer_selector), set(&spec.peer_ip)) {
        (Some(s), _) => Remote::Selector(selector("peerSelector", s)?),
        (None, Some(ip)) => {
            let pa: PeerAddress = ip
                .parse()
                .map_err(|e: String| bad("peerIP", format!("{e}; BGPPeer ignored")))?;
            let asn = spec.as_number.filter(|a| a.0 != 0).ok_or_else(|| {
                bad(
                    "asNumber",
                    "is required with spec.peerIP; BGPPeer ignored".to_string(),
                )
            })?;
            Remote::Ip {
                addr: pa.ip,
                port: pa.port,
                asn: asn.0,
            }
        }
        (None, None) => {
            return Err(bad(
                "peerIP",
                "one of spec.peerIP or spec.peerSelector is required; BGPPeer ignored".to_string(),
            ));
        }
    };
    Ok(ParsedPeer {
        view,
        scope,
        remote,
    })
}
