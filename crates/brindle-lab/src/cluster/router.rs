//! The external router: a host on the segment running BIRD, FRR or GoBGP in AS 64513, with a
//! VIP on its loopback that it advertises, peering with every node; and the BGPPeer that makes
//! every node peer with it.

use std::net::{IpAddr, Ipv4Addr};

use super::detached::ProcessRecord;
use super::options::{NODE_AS, ROUTER_AS, ROUTER_VIP, RouterKind};
use super::state::RouterState;
use crate::config::{BgpConfig, Neighbor};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::process::LabProcess;
use crate::{Bird, Frr, Gobgp};

/// The pool `up`'s pods take addresses from (the agent's default IPPool), which the router
/// without kernel routes (GoBGP) reaches through a static route.
pub const POD_POOL: &str = "192.168.0.0/16";

/// The running router daemon; stops it when dropped, unless the lab was kept first.
#[derive(Debug)]
pub enum RouterDaemon {
    /// BIRD 2.
    Bird(Bird),
    /// FRR.
    Frr(Frr),
    /// GoBGP.
    Gobgp(Gobgp),
}

impl RouterDaemon {
    fn processes(&self) -> Vec<&LabProcess> {
        match self {
            RouterDaemon::Bird(b) => vec![b.process()],
            RouterDaemon::Frr(f) => vec![f.bgpd(), f.zebra()],
            RouterDaemon::Gobgp(g) => vec![g.process()],
        }
    }
}

/// Starts the router daemon in `host`: the VIP on its loopback and advertised, one eBGP session
/// with each node (AS 64512), learned routes installed in its kernel table so that it can
/// answer the pods (GoBGP installs none: it gets a static route for the pod pool via the first
/// node instead).
pub fn start(
    kind: RouterKind,
    host: &Host,
    nodes: &[Ipv4Addr],
) -> Result<(RouterDaemon, RouterState)> {
    let vip: Ipv4Addr = ROUTER_VIP
        .parse()
        .map_err(|_| Error::invalid("router VIP", ROUTER_VIP))?;
    host.add_loopback_addr(&format!("{vip}/32"))?;
    let mut config = BgpConfig::for_host(host, ROUTER_AS)
        .route(&format!("{vip}/32"))
        .install_routes(true);
    for ip in nodes {
        config = config.neighbor(Neighbor::new(IpAddr::V4(*ip), NODE_AS));
    }
    let ns = host.ns().to_string();
    let (daemon, peers_command, routes_command) = match kind {
        RouterKind::Bird => {
            let b = Bird::start(host, &config)?;
            let sock = b.socket().display().to_string();
            let birdc = |rest: &[&str]| -> Vec<String> {
                ["birdc", "-s", &sock]
                    .iter()
                    .chain(rest)
                    .map(ToString::to_string)
                    .collect()
            };
            let peers = birdc(&["show", "protocols"]);
            let routes = birdc(&["show", "route"]);
            (RouterDaemon::Bird(b), peers, routes)
        }
        RouterKind::Frr => {
            let f = Frr::start(host, &config)?;
            let dir = f.dir().display().to_string();
            let vtysh = |c: &str| -> Vec<String> {
                ["vtysh", "--vty_socket", &dir, "-d", "bgpd", "-c", c]
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            };
            let (peers, routes) = (vtysh("show bgp summary"), vtysh("show ip bgp"));
            (RouterDaemon::Frr(f), peers, routes)
        }
        RouterKind::Gobgp => {
            let g = Gobgp::start(host, &config)?;
            if let Some(first) = nodes.first() {
                host.run("ip", &["route", "add", POD_POOL, "via", &first.to_string()])?;
            }
            let port = g.api_port().to_string();
            let gobgp = |rest: &[&str]| -> Vec<String> {
                ["ip", "netns", "exec", &ns, "gobgp", "-p", &port]
                    .iter()
                    .chain(rest)
                    .map(ToString::to_string)
                    .collect()
            };
            let peers = gobgp(&["neighbor"]);
            let routes = gobgp(&["global", "rib", "-a", "ipv4"]);
            (RouterDaemon::Gobgp(g), peers, routes)
        }
    };
    let processes = daemon
        .processes()
        .iter()
        .map(|p| {
            ProcessRecord::of(p.pid(), p.log_path().to_path_buf()).ok_or_else(|| Error::Daemon {
                daemon: format!("{kind} on {ns}"),
                message: "exited right after start".into(),
                log_tail: p.log_tail(20),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let state = RouterState {
        kind,
        ns,
        ipv4: host.ipv4(),
        as_number: ROUTER_AS,
        vip,
        processes,
        peers_command,
        routes_command,
    };
    Ok((daemon, state))
}

/// The global BGPPeer (no `node`, no selector: every node peers with it) for the router.
pub fn bgp_peer_manifest(router: Ipv4Addr) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: external-router\n\
         spec:\n  peerIP: {router}\n  asNumber: {ROUTER_AS}\n"
    )
}
