//! [`Bird`]: BIRD 2 (`bird`, `birdc`) in a lab host.
//!
//! Started as `ip netns exec <ns> bird -c <dir>/bird.conf -s <dir>/bird.ctl -P <dir>/bird.pid -f`
//! and queried with `birdc -s <dir>/bird.ctl ...` (the control socket is a file, so `birdc` needs
//! no namespace). Neighbor `i` of the config becomes `protocol bgp n<i>`; originated routes are
//! blackhole routes of `protocol static originate4/originate6`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::config::BgpConfig;
use crate::daemon::{self, BgpDaemon, LOG_TAIL_LINES, START_TIMEOUT, instance_dir};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::prefix::{Family, IpPrefix};
use crate::process::{LabProcess, run_ok, tail_file};
use crate::route::RouteInfo;
use crate::wait::wait_for;

/// The name of BIRD's connected-routes protocol (its routes are left out of [`Bird::routes`]).
const CONNECTED: &str = "connected";

/// A BIRD 2 instance running in a lab host.
#[derive(Debug)]
pub struct Bird {
    host: Host,
    config: BgpConfig,
    dir: PathBuf,
    process: LabProcess,
}

impl Bird {
    /// Renders `config`, starts BIRD in `host` and waits (up to 10 s) until `birdc` answers.
    pub fn start(host: &Host, config: &BgpConfig) -> Result<Bird> {
        config.validate()?;
        let (dir, _) = instance_dir(host, "bird")?;
        let conf = dir.join("bird.conf");
        daemon::write_file(&conf, &render(host, config, &dir))?;
        let process = host.spawn(
            "bird",
            &[
                "-c",
                &path_str(&conf),
                "-s",
                &path_str(&dir.join("bird.ctl")),
                "-P",
                &path_str(&dir.join("bird.pid")),
                "-f",
            ],
            &format!("{}/bird.out", dir_name(&dir)),
        )?;
        let bird = Bird {
            host: host.clone(),
            config: config.clone(),
            dir,
            process,
        };
        let ready = wait_for(START_TIMEOUT, || {
            if !bird.process.is_running() {
                return Some(false);
            }
            bird.birdc(&["show", "status"])
                .ok()
                .filter(|s| s.contains("Daemon is up and running"))
                .map(|_| true)
        });
        match ready {
            Some(true) => Ok(bird),
            Some(false) => Err(bird.daemon_error("exited during start-up")),
            None => Err(bird.daemon_error("birdc did not answer within 10 s")),
        }
    }

    /// Stops BIRD (SIGTERM, then SIGKILL).
    pub fn stop(self) {
        self.process.stop();
    }

    /// The host it runs in.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The configuration it was started with (plus announcements since).
    pub fn config(&self) -> &BgpConfig {
        &self.config
    }

    /// Its control socket (for `birdc -s`).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    /// Its rendered config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("bird.conf")
    }

    /// The daemon process.
    pub fn process(&self) -> &LabProcess {
        &self.process
    }

    /// Runs `birdc -s <socket> <args...>` and returns its output.
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        let socket = path_str(&self.socket());
        let mut all = vec!["-s", socket.as_str()];
        all.extend_from_slice(args);
        run_ok("birdc", &all)
    }

    /// The name of the BGP protocol for the neighbor at `address` (`n<index>`).
    pub fn protocol_name(&self, address: IpAddr) -> Option<String> {
        self.config
            .neighbors
            .iter()
            .position(|n| n.address == address)
            .map(|i| format!("n{i}"))
    }

    /// The state of a protocol: for BGP protocols the session state (`Established`, `Active`,
    /// ...) from `birdc show protocols all <name>`, otherwise the protocol's own state (`up`).
    pub fn protocol_state(&self, name: &str) -> Result<String> {
        let out = self.birdc(&["show", "protocols", "all", name])?;
        parse_protocol_state(&out, name)
            .ok_or_else(|| Error::parse(format!("birdc show protocols all {name}"), out))
    }

    /// The last error BIRD recorded for a protocol (e.g. `Received: Bad peer AS`), if any.
    pub fn protocol_last_error(&self, name: &str) -> Result<Option<String>> {
        let out = self.birdc(&["show", "protocols", "all", name])?;
        Ok(out.lines().find_map(|l| {
            l.trim()
                .strip_prefix("Last error:")
                .map(|e| e.trim().to_string())
        }))
    }

    fn reconfigure(&self) -> Result<()> {
        daemon::write_file(
            &self.config_path(),
            &render(&self.host, &self.config, &self.dir),
        )?;
        let out = self.birdc(&["configure"])?;
        if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") {
            Ok(())
        } else {
            Err(self.daemon_error(&format!("birdc configure: {}", out.trim())))
        }
    }
}

