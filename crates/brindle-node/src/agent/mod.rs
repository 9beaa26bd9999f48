//! `brindle-node run`: the per-host agent. It registers the node, then keeps the embedded BGP
//! speaker, the kernel's routes and the node's blackholes in step with the datastore: every
//! datastore change (one watch) recomputes the desired peers ([`peers`]) and exports
//! ([`export`]) and applies the difference, leaving unaffected sessions alone. Learned routes
//! go to the kernel through [`crate::kernel`]. On SIGTERM/SIGINT the agent stops without
//! NOTIFICATION and leaves its kernel routes in place: peers with graceful restart keep its
//! routes for the restart time (120 s), and the next run adopts what it finds.

pub mod autodetect;
mod blackhole;
mod export;
mod filters;
mod peers;
pub mod register;
pub mod settings;
mod watch;
mod workloads;
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use brindle_bgp::model::Prefix;
use brindle_bgp::speaker::{PeerConfig, Speaker, SpeakerConfig};
use brindle_client::Client;
use brindle_netlink::{Netlink, RT_TABLE_MAIN, RouteFilter};
use brindle_store::Datastore;
use tokio::signal::unix::{SignalKind, signal};

use crate::control::{self, ControlSocket};
use crate::health::{self, Health};
use crate::kernel::{Kernel, KernelConfig};
use blackhole::Blackholes;
use register::Identity;
use settings::{IpSource, RunArgs, Settings};
use world::World;

/// How often readiness looks at the sessions.
const HEALTH_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// What needs a new speaker when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SpeakerKey {
    asn: u32,
    cluster_id: Option<std::net::Ipv4Addr>,
    port: u16,
}

/// The running agent's moving parts.
struct Agent {
    me: Identity,
    settings: Settings,
    key: SpeakerKey,
    /// `None` with BGP off (`--bgp false`).
    speaker: Option<Speaker>,
    kernel: Option<Kernel>,
    control: Option<ControlSocket>,
    blackholes: Blackholes,
    peers: BTreeMap<IpAddr, PeerConfig>,
    originated: BTreeSet<Prefix>,
    problems: Vec<String>,
}

/// Whether the kernel holds routes this agent installed in an earlier run (then this start is
/// a restart in RFC 4724's sense).
fn earlier_run_left_routes(protocol: u8) -> bool {
    Netlink::open()
        .and_then(|mut nl| nl.routes(&RouteFilter::owned(RT_TABLE_MAIN, protocol)))
        .is_ok_and(|routes| routes.iter().any(crate::kernel::learned))
}

fn to_prefix(c: &brindle_api::net::Cidr) -> Option<Prefix> {
    format!("{}/{}", c.addr(), c.prefix()).parse().ok()
}

impl Agent {
    async fn start_speaker(
        me: &Identity,
        settings: &Settings,
        key: SpeakerKey,
        restarting: bool,
    ) -> Result<(Speaker, Kernel, ControlSocket), String> {
        let mut cfg = SpeakerConfig::new(key.asn, me.ipv4);
        cfg.listen = vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), key.port)];
        cfg.cluster_id = key.cluster_id;
        cfg.restarting = restarting;
        let speaker = Speaker::start(cfg)
            .await
            .map_err(|e| format!("cannot start the BGP speaker on port {}: {e}", key.port))?;
        let kernel = Kernel::start(
            &speaker,
            KernelConfig {
                enabled: true,
                table: RT_TABLE_MAIN,
                protocol: settings.route_protocol,
            },
        )?;
        let control = control::serve(&settings.control_socket(), speaker.clone())
            .map_err(|e| e.to_string())?;
        Ok((speaker, kernel, control))
    }

    /// Applies the datastore's current state.
    async fn sync(&mut self, world: &World) {
        let desired = peers::desired(world, &self.me.name);
        if desired.problems != self.problems {
            for p in &desired.problems {
                eprintln!("node: {p}");
            }
            self.problems = desired.problems.clone();
        }
        let exports = export::compute(
            &self.me.name,
            &world.pools(),
            &world.blocks(),
            &world.affinities(),
        );
        if self.speaker.is_some() {
            self.sync_bgp(desired, &exports).await;
        }
        self.blackholes.set(&exports.blackholes);
    }

    /// Brings the speaker, its peers and its originated prefixes in line with `desired`.
    async fn sync_bgp(&mut self, desired: brindle_peering::Desired, exports: &export::Export) {
        let key = SpeakerKey {
            asn: desired.asn,
            cluster_id: desired.cluster_id,
            port: desired.listen_port,
        };
        if key != self.key {
            eprintln!(
                "node: AS {} cluster ID {:?} port {}: restarting the BGP speaker",
                key.asn, key.cluster_id, key.port
            );
            if let Some(old) = self.speaker.take() {
                old.shutdown(None).await;
            }
            if let Some(k) = self.kernel.take() {
                k.detach().await;
            }
            // The old socket's clean-up removes the path the new one listens on: first.
            self.control = None;
            match Self::start_speaker(&self.me, &self.settings, key, false).await {
                Ok((speaker, kernel, control)) => {
                    self.speaker = Some(speaker);
                    self.kernel = Some(kernel);
                    self.control = Some(control);
                    self.key = key;
                    self.peers.clear();
                    self.originated.clear();
                }
                Err(e) => {
                    eprintln!("node: {e}");
                    return;
                }
            }
        }
        let Some(speaker) = &self.speaker else {
            return;
        };
        let wanted: BTreeMap<IpAddr, PeerConfig> =
            desired.peers.into_iter().map(|p| (p.address, p)).collect();
        for addr in self.peers.keys() {
            if !wanted.contains_key(addr) {
                speaker.remove_peer(*addr);
            }
        }
        for (addr, p) in &wanted {
            if self.peers.get(addr) != Some(p) {
                speaker.add_peer(p.clone());
            }
        }
        self.peers = wanted;
        let originate: BTreeSet<Prefix> = exports.originate.iter().filter_map(to_prefix).collect();
        for p in self.originated.difference(&originate) {
            speaker.withdraw(*p);
        }
        for p in originate.difference(&self.originated) {
            speaker.originate(*p);
        }
        self.originated = originate;
    }

    /// The sessions not Established (none without BGP).
    async fn not_established(&self) -> Vec<IpAddr> {
        match &self.speaker {
            Some(s) => s
                .peers()
                .await
                .into_iter()
                .filter(|p| p.state != "Established")
                .map(|p| p.address)
                .collect(),
            None => Vec::new(),
        }
    }

    async fn stop(self) {
        if let Some(s) = self.speaker {
            s.shutdown(None).await;
        }
        if let Some(k) = self.kernel {
            k.detach().await;
        }
    }
}

