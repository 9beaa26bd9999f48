//! Turns a winning [`Candidate`] into the speaker's [`PeerConfig`].

use brindle_api::resources::bgp_peer::{self, BgpPeerSpec, SourceAddress};
use brindle_bgp::model::Family;
use brindle_bgp::speaker::{NextHopMode, PeerConfig};

use crate::candidate::{Candidate, Origin, Target};
use crate::context::{Ctx, Fam};
use crate::parsed::peer_problem;

/// The session for `c`, starting from Calico's BIRD defaults ([`PeerConfig::new`]), and the
/// BGPFilter names to apply to it.
pub(crate) fn build(ctx: &mut Ctx<'_>, c: &Candidate<'_>) -> (PeerConfig, Vec<String>) {
    let fam = Fam::of(c.address);
    let local_addr = ctx.local_addr(fam);
    let mut p = PeerConfig::new(c.address, c.remote_as);
    p.port = c.port;
    p.kind = c.kind.to_string();
    // Calico runs one BIRD per family: an IPv4 session carries IPv4 routes only.
    p.families = vec![match fam {
        Fam::V4 => Family::Ipv4Unicast,
        Fam::V6 => Family::Ipv6Unicast,
    }];
    // Mesh sessions always, and BGPPeers by default (`sourceAddress: UseNodeIP`), use "the
    // local address we use for the TCP connection": the node's.
    p.source = local_addr;
    // "Make the peering unidirectional": the greater address (as text) waits.
    if c.passive_if_greater
        && let Some(ours) = local_addr
    {
        p.passive = c.address.to_string() > ours.to_string();
    }
    let mut filters = Vec::new();
    match c.origin {
        Origin::Mesh => mesh_settings(ctx),
        Origin::Forward(peer) => {
            apply_spec(ctx, &peer.view.name, &peer.view.spec, &mut p);
            p.local_as = peer.view.spec.local_as_number.map(|a| a.0);
            filters.clone_from(&peer.view.spec.filters);
        }
        Origin::Reverse(peer) => {
            apply_spec(ctx, &peer.view.name, &peer.view.spec, &mut p);
            filters.clone_from(&peer.view.spec.filters);
        }
    }
    let local_as = p.local_as.unwrap_or(ctx.asn);
    let ibgp = p.remote_as == local_as;
    // confd: "If this node is a route reflector (has a cluster ID) and the peer is iBGP and the
    // peer does not have a cluster ID (or has a different one), then the peer is a route
    // reflector client." A router outside the cluster has no cluster ID.
    if let Some(ours) = ctx.cluster_id() {
        let theirs = match c.target {
            Target::Node { cluster_id } => cluster_id,
            Target::External => None,
        };
        p.rr_client = ibgp && theirs != Some(ours);
    }
    // "Legacy keep_next_hop field - only apply for eBGP peers".
    if let Origin::Forward(peer) | Origin::Reverse(peer) = c.origin {
        let spec = &peer.view.spec;
        if spec.next_hop_mode.is_none() && spec.keep_original_next_hop == Some(true) && !ibgp {
            p.next_hop = NextHopMode::Keep;
        }
    }
    (p, filters)
}

/// The mesh takes its password from `nodeMeshPassword` of `default`, a secret reference that
/// cannot be resolved here: the mesh runs without one and the problem is reported.
fn mesh_settings(ctx: &mut Ctx<'_>) {
    if ctx.mesh_password_set {
        ctx.problem(
            "BGPConfiguration \"default\": spec.nodeMeshPassword: a secretKeyRef cannot be \
             resolved by the peer calculation; mesh sessions run without a password"
                .to_string(),
        );
    }
}

/// The BGPPeer's per-session settings that [`PeerConfig`] supports. Unsupported ones are ignored
/// (`maxRestartTime`, `failureDetectionMode`, `restartMode`, `birdGatewayMode`, `reachableBy`),
/// except those that change what the session is, which are reported.
fn apply_spec(ctx: &mut Ctx<'_>, name: &str, spec: &BgpPeerSpec, p: &mut PeerConfig) {
    if spec.source_address == Some(SourceAddress::None) {
        p.source = None;
    }
    if let Some(pw) = &spec.password {
        let what = match &pw.secret_key_ref {
            Some(r) => format!("secretKeyRef {}/{}", r.name, r.key),
            None => "a password without a source".to_string(),
        };
        ctx.problem(peer_problem(
            name,
            "password",
            format!(
                "{what} cannot be resolved by the peer calculation; the session runs without a \
                 password"
            ),
        ));
    }
    p.ttl_security = spec.ttl_security.filter(|t| *t > 0);
    if let Some(n) = spec.num_allowed_local_as_numbers {
        match u8::try_from(n) {
            Ok(n) => p.allow_local_as = n,
            Err(_) => ctx.problem(peer_problem(
                name,
                "numAllowedLocalASNumbers",
                format!("{n} is too large; ignored"),
            )),
        }
    }
    if let Some(mode) = spec.next_hop_mode {
        p.next_hop = match mode {
            bgp_peer::NextHopMode::Auto => NextHopMode::Auto,
            bgp_peer::NextHopMode::SelfHop => NextHopMode::SelfHop,
            bgp_peer::NextHopMode::Keep => NextHopMode::Keep,
        };
    }
    if spec
        .local_workload_selector
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        ctx.problem(peer_problem(
            name,
            "localWorkloadSelector",
            "peering with local workloads is not supported; ignored",
        ));
    }
}
