//! The small BGP configuration every daemon driver renders into its own config language.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::prefix::{Family, IpPrefix};

/// A BGP speaker's configuration: identity, neighbors, and the routes it originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    /// The BGP identifier.
    pub router_id: Ipv4Addr,
    /// The local AS number (four-octet ASNs welcome).
    pub local_as: u32,
    /// The address to listen on; `None` listens on all addresses.
    pub listen_address: Option<IpAddr>,
    /// The TCP port to listen on (179 by default).
    pub listen_port: u16,
    /// The sessions.
    pub neighbors: Vec<Neighbor>,
    /// Prefixes to originate (BIRD: static blackhole routes; FRR: `network`; GoBGP: added to
    /// the global RIB after start).
    pub routes: Vec<IpPrefix>,
    /// Route reflector cluster id, when this speaker reflects for `rr_client` neighbors
    /// (defaults to the router id).
    pub cluster_id: Option<Ipv4Addr>,
    /// Whether learned routes are installed in the host namespace's kernel table (BIRD through
    /// a kernel protocol, FRR through zebra). GoBGP never installs routes.
    pub install_routes: bool,
    /// BIRD only: the kernel protocol as Calico's confd renders it, rescanning the kernel table
    /// every this many seconds (`learn; scan time N; import all; export all; merge paths on`).
    /// Routes other programs put in the host's table are learned, and learned BGP routes are
    /// installed (whatever `install_routes` says). `None`: no learning (the default).
    pub kernel_learn_scan: Option<u32>,
    /// BIRD only: prefixes (Calico: the IP pools) inside which routes learned from the kernel
    /// are advertised to every neighbor, as Calico's `calico_export_to_bgp_peers` filter does.
    /// Empty by default (only originated and BGP routes are advertised).
    pub export_learned_within: Vec<IpPrefix>,
}

impl BgpConfig {
    /// A speaker with this identity, no neighbors and no routes, listening on port 179.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> BgpConfig {
        BgpConfig {
            router_id,
            local_as,
            listen_address: None,
            listen_port: 179,
            neighbors: Vec::new(),
            routes: Vec::new(),
            cluster_id: None,
            install_routes: false,
            kernel_learn_scan: None,
            export_learned_within: Vec::new(),
        }
    }

    /// A speaker for `host`: its IPv4 address as router id.
    pub fn for_host(host: &Host, local_as: u32) -> BgpConfig {
        BgpConfig::new(host.ipv4(), local_as)
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, neighbor: Neighbor) -> BgpConfig {
        self.neighbors.push(neighbor);
        self
    }

    /// Adds a prefix to originate.
    ///
    /// # Panics
    /// When `prefix` does not parse (it is a literal in test code).
    pub fn route(mut self, prefix: &str) -> BgpConfig {
        match prefix.parse() {
            Ok(p) => self.routes.push(p),
            Err(e) => panic!("BgpConfig::route: {e}"),
        }
        self
    }

    /// Sets the route reflector cluster id.
    pub fn cluster_id(mut self, id: Ipv4Addr) -> BgpConfig {
        self.cluster_id = Some(id);
        self
    }

    /// Sets the listen address and port.
    pub fn listen(mut self, address: Option<IpAddr>, port: u16) -> BgpConfig {
        self.listen_address = address;
        self.listen_port = port;
        self
    }

    /// Installs learned routes in the host's kernel table.
    pub fn install_routes(mut self, yes: bool) -> BgpConfig {
        self.install_routes = yes;
        self
    }

    /// BIRD only: learns the host's kernel routes as Calico configures BIRD (scan every
    /// `scan_secs` seconds, learned BGP routes installed), advertising learned routes inside
    /// `export_within` (the IP pools) to every neighbor. See [`BgpConfig::kernel_learn_scan`].
    pub fn kernel_learn(mut self, scan_secs: u32, export_within: &[IpPrefix]) -> BgpConfig {
        self.kernel_learn_scan = Some(scan_secs);
        self.export_learned_within = export_within.to_vec();
        self
    }

    /// Whether `neighbor` is an iBGP session.
    pub fn is_ibgp(&self, neighbor: &Neighbor) -> bool {
        neighbor.remote_as == self.local_as
    }

    /// Checks the parts every driver relies on.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.local_as == 0 {
            return Err(Error::invalid("BGP config", "local AS 0"));
        }
        if self.kernel_learn_scan == Some(0) {
            return Err(Error::invalid("BGP config", "kernel scan time 0"));
        }
        for (i, n) in self.neighbors.iter().enumerate() {
            if n.families.is_empty() {
                return Err(Error::invalid(
                    "BGP config",
                    format!("neighbor {} has no address family", n.address),
                ));
            }
            if self.neighbors[..i].iter().any(|m| m.address == n.address) {
                return Err(Error::invalid(
                    "BGP config",
                    format!("neighbor {} twice", n.address),
                ));
            }
            if let Some(p) = &n.md5_password
                && (p.is_empty() || p.len() > 80 || p.contains(['"', '\'', '\\', '\n']))
            {
                return Err(Error::invalid(
                    "BGP config",
                    "MD5 password: 1 to 80 characters, no quotes, backslashes or newlines",
                ));
            }
        }
        Ok(())
    }

    /// The routes to originate of one family.
    pub(crate) fn routes_of(&self, family: Family) -> impl Iterator<Item = &IpPrefix> {
        self.routes.iter().filter(move |p| p.family() == family)
    }
}