impl BgpDaemon for Bird {
    fn describe(&self) -> String {
        format!("bird on {}", self.host.ns())
    }

    fn is_running(&self) -> bool {
        self.process.is_running()
    }

    fn log_tail(&self, lines: usize) -> String {
        daemon::join_tails(&[
            ("bird.log", tail_file(&self.dir.join("bird.log"), lines)),
            ("bird stdout/stderr", self.process.log_tail(lines)),
        ])
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<String> {
        let name = self
            .protocol_name(neighbor)
            .ok_or_else(|| Error::invalid("neighbor", format!("{neighbor} is not configured")))?;
        self.protocol_state(&name)
    }

    fn routes(&self) -> Result<Vec<RouteInfo>> {
        let out = self.birdc(&["show", "route", "all"])?;
        Ok(parse_routes(&out))
    }

    fn route(&self, prefix: IpPrefix) -> Result<Vec<RouteInfo>> {
        let p = prefix.to_string();
        let out = match self.birdc(&["show", "route", "for", &p, "all"]) {
            Ok(out) => out,
            // birdc exits 1 after "Network not found".
            Err(Error::Command { stderr, .. }) if stderr.contains("Network not found") => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        Ok(parse_routes(&out)
            .into_iter()
            .filter(|r| r.prefix == prefix)
            .collect())
    }

    fn announce(&mut self, prefix: IpPrefix) -> Result<()> {
        if !self.config.routes.contains(&prefix) {
            self.config.routes.push(prefix);
        }
        self.reconfigure()
    }

    fn withdraw(&mut self, prefix: IpPrefix) -> Result<()> {
        self.config.routes.retain(|p| *p != prefix);
        self.reconfigure()
    }

    fn daemon_error(&self, message: &str) -> Error {
        Error::Daemon {
            daemon: self.describe(),
            message: message.to_string(),
            log_tail: self.log_tail(LOG_TAIL_LINES),
        }
    }
}

fn path_str(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The instance dir's path relative to its host dir (for [`Host::spawn`]'s log name).
fn dir_name(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Renders the BIRD 2 configuration.
pub(crate) fn render(host: &Host, config: &BgpConfig, dir: &std::path::Path) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "# generated by brindle-lab");
    let _ = writeln!(c, "router id {};", config.router_id);
    let _ = writeln!(c, "log \"{}\" all;", dir.join("bird.log").display());
    // Calico's confd scans interfaces as often as the kernel table.
    let device_scan = config.kernel_learn_scan.unwrap_or(10);
    let _ = writeln!(c, "protocol device {{ scan time {device_scan}; }}");
    // Connected routes resolve the next hops of iBGP and multihop sessions (BIRD resolves them
    // recursively); they are not exported. Not those of `lo`: an address put there to be
    // originated (a service VIP) would otherwise be preferred over its static route and never
    // advertised.
    let _ = writeln!(
        c,
        "protocol direct {CONNECTED} {{ ipv4; ipv6; interface \"-lo\", \"*\"; }}"
    );
    for family in [Family::V4, Family::V6] {
        let w = family.word();
        let _ = writeln!(c, "protocol static originate{} {{", &w[3..]);
        let _ = writeln!(c, "  {w};");
        for p in config.routes_of(family) {
            let _ = writeln!(c, "  route {p} blackhole;");
        }
        let _ = writeln!(c, "}}");
        if let Some(scan) = config.kernel_learn_scan {
            // What Calico's confd renders (bird.cfg.template): learn alien routes (the node's
            // blackholes), rescan every `scan` s, install everything learned over BGP.
            let _ = writeln!(
                c,
                "protocol kernel kernel{} {{ learn; persist; scan time {scan}; graceful restart; {w} {{ import all; export all; }}; merge paths on; }}",
                &w[3..]
            );
        } else if config.install_routes {
            let _ = writeln!(
                c,
                "protocol kernel kernel{} {{ {w} {{ import none; export where source = RTS_BGP; }}; merge paths on; }}",
                &w[3..]
            );
        }
    }
    for (i, n) in config.neighbors.iter().enumerate() {
        let ibgp = config.is_ibgp(n);
        let _ = writeln!(c, "protocol bgp n{i} {{");
        let _ = writeln!(c, "  description \"{}\";", n.address);
        let _ = writeln!(
            c,
            "  local {} port {} as {};",
            n.local_for(host),
            config.listen_port,
            config.local_as
        );
        let _ = writeln!(
            c,
            "  neighbor {} port {} as {};",
            n.address, n.remote_port, n.remote_as
        );
        // Lab timers: connect quickly, retry quickly.
        let _ = writeln!(
            c,
            "  connect delay time 1; connect retry time 2; error wait time 1, 10;"
        );
        if let Some((hold, keepalive)) = n.timers() {
            let _ = writeln!(c, "  hold time {hold}; keepalive time {keepalive};");
        }
        if n.passive {
            let _ = writeln!(c, "  passive on;");
        }
        if let Some(pw) = &n.md5_password {
            let _ = writeln!(c, "  password \"{pw}\";");
        }
        if n.rr_client {
            let _ = writeln!(c, "  rr client;");
            let cluster = config.cluster_id.unwrap_or(config.router_id);
            let _ = writeln!(c, "  rr cluster id {cluster};");
        }
        match n.multihop {
            Some(ttl) => {
                let _ = writeln!(c, "  multihop {ttl};");
            }
            None if !ibgp => {
                let _ = writeln!(c, "  direct;");
            }
            None => {}
        }
        let _ = writeln!(
            c,
            "  graceful restart {};",
            if n.graceful_restart { "on" } else { "off" }
        );
        let session = Family::of(n.address);
        for &family in &n.families {
            let _ = write!(
                c,
                "  {} {{ import all; export where source ~ [RTS_STATIC, RTS_BGP]{};",
                family.word(),
                learned_export(config, family)
            );
            if n.add_path {
                let _ = write!(c, " add paths on;");
            }
            if family != session {
                let _ = write!(c, " next hop address {};", host.ip(family));
                if family == Family::V4 {
                    let _ = write!(c, " extended next hop on;");
                }
            }
            let _ = writeln!(c, " }};");
        }
        let _ = writeln!(c, "}}");
    }
    c
}

/// The export condition's extra clause for learned kernel routes inside
/// [`BgpConfig::export_learned_within`] of `family` (Calico's `calico_export_to_bgp_peers`):
/// `" || net ~ [ 10.0.0.0/16+ ]"`, or nothing.
fn learned_export(config: &BgpConfig, family: Family) -> String {
    let within: Vec<String> = config
        .export_learned_within
        .iter()
        .filter(|p| p.family() == family)
        .map(|p| format!("{p}+"))
        .collect();
    if config.kernel_learn_scan.is_none() || within.is_empty() {
        String::new()
    } else {
        format!(" || net ~ [ {} ]", within.join(", "))
    }
}

/// Finds a protocol's state in `birdc show protocols all <name>` output.
fn parse_protocol_state(out: &str, name: &str) -> Option<String> {
    if let Some(state) = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("BGP state:"))
    {
        return Some(state.trim().to_string());
    }
    // Not a BGP protocol: "name  Proto  Table  State  Since  Info".
    out.lines()
        .map(str::split_whitespace)
        .find_map(|mut cols| (cols.next() == Some(name)).then(|| cols.nth(2)).flatten())
        .map(str::to_string)
}

