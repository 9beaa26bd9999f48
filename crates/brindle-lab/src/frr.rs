//! [`Frr`]: FRR's `bgpd`, with its own `zebra`, in a lab host.
//!
//! `bgpd -Z` (no zebra) runs, but then it knows no interfaces: it rejects IPv6 routes whose
//! next hop includes a link-local address ("sent a v6 LL next-hop and there's no peer
//! interface information"), which BIRD always sends on direct sessions, and it advertises IPv4
//! next hops for IPv6 routes. So each instance runs a zebra of its own inside the namespace
//! (which also installs learned routes in that namespace's kernel table unless told not to).
//!
//! Both run as user `frr` (running as root fails: root is not in the `frrvty` group) with every
//! file in the instance dir:
//! `ip netns exec <ns> /usr/lib/frr/zebra -f <dir>/zebra.conf -i <dir>/zebra.pid --vty_socket <dir>
//! -z <dir>/zserv.api -u frr -g frr -P 0`, then the same for `bgpd` plus `-p <listen port>`
//! (and `-l <address>`, `-n`). Queries: `vtysh --vty_socket <dir> -d bgpd -c '<command> json'`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::BgpConfig;
use crate::daemon::{self, BgpDaemon, LOG_TAIL_LINES, START_TIMEOUT, instance_dir};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::prefix::{Family, IpPrefix};
use crate::process::{LabProcess, run_ok, tail_file};
use crate::route::RouteInfo;
use crate::wait::wait_for;

/// Where Debian installs FRR's daemons.
pub const FRR_DAEMON_DIR: &str = "/usr/lib/frr";

/// FRR's bgpd (and its zebra) running in a lab host.
#[derive(Debug)]
pub struct Frr {
    host: Host,
    config: BgpConfig,
    dir: PathBuf,
    // Field order is drop order: bgpd stops before zebra.
    bgpd: LabProcess,
    zebra: LabProcess,
}

impl Frr {
    /// Renders `config`, starts zebra and bgpd in `host` and waits (up to 10 s each) until
    /// vtysh gets answers from both.
    pub fn start(host: &Host, config: &BgpConfig) -> Result<Frr> {
        config.validate()?;
        let (dir, _) = instance_dir(host, "frr")?;
        let d = dir.to_string_lossy().into_owned();
        // The daemons run as frr and create their logs, pid files and sockets here.
        run_ok("chown", &["frr:frr", &d])?;
        daemon::write_file(
            &dir.join("zebra.conf"),
            &format!("hostname {}\nlog file {d}/zebra.log\n", host.name()),
        )?;
        daemon::write_file(&dir.join("bgpd.conf"), &render(host, config, &dir))?;
        let sub = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let common = |daemon: &str| -> Vec<String> {
            [
                "-f",
                &format!("{d}/{daemon}.conf"),
                "-i",
                &format!("{d}/{daemon}.pid"),
                "--vty_socket",
                &d,
                "-z",
                &format!("{d}/zserv.api"),
                "-u",
                "frr",
                "-g",
                "frr",
                "-P",
                "0",
            ]
            .iter()
            .map(ToString::to_string)
            .collect()
        };
        let zebra_args = common("zebra");
        let zebra = host.spawn(
            &format!("{FRR_DAEMON_DIR}/zebra"),
            &zebra_args.iter().map(String::as_str).collect::<Vec<_>>(),
            &format!("{sub}/zebra.out"),
        )?;
        wait_answers(&dir, &zebra, "zebra", "show version").map_err(|e| {
            start_error(
                host,
                &dir,
                &zebra,
                None,
                &format!("zebra did not come up: {e}"),
            )
        })?;

        let mut bgpd_args = common("bgpd");
        bgpd_args.extend(["-p".to_string(), config.listen_port.to_string()]);
        if let Some(addr) = config.listen_address {
            // bgpd: "-l: Listen on specified address (implies -n)".
            bgpd_args.extend(["-l".to_string(), addr.to_string()]);
        } else if !config.install_routes {
            bgpd_args.push("-n".to_string());
        }
        let bgpd = host.spawn(
            &format!("{FRR_DAEMON_DIR}/bgpd"),
            &bgpd_args.iter().map(String::as_str).collect::<Vec<_>>(),
            &format!("{sub}/bgpd.out"),
        )?;
        wait_answers(&dir, &bgpd, "bgpd", "show bgp summary json").map_err(|e| {
            start_error(
                host,
                &dir,
                &zebra,
                Some(&bgpd),
                &format!("bgpd did not come up: {e}"),
            )
        })?;
        Ok(Frr {
            host: host.clone(),
            config: config.clone(),
            dir,
            bgpd,
            zebra,
        })
    }