/// One BGP session's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS number.
    pub remote_as: u32,
    /// The peer's TCP port (179 by default).
    pub remote_port: u16,
    /// The local address of the session; `None` lets the driver use the host's `eth0` address
    /// of the neighbor's family.
    pub local_address: Option<IpAddr>,
    /// Never connect; only accept the peer's connection.
    pub passive: bool,
    /// TCP MD5 signature password (RFC 2385).
    pub md5_password: Option<String>,
    /// Treat the peer as a route reflector client.
    pub rr_client: bool,
    /// Negotiate ADD-PATH (send and receive) for every family of the session.
    pub add_path: bool,
    /// Negotiate graceful restart.
    pub graceful_restart: bool,
    /// eBGP multihop TTL; `None` means directly connected.
    pub multihop: Option<u8>,
    /// The address families exchanged; defaults to the neighbor address's family.
    ///
    /// Carrying the other family too (IPv6 routes over an IPv4 session) works for BIRD (its
    /// `next hop address` is set to the host's IPv6 address) and GoBGP (announced with that
    /// next hop), and FRR receives such routes, but FRR 8.4 does not announce IPv6 routes over
    /// an IPv4 session here (its route-map setting the next hop does not help): use one
    /// session per family with FRR, as Calico does.
    pub families: Vec<Family>,
    /// Hold time (keepalive is a third of it); `None` keeps the daemon's default (90 s).
    pub hold_time: Option<Duration>,
}

impl Neighbor {
    /// A session to `address` in AS `remote_as`, carrying the address's family.
    pub fn new(address: IpAddr, remote_as: u32) -> Neighbor {
        Neighbor {
            address,
            remote_as,
            remote_port: 179,
            local_address: None,
            passive: false,
            md5_password: None,
            rr_client: false,
            add_path: false,
            graceful_restart: false,
            multihop: None,
            families: vec![Family::of(address)],
            hold_time: None,
        }
    }

    /// A session to `host`'s `eth0` address of `family`.
    pub fn to_host(host: &Host, family: Family, remote_as: u32) -> Neighbor {
        Neighbor::new(host.ip(family), remote_as)
    }

    /// Only accept the peer's connection.
    pub fn passive(mut self) -> Neighbor {
        self.passive = true;
        self
    }

    /// Sets the TCP MD5 password.
    pub fn md5(mut self, password: &str) -> Neighbor {
        self.md5_password = Some(password.to_string());
        self
    }

    /// Makes the peer a route reflector client.
    pub fn rr_client(mut self) -> Neighbor {
        self.rr_client = true;
        self
    }

    /// Negotiates ADD-PATH in both directions.
    pub fn add_path(mut self) -> Neighbor {
        self.add_path = true;
        self
    }

    /// Negotiates graceful restart.
    pub fn graceful_restart(mut self) -> Neighbor {
        self.graceful_restart = true;
        self
    }

    /// Allows the peer to be `ttl` hops away.
    pub fn multihop(mut self, ttl: u8) -> Neighbor {
        self.multihop = Some(ttl);
        self
    }

    /// Sets the families carried on the session.
    pub fn families(mut self, families: &[Family]) -> Neighbor {
        self.families = families.to_vec();
        self
    }

    /// Sets the peer's TCP port.
    pub fn port(mut self, port: u16) -> Neighbor {
        self.remote_port = port;
        self
    }

    /// Sets the local address of the session.
    pub fn local_address(mut self, address: IpAddr) -> Neighbor {
        self.local_address = Some(address);
        self
    }

    /// Sets the hold time.
    pub fn hold_time(mut self, hold: Duration) -> Neighbor {
        self.hold_time = Some(hold);
        self
    }

    /// The local address to use, given the host the daemon runs on.
    pub(crate) fn local_for(&self, host: &Host) -> IpAddr {
        self.local_address
            .unwrap_or_else(|| host.ip(Family::of(self.address)))
    }

    /// Hold time and keepalive in whole seconds, if set.
    pub(crate) fn timers(&self) -> Option<(u64, u64)> {
        self.hold_time.map(|h| {
            let hold = h.as_secs().max(3);
            (hold, (hold / 3).max(1))
        })
    }
}