/// Parses `birdc show route all` output (tables master4 and master6).
pub(crate) fn parse_routes(out: &str) -> Vec<RouteInfo> {
    let mut routes: Vec<RouteInfo> = Vec::new();
    let mut prefix: Option<IpPrefix> = None;
    // Whether the route being read is one we report (not a connected route).
    let mut keep = false;
    for line in out.lines() {
        if line.trim().is_empty() || line.starts_with("Table ") || line.starts_with("BIRD ") {
            continue;
        }
        if line.starts_with('\t') {
            if keep && let Some(r) = routes.last_mut() {
                apply_attribute(r, line.trim());
            }
            continue;
        }
        let rest = if line.starts_with(' ') {
            line.trim_start()
        } else {
            let mut parts = line.splitn(2, char::is_whitespace);
            prefix = parts.next().and_then(|p| p.parse().ok());
            parts.next().unwrap_or("").trim_start()
        };
        keep = false;
        let Some(prefix) = prefix else { continue };
        // "unicast [n0 03:24:43.233 from 10.0.0.2] * (100) [AS65002i]"
        let Some(open) = rest.find('[') else { continue };
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            continue;
        };
        let source = rest[open + 1..close]
            .split_whitespace()
            .next()
            .unwrap_or("");
        if source == CONNECTED {
            continue;
        }
        keep = true;
        let mut r = RouteInfo::new(prefix);
        r.best = rest[close + 1..].trim_start().starts_with('*');
        if !source.starts_with("originate") {
            r.source = Some(source.to_string());
        }
        routes.push(r);
    }
    routes
}