    /// Stops bgpd, then zebra.
    pub fn stop(self) {
        self.bgpd.stop();
        self.zebra.stop();
    }

    /// The host it runs in.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The configuration it was started with (plus announcements since).
    pub fn config(&self) -> &BgpConfig {
        &self.config
    }

    /// The directory holding its configs, sockets (`--vty_socket`) and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bgpd process.
    pub fn bgpd(&self) -> &LabProcess {
        &self.bgpd
    }

    /// The zebra process.
    pub fn zebra(&self) -> &LabProcess {
        &self.zebra
    }

    /// Runs vtysh commands against bgpd (`vtysh --vty_socket <dir> -d bgpd -c ... -c ...`);
    /// output starting with `%` (FRR's error marker) is an error.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        vtysh(&self.dir, "bgpd", commands)
    }

    /// Runs a `show ... json` command against bgpd and parses its output.
    pub fn vtysh_json(&self, command: &str) -> Result<Value> {
        let out = self.vtysh(&[command])?;
        serde_json::from_str(&out)
            .map_err(|e| Error::parse(format!("vtysh -c '{command}'"), format!("{e}: {out}")))
    }

    fn set_network(&mut self, prefix: IpPrefix, add: bool) -> Result<()> {
        let router = format!("router bgp {}", self.config.local_as);
        let af = format!("address-family {} unicast", prefix.family().word());
        let net = format!("{}network {prefix}", if add { "" } else { "no " });
        self.vtysh(&["configure terminal", &router, &af, &net])?;
        Ok(())
    }
}

impl BgpDaemon for Frr {
    fn describe(&self) -> String {
        format!("frr on {}", self.host.ns())
    }

    fn is_running(&self) -> bool {
        self.bgpd.is_running() && self.zebra.is_running()
    }