/// The prefix length of the host's address `ip`, if the host has it.
fn prefix_len_of(ip: IpAddr) -> Option<u8> {
    Netlink::open()
        .and_then(|mut nl| nl.addresses(None))
        .ok()?
        .into_iter()
        .find(|a| a.addr == ip)
        .map(|a| a.prefix_len)
}

fn identity(settings: &Settings) -> Result<Identity, String> {
    let name = register::node_name(settings.nodename.as_deref(), &settings.state_dir)?;
    let host_id = register::host_id(&settings.state_dir)?;
    let (ipv4, prefix_len) = match &settings.ip {
        // The prefix length of the interface holding it, when there is one.
        IpSource::Explicit(ip) => (*ip, prefix_len_of(IpAddr::V4(*ip)).unwrap_or(32)),
        IpSource::Autodetect(method) => autodetect::detect(method)?,
    };
    let ipv6 = settings
        .ip6
        .map(|a| (a, prefix_len_of(IpAddr::V6(a)).unwrap_or(128)));
    Ok(Identity {
        name,
        ipv4,
        prefix_len,
        ipv6,
        host_id,
    })
}

/// Runs the agent until SIGTERM or SIGINT.
pub async fn run(args: &RunArgs) -> Result<(), String> {
    let settings = settings::resolve(args)?;
    let me = identity(&settings)?;
    let store: Arc<dyn Datastore> = brindle_store::open(&settings.datastore)
        .map_err(|e| format!("cannot open the datastore: {e}"))?;
    let client = Client::new(store.clone());
    register::register(&client, &me, settings.asn, settings.default_pool.as_deref())?;
    let mut rx = watch::spawn(store.clone())?;
    let mut world = World::default();
    if let Some(first) = rx.recv().await {
        world.apply(first);
    }
    // Pods' packets cross this host: it routes (as Felix sets it).
    brindle_netlink::sysctl::set("net/ipv4/ip_forward", "1")
        .map_err(|e| format!("cannot turn on IPv4 forwarding: {e}"))?;
    if me.ipv6.is_some() {
        brindle_netlink::sysctl::set("net/ipv6/conf/all/forwarding", "1")
            .map_err(|e| format!("cannot turn on IPv6 forwarding: {e}"))?;
    }
    let restarting = earlier_run_left_routes(settings.route_protocol);
    let desired = peers::desired(&world, &me.name);
    let key = SpeakerKey {
        asn: desired.asn,
        cluster_id: desired.cluster_id,
        port: desired.listen_port,
    };
    let (speaker, kernel, control) = if settings.bgp {
        let (s, k, c) = Agent::start_speaker(&me, &settings, key, restarting).await?;
        (Some(s), Some(k), Some(c))
    } else {
        eprintln!("node: BGP is off (--bgp false): no speaker, blackholes only");
        (None, None, None)
    };
    let blackholes = Blackholes::open(settings.route_protocol)?;
    eprintln!(
        "node: {} ({}/{}) AS {} registered{}; control socket {}",
        me.name,
        me.ipv4,
        me.prefix_len,
        key.asn,
        if restarting {
            ", restarting (routes of an earlier run kept)"
        } else {
            ""
        },
        settings.control_socket().display()
    );
    let mut agent = Agent {
        me,
        settings,
        key,
        speaker,
        kernel,
        control,
        blackholes,
        peers: BTreeMap::new(),
        originated: BTreeSet::new(),
        problems: Vec::new(),
    };
    agent.sync(&world).await;
    let pods = workloads::wanted(&agent.me.name, &world.workload_endpoints());
    workloads::repair(agent.settings.route_protocol, &pods)?;
    let (health_tx, health_rx) = tokio::sync::watch::channel(Health::default());
    let _health = match agent.settings.health {
        Some(addr) => Some(
            health::serve(addr, health_rx)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    // Readiness follows the sessions' states, looked at once a second.
    let mut health_tick = tokio::time::interval(HEALTH_TICK);
    let sig = |k| signal(k).map_err(|e| format!("cannot install signal handler: {e}"));
    let (mut term, mut int) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
    loop {
        tokio::select! {
            _ = health_tick.tick() => {
                let not_established = agent.not_established().await;
                health_tx.send_if_modified(|h| {
                    let new = Health { alive: true, not_established, not_ready: None };
                    let changed = *h != new;
                    *h = new;
                    changed
                });
            }
            msg = rx.recv() => {
                let Some(msg) = msg else {
                    return Err("the datastore watch stopped".into());
                };
                world.apply(msg);
                while let Ok(more) = rx.try_recv() {
                    world.apply(more);
                }
                agent.sync(&world).await;
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    eprintln!("node: stopping; kernel routes stay, peers keep ours for the restart time");
    agent.stop().await;
    Ok(())
}