fn apply_attribute(r: &mut RouteInfo, line: &str) {
    let Some((key, value)) = line.split_once(':') else {
        return;
    };
    let value = value.trim();
    match key {
        "BGP.as_path" => r.as_path = daemon::parse_as_path(value),
        // "fd00::3 fe80::1": the global next hop comes first.
        "BGP.next_hop" => {
            r.next_hop = value.split_whitespace().next().and_then(|a| a.parse().ok());
        }
        "BGP.local_pref" => r.local_pref = value.parse().ok(),
        "BGP.med" => r.med = value.parse().ok(),
        "BGP.originator_id" => r.originator_id = value.parse::<Ipv4Addr>().ok(),
        "BGP.cluster_list" => {
            r.cluster_list = value
                .split_whitespace()
                .filter_map(|a| a.parse().ok())
                .collect();
        }
        // "(65000,1) (65000,2)"
        "BGP.community" => {
            r.communities = value
                .split_whitespace()
                .map(|c| {
                    c.trim_matches(|ch| ch == '(' || ch == ')')
                        .replace(',', ":")
                })
                .collect();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW_ROUTE_ALL: &str = "BIRD 2.0.12 ready.
Table master4:
198.51.100.0/24      unicast [n0 03:24:43.233] * (100) [AS65002i]
\tvia 10.250.1.3 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002 4200000001
\tBGP.next_hop: 10.250.1.3
\tBGP.med: 0
\tBGP.local_pref: 100
                     unicast [n1 03:24:44.000 from 10.250.1.9] (100) [AS65009i]
\tvia 10.250.1.4 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 
\tBGP.next_hop: 10.250.1.4
\tBGP.local_pref: 100
\tBGP.originator_id: 10.250.1.4
\tBGP.cluster_list: 10.250.1.9 10.0.0.1
\tBGP.community: (65000,1) (65000,2)
192.0.2.0/24         blackhole [originate4 03:24:14.729] * (200)
\tType: static univ
10.250.1.0/24        unicast [connected 03:24:14.729] * (240)
\tdev eth0
\tType: device univ

Table master6:
2001:db8:2::/48      unicast [n2 03:24:43.234] * (100) [AS65002i]
\tvia fd00:250:1::3 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002
\tBGP.next_hop: fd00:250:1::3 fe80::5ce0:eff:fe12:8e0b
\tBGP.local_pref: 100
";

    #[test]
    fn parses_show_route_all() {
        let routes = parse_routes(SHOW_ROUTE_ALL);
        let shown: Vec<String> = routes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "198.51.100.0/24 via 10.250.1.3 as-path [65002 4200000001] from n0 best",
                "198.51.100.0/24 via 10.250.1.4 as-path [] originator 10.250.1.4 \
                 cluster-list [10.250.1.9 10.0.0.1] from n1",
                "192.0.2.0/24 as-path [] best",
                "2001:db8:2::/48 via fd00:250:1::3 as-path [65002] from n2 best",
            ]
        );
        assert_eq!(routes[1].communities, ["65000:1", "65000:2"]);
        assert_eq!(routes[0].local_pref, Some(100));
        assert_eq!(routes[0].med, Some(0));
    }

    #[test]
    fn exports_learned_routes_inside_the_pools_only_when_learning() {
        let pools: Vec<IpPrefix> = ["10.244.0.0/16", "fd00:244::/48"]
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        let plain = BgpConfig::new(Ipv4Addr::new(10, 0, 0, 1), 64512);
        assert_eq!(learned_export(&plain, Family::V4), "");
        let learning = plain.clone().kernel_learn(2, &pools);
        assert_eq!(
            learned_export(&learning, Family::V4),
            " || net ~ [ 10.244.0.0/16+ ]"
        );
        assert_eq!(
            learned_export(&learning, Family::V6),
            " || net ~ [ fd00:244::/48+ ]"
        );
        assert_eq!(learning.kernel_learn_scan, Some(2));
        assert!(plain.kernel_learn(0, &[]).validate().is_err());
    }

    #[test]
    fn parses_protocol_state() {
        let out = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
n0         BGP        ---        up     03:24:42.132  Established
  BGP state:          Established
    Neighbor address: 10.250.1.3
";
        assert_eq!(
            parse_protocol_state(out, "n0").as_deref(),
            Some("Established")
        );
        let out = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
originate4 Static     master4    up     03:24:14.729
";
        assert_eq!(
            parse_protocol_state(out, "originate4").as_deref(),
            Some("up")
        );
    }
}