    fn log_tail(&self, lines: usize) -> String {
        logs(&self.dir, &self.zebra, Some(&self.bgpd), lines)
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<String> {
        let v = self.vtysh_json(&format!("show bgp neighbors {neighbor} json"))?;
        v.get(neighbor.to_string())
            .and_then(|n| n.get("bgpState"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                Error::parse(format!("show bgp neighbors {neighbor} json"), v.to_string())
            })
    }

    fn routes(&self) -> Result<Vec<RouteInfo>> {
        let mut all = Vec::new();
        for family in [Family::V4, Family::V6] {
            let cmd = format!("show bgp {} unicast json", family.word());
            let v = self.vtysh_json(&cmd)?;
            all.extend(parse_table(&v).map_err(|d| Error::parse(&cmd, d))?);
        }
        Ok(all)
    }

    fn route(&self, prefix: IpPrefix) -> Result<Vec<RouteInfo>> {
        let cmd = format!("show bgp {} unicast {prefix} json", prefix.family().word());
        let v = self.vtysh_json(&cmd)?;
        parse_detail(&v, prefix).map_err(|d| Error::parse(&cmd, d))
    }

    fn announce(&mut self, prefix: IpPrefix) -> Result<()> {
        self.set_network(prefix, true)?;
        if !self.config.routes.contains(&prefix) {
            self.config.routes.push(prefix);
        }
        Ok(())
    }

    fn withdraw(&mut self, prefix: IpPrefix) -> Result<()> {
        self.set_network(prefix, false)?;
        self.config.routes.retain(|p| *p != prefix);
        Ok(())
    }

    fn daemon_error(&self, message: &str) -> Error {
        Error::Daemon {
            daemon: self.describe(),
            message: message.to_string(),
            log_tail: self.log_tail(LOG_TAIL_LINES),
        }
    }
}

fn vtysh(dir: &Path, daemon: &str, commands: &[&str]) -> Result<String> {
    let d = dir.to_string_lossy();
    let mut args = vec!["--vty_socket", d.as_ref(), "-d", daemon];
    for c in commands {
        args.extend(["-c", c]);
    }
    let out = run_ok("vtysh", &args)?;
    if let Some(bad) = out.lines().find(|l| l.trim_start().starts_with('%')) {
        return Err(Error::Command {
            command: crate::process::command_line("vtysh", &args),
            status: "exit status: 0".to_string(),
            stderr: bad.trim().to_string(),
        });
    }
    Ok(out)
}

/// Waits until `daemon` answers `command` through vtysh, or its process exits.
fn wait_answers(dir: &Path, process: &LabProcess, daemon: &str, command: &str) -> Result<()> {
    let mut last = String::from("no answer");
    let ok = wait_for(START_TIMEOUT, || {
        if !process.is_running() {
            return Some(false);
        }
        match vtysh(dir, daemon, &[command]) {
            Ok(_) => Some(true),
            Err(e) => {
                last = e.to_string();
                None
            }
        }
    });
    match ok {
        Some(true) => Ok(()),
        Some(false) => Err(Error::invalid("daemon", format!("{daemon} exited"))),
        None => Err(Error::invalid(
            "daemon",
            format!("no answer within {START_TIMEOUT:?} (last: {last})"),
        )),
    }
}

fn logs(dir: &Path, zebra: &LabProcess, bgpd: Option<&LabProcess>, lines: usize) -> String {
    daemon::join_tails(&[
        ("bgpd.log", tail_file(&dir.join("bgpd.log"), lines)),
        (
            "bgpd stdout/stderr",
            bgpd.map(|b| b.log_tail(lines)).unwrap_or_default(),
        ),
        ("zebra.log", tail_file(&dir.join("zebra.log"), lines / 2)),
        ("zebra stdout/stderr", zebra.log_tail(lines / 2)),
    ])
}

fn start_error(
    host: &Host,
    dir: &Path,
    zebra: &LabProcess,
    bgpd: Option<&LabProcess>,
    message: &str,
) -> Error {
    Error::Daemon {
        daemon: format!("frr on {}", host.ns()),
        message: message.to_string(),
        log_tail: logs(dir, zebra, bgpd, LOG_TAIL_LINES),
    }
}

/// Renders bgpd's configuration.
pub(crate) fn render(host: &Host, config: &BgpConfig, dir: &Path) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "! generated by brindle-lab");
    let _ = writeln!(c, "frr defaults traditional");
    let _ = writeln!(c, "hostname {}", host.name());
    let _ = writeln!(c, "log file {}", dir.join("bgpd.log").display());
    let _ = writeln!(c, "!");
    let _ = writeln!(c, "router bgp {}", config.local_as);
    let _ = writeln!(c, " bgp router-id {}", config.router_id);
    // FRR 8.4 refuses to exchange eBGP routes without policies, and only originates
    // `network`s that are in the RIB, unless told otherwise.
    let _ = writeln!(c, " no bgp ebgp-requires-policy");
    let _ = writeln!(c, " no bgp network import-check");
    let _ = writeln!(c, " no bgp default ipv4-unicast");
    if let Some(id) = config.cluster_id {
        let _ = writeln!(c, " bgp cluster-id {id}");
    }
    for n in &config.neighbors {
        let a = n.address;
        let _ = writeln!(c, " neighbor {a} remote-as {}", n.remote_as);
        if n.remote_port != 179 {
            let _ = writeln!(c, " neighbor {a} port {}", n.remote_port);
        }
        let _ = writeln!(c, " neighbor {a} update-source {}", n.local_for(host));
        // Lab timers: connect quickly, retry quickly, send updates at once.
        let _ = writeln!(c, " neighbor {a} timers connect 1");
        let _ = writeln!(c, " neighbor {a} advertisement-interval 0");
        if let Some((hold, keepalive)) = n.timers() {
            let _ = writeln!(c, " neighbor {a} timers {keepalive} {hold}");
        }
        if n.passive {
            let _ = writeln!(c, " neighbor {a} passive");
        }
        if let Some(pw) = &n.md5_password {
            let _ = writeln!(c, " neighbor {a} password {pw}");
        }
        if let Some(ttl) = n.multihop
            && !config.is_ibgp(n)
        {
            let _ = writeln!(c, " neighbor {a} ebgp-multihop {ttl}");
        }
        if n.graceful_restart {
            let _ = writeln!(c, " neighbor {a} graceful-restart");
        }
    }
    for family in [Family::V4, Family::V6] {
        let _ = writeln!(c, " address-family {} unicast", family.word());
        for p in config.routes_of(family) {
            let _ = writeln!(c, "  network {p}");
        }
        for n in config
            .neighbors
            .iter()
            .filter(|n| n.families.contains(&family))
        {
            let a = n.address;
            let _ = writeln!(c, "  neighbor {a} activate");
            if n.rr_client {
                let _ = writeln!(c, "  neighbor {a} route-reflector-client");
            }
            if n.add_path {
                let _ = writeln!(c, "  neighbor {a} addpath-tx-all-paths");
            }
            // Meant for IPv6 over an IPv4 session; FRR 8.4 still announces nothing there
            // (see `Neighbor::families`), but receives fine.
            if family == Family::V6 && Family::of(a) == Family::V4 {
                let _ = writeln!(c, "  neighbor {a} route-map brindle-lab-nh6 out");
            }
        }
        let _ = writeln!(c, " exit-address-family");
    }
    let _ = writeln!(c, "!");
    let _ = writeln!(c, "route-map brindle-lab-nh6 permit 10");
    let _ = writeln!(c, " set ipv6 next-hop global {}", host.ipv6());
    let _ = writeln!(c, "!");
    c
}

/// The global next hop of an FRR path's `nexthops` (`None` for local routes: 0.0.0.0 / ::).
fn next_hop(path: &Value) -> Option<IpAddr> {
    path.get("nexthops")?
        .as_array()?
        .iter()
        .filter(|h| h.get("scope").and_then(Value::as_str) != Some("link-local"))
        .filter_map(|h| h.get("ip")?.as_str()?.parse::<IpAddr>().ok())
        .find(|ip| !ip.is_unspecified())
}

fn peer_source(peer: Option<&str>) -> Option<String> {
    peer.filter(|p| !p.is_empty() && *p != "(unspec)")
        .map(str::to_string)
}

fn u32_of(v: &Value, key: &str) -> Option<u32> {
    v.get(key)?.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Parses `show bgp <afi> unicast json`.
pub(crate) fn parse_table(v: &Value) -> std::result::Result<Vec<RouteInfo>, String> {
    let Some(routes) = v.get("routes").and_then(Value::as_object) else {
        // An empty table prints `{}` (or lacks "routes").
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (prefix, paths) in routes {
        let prefix: IpPrefix = prefix.parse().map_err(|e| format!("{e}"))?;
        for path in paths.as_array().into_iter().flatten() {
            let mut r = RouteInfo::new(prefix);
            r.best = path
                .get("bestpath")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            r.as_path =
                daemon::parse_as_path(path.get("path").and_then(Value::as_str).unwrap_or(""));
            r.next_hop = next_hop(path);
            r.local_pref = u32_of(path, "locPrf");
            r.med = u32_of(path, "metric");
            r.source = peer_source(path.get("peerId").and_then(Value::as_str));
            out.push(r);
        }
    }
    Ok(out)
}

/// Parses `show bgp <afi> unicast <prefix> json`.
pub(crate) fn parse_detail(
    v: &Value,
    prefix: IpPrefix,
) -> std::result::Result<Vec<RouteInfo>, String> {
    let Some(paths) = v.get("paths").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let shown = v.get("prefix").and_then(Value::as_str).unwrap_or("");
    if shown.parse::<IpPrefix>().ok() != Some(prefix) {
        // FRR answers with the longest match; we want exactly `prefix`.
        return Ok(Vec::new());
    }
    Ok(paths
        .iter()
        .map(|path| {
            let mut r = RouteInfo::new(prefix);
            r.best = path
                .get("bestpath")
                .and_then(|b| b.get("overall"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            r.as_path = daemon::parse_as_path(
                path.get("aspath")
                    .and_then(|a| a.get("string"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
            r.next_hop = next_hop(path);
            r.local_pref = u32_of(path, "locPrf");
            r.med = u32_of(path, "med").or_else(|| u32_of(path, "metric"));
            r.originator_id = path
                .get("originatorId")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Ipv4Addr>().ok());
            r.cluster_list = path
                .get("clusterList")
                .and_then(|c| c.get("list"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str()?.parse().ok())
                .collect();
            r.communities = path
                .get("community")
                .and_then(|c| c.get("string"))
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            r.source = peer_source(
                path.get("peer")
                    .and_then(|p| p.get("peerId"))
                    .and_then(Value::as_str),
            );
            r
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_the_table() {
        let v = json(
            r#"{"routerId":"10.250.1.3","routes":{
            "192.0.2.0/24":[{"valid":true,"bestpath":true,"peerId":"10.250.1.2","path":"65001","origin":"IGP","nexthops":[{"ip":"10.250.1.2","afi":"ipv4","used":true}]}],
            "198.51.100.0/24":[{"valid":true,"bestpath":true,"metric":0,"weight":32768,"peerId":"(unspec)","path":"","nexthops":[{"ip":"0.0.0.0","afi":"ipv4","used":true}]}],
            "2001:db8:1::/48":[{"valid":true,"bestpath":true,"peerId":"fd00::2","path":"65001 4200000001","nexthops":[{"ip":"fd00::2","afi":"ipv6","scope":"global"},{"ip":"fe80::1","afi":"ipv6","scope":"link-local","used":true}]}]}}"#,
        );
        let routes = parse_table(&v).unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = routes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "192.0.2.0/24 via 10.250.1.2 as-path [65001] from 10.250.1.2 best",
                "198.51.100.0/24 as-path [] best",
                "2001:db8:1::/48 via fd00::2 as-path [65001 4200000001] from fd00::2 best",
            ]
        );
        assert!(parse_table(&json("{}")).is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn parses_the_detail_of_a_reflected_route() {
        let v = json(
            r#"{"prefix":"192.0.2.0/24","paths":[{"aspath":{"string":"Local","length":0},
            "origin":"IGP","locPrf":100,"valid":true,"bestpath":{"overall":true},
            "originatorId":"10.0.0.4","clusterList":{"list":["10.0.0.9"]},
            "community":{"string":"65000:1 65000:2"},
            "nexthops":[{"ip":"10.0.0.4","afi":"ipv4","used":true}],
            "peer":{"peerId":"10.0.0.9","routerId":"10.0.0.9","type":"internal"}}]}"#,
        );
        let p: IpPrefix = "192.0.2.0/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let routes = parse_detail(&v, p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(routes.len(), 1);
        let r = &routes[0];
        assert!(r.best && r.as_path.is_empty());
        assert_eq!(r.originator_id, Some(Ipv4Addr::new(10, 0, 0, 4)));
        assert_eq!(r.cluster_list, [Ipv4Addr::new(10, 0, 0, 9)]);
        assert_eq!(r.communities, ["65000:1", "65000:2"]);
        assert_eq!(r.source.as_deref(), Some("10.0.0.9"));
        let other: IpPrefix = "192.0.2.0/25".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(parse_detail(&v, other).is_ok_and(|r| r.is_empty()));
    }
}
