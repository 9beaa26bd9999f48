//! [`Gobgp`]: gobgpd in a lab host.
//!
//! Started as `ip netns exec <ns> gobgpd -f <dir>/gobgpd.toml --api-hosts 127.0.0.1:<port>
//! --pprof-disable -p` (`-p`: plain-text log lines on stdout, which goes to `<dir>/gobgpd.log`).
//! The gRPC API listens on the namespace's own loopback, so the CLI runs in the namespace too:
//! `ip netns exec <ns> gobgp -p <port> neighbor <addr> -j`, `... global rib -a ipv4 -j`.
//! gobgpd's config has no static routes: originated prefixes are added after start with
//! `gobgp global rib add -a <afi> <prefix> nexthop <host address>`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::BgpConfig;
use crate::daemon::{self, BgpDaemon, LOG_TAIL_LINES, START_TIMEOUT, instance_dir};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::prefix::{Family, IpPrefix};
use crate::process::{LabProcess, check, command_line};
use crate::route::RouteInfo;
use crate::wait::wait_for;

/// gobgpd running in a lab host.
#[derive(Debug)]
pub struct Gobgp {
    host: Host,
    config: BgpConfig,
    dir: PathBuf,
    api_port: u16,
    process: LabProcess,
}

impl Gobgp {
    /// Renders `config`, starts gobgpd in `host`, waits (up to 10 s) until its API answers, and
    /// adds the configured routes to its global RIB.
    pub fn start(host: &Host, config: &BgpConfig) -> Result<Gobgp> {
        config.validate()?;
        let (dir, api_port) = instance_dir(host, "gobgp")?;
        let conf = dir.join("gobgpd.toml");
        daemon::write_file(&conf, &render(host, config))?;
        let sub = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let process = host.spawn(
            "gobgpd",
            &[
                "-f",
                &conf.to_string_lossy(),
                "--api-hosts",
                &format!("127.0.0.1:{api_port}"),
                "--pprof-disable",
                "-p",
            ],
            &format!("{sub}/gobgpd.log"),
        )?;
        let mut gobgp = Gobgp {
            host: host.clone(),
            config: config.clone(),
            dir,
            api_port,
            process,
        };
        let ready = wait_for(START_TIMEOUT, || {
            if !gobgp.process.is_running() {
                return Some(false);
            }
            gobgp.cli(&["global"]).ok().map(|_| true)
        });
        match ready {
            Some(true) => {}
            Some(false) => return Err(gobgp.daemon_error("exited during start-up")),
            None => return Err(gobgp.daemon_error("its API did not answer within 10 s")),
        }
        let routes = std::mem::take(&mut gobgp.config.routes);
        for prefix in routes {
            gobgp.announce(prefix)?;
        }
        Ok(gobgp)
    }

    /// Stops gobgpd.
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

    /// The directory holding its config and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The gRPC API port (on the host namespace's 127.0.0.1).
    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// The daemon process.
    pub fn process(&self) -> &LabProcess {
        &self.process
    }

    /// Runs `gobgp -p <port> <args...>` in the host's namespace; returns its stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let port = self.api_port.to_string();
        let mut all = vec!["-p", port.as_str()];
        all.extend_from_slice(args);
        let out = self.host.exec("gobgp", &all)?;
        let mut full = vec!["netns", "exec", self.host.ns(), "gobgp"];
        full.extend_from_slice(&all);
        check("ip", &full, out)
    }

    /// Runs a `gobgp ... -j` command and parses its JSON.
    pub fn cli_json(&self, args: &[&str]) -> Result<Value> {
        let mut all = args.to_vec();
        all.push("-j");
        let out = self.cli(&all)?;
        serde_json::from_str(&out)
            .map_err(|e| Error::parse(command_line("gobgp", &all), format!("{e}: {out}")))
    }
}

impl BgpDaemon for Gobgp {
    fn describe(&self) -> String {
        format!("gobgpd on {}", self.host.ns())
    }

    fn is_running(&self) -> bool {
        self.process.is_running()
    }

    fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<String> {
        let addr = neighbor.to_string();
        let v = self.cli_json(&["neighbor", &addr])?;
        let state = v.get("state").and_then(|s| s.get("session_state"));
        state
            .and_then(session_state_name)
            .ok_or_else(|| Error::parse(format!("gobgp neighbor {addr} -j"), v.to_string()))
    }

    fn routes(&self) -> Result<Vec<RouteInfo>> {
        let mut all = Vec::new();
        for family in [Family::V4, Family::V6] {
            let v = self.cli_json(&["global", "rib", "-a", family.word()])?;
            all.extend(parse_rib(&v).map_err(|d| {
                Error::parse(format!("gobgp global rib -a {} -j", family.word()), d)
            })?);
        }
        Ok(all)
    }

    fn announce(&mut self, prefix: IpPrefix) -> Result<()> {
        let family = prefix.family();
        let p = prefix.to_string();
        let nh = self.host.ip(family).to_string();
        self.cli(&[
            "global",
            "rib",
            "add",
            "-a",
            family.word(),
            &p,
            "nexthop",
            &nh,
        ])?;
        if !self.config.routes.contains(&prefix) {
            self.config.routes.push(prefix);
        }
        Ok(())
    }

    fn withdraw(&mut self, prefix: IpPrefix) -> Result<()> {
        let family = prefix.family();
        let p = prefix.to_string();
        self.cli(&["global", "rib", "del", "-a", family.word(), &p])?;
        self.config.routes.retain(|x| *x != prefix);
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

/// GoBGP's session state: a number (its API enum) or a word, depending on the version.
fn session_state_name(v: &Value) -> Option<String> {
    let name = match v {
        Value::Number(n) => match n.as_u64()? {
            1 => "Idle",
            2 => "Connect",
            3 => "Active",
            4 => "OpenSent",
            5 => "OpenConfirm",
            6 => "Established",
            _ => "Unknown",
        },
        Value::String(s) => match s.to_ascii_lowercase().trim_start_matches("session_state_") {
            "idle" => "Idle",
            "connect" => "Connect",
            "active" => "Active",
            "opensent" => "OpenSent",
            "openconfirm" => "OpenConfirm",
            "established" => "Established",
            _ => return Some(s.clone()),
        },
        _ => return None,
    };
    Some(name.to_string())
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders gobgpd's TOML configuration.
pub(crate) fn render(host: &Host, config: &BgpConfig) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "# generated by brindle-lab");
    let _ = writeln!(c, "[global.config]");
    let _ = writeln!(c, "  as = {}", config.local_as);
    let _ = writeln!(c, "  router-id = \"{}\"", config.router_id);
    let _ = writeln!(c, "  port = {}", config.listen_port);
    let listen: Vec<String> = match config.listen_address {
        Some(a) => vec![format!("\"{a}\"")],
        None => vec!["\"0.0.0.0\"".to_string(), "\"::\"".to_string()],
    };
    let _ = writeln!(c, "  local-address-list = [{}]", listen.join(", "));
    let _ = writeln!(c, "[global.apply-policy.config]");
    let _ = writeln!(c, "  default-import-policy = \"accept-route\"");
    let _ = writeln!(c, "  default-export-policy = \"accept-route\"");
    for n in &config.neighbors {
        let _ = writeln!(c, "\n[[neighbors]]");
        let _ = writeln!(c, "  [neighbors.config]");
        let _ = writeln!(c, "    neighbor-address = \"{}\"", n.address);
        let _ = writeln!(c, "    peer-as = {}", n.remote_as);
        if let Some(pw) = &n.md5_password {
            let _ = writeln!(c, "    auth-password = {}", toml_str(pw));
        }
        let _ = writeln!(c, "  [neighbors.timers.config]");
        let _ = writeln!(c, "    connect-retry = 1");
        if let Some((hold, keepalive)) = n.timers() {
            let _ = writeln!(c, "    hold-time = {hold}");
            let _ = writeln!(c, "    keepalive-interval = {keepalive}");
        }
        let _ = writeln!(c, "  [neighbors.transport.config]");
        let _ = writeln!(c, "    local-address = \"{}\"", n.local_for(host));
        let _ = writeln!(c, "    remote-port = {}", n.remote_port);
        if n.passive {
            let _ = writeln!(c, "    passive-mode = true");
        }
        if let Some(ttl) = n.multihop
            && !config.is_ibgp(n)
        {
            let _ = writeln!(c, "  [neighbors.ebgp-multihop.config]");
            let _ = writeln!(c, "    enabled = true");
            let _ = writeln!(c, "    multihop-ttl = {ttl}");
        }
        if n.rr_client {
            let cluster = config.cluster_id.unwrap_or(config.router_id);
            let _ = writeln!(c, "  [neighbors.route-reflector.config]");
            let _ = writeln!(c, "    route-reflector-client = true");
            let _ = writeln!(c, "    route-reflector-cluster-id = \"{cluster}\"");
        }
        if n.graceful_restart {
            let _ = writeln!(c, "  [neighbors.graceful-restart.config]");
            let _ = writeln!(c, "    enabled = true");
            let _ = writeln!(c, "    restart-time = 120");
        }
        for family in &n.families {
            let _ = writeln!(c, "  [[neighbors.afi-safis]]");
            let _ = writeln!(c, "    [neighbors.afi-safis.config]");
            let _ = writeln!(c, "      afi-safi-name = \"{}-unicast\"", family.word());
            if n.graceful_restart {
                let _ = writeln!(c, "    [neighbors.afi-safis.mp-graceful-restart.config]");
                let _ = writeln!(c, "      enabled = true");
            }
            if n.add_path {
                let _ = writeln!(c, "    [neighbors.afi-safis.add-paths.config]");
                let _ = writeln!(c, "      receive = true");
                let _ = writeln!(c, "      send-max = 8");
            }
        }
    }
    c
}

/// Parses `gobgp global rib -a <afi> -j`: `{ "<prefix>": [ path, ... ], ... }`.
pub(crate) fn parse_rib(v: &Value) -> std::result::Result<Vec<RouteInfo>, String> {
    let Some(map) = v.as_object() else {
        return if v.is_null() {
            Ok(Vec::new())
        } else {
            Err(format!("not an object: {v}"))
        };
    };
    let mut out = Vec::new();
    for (prefix, paths) in map {
        let prefix: IpPrefix = prefix.parse().map_err(|e| format!("{e}"))?;
        for path in paths.as_array().into_iter().flatten() {
            let mut r = RouteInfo::new(prefix);
            r.best = path.get("best").and_then(Value::as_bool).unwrap_or(false);
            r.source = path
                .get("neighbor-ip")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && *s != "<nil>")
                .map(str::to_string);
            for attr in path
                .get("attrs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                apply_attr(&mut r, attr);
            }
            if r.source.is_none() {
                // gobgpd shows its own routes with the next hop they were added with.
                r.next_hop = None;
            }
            out.push(r);
        }
    }
    Ok(out)
}

fn apply_attr(r: &mut RouteInfo, attr: &Value) {
    let num = |key: &str| {
        attr.get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    match attr.get("type").and_then(Value::as_u64) {
        // AS_PATH: {"as_paths":[{"segment_type":2,"num":1,"asns":[65001]}]}
        Some(2) => {
            r.as_path = attr
                .get("as_paths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|seg| {
                    seg.get("asns")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|a| a.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect();
        }
        // NEXT_HOP, or MP_REACH_NLRI's next hop.
        Some(3) | Some(14) => {
            r.next_hop = attr
                .get("nexthop")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
                .filter(|ip| !ip.is_unspecified());
        }
        Some(4) => r.med = num("metric"),
        Some(5) => r.local_pref = num("value"),
        // COMMUNITIES: {"communities":[4259840001]}
        Some(8) => {
            r.communities = attr
                .get("communities")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                .collect();
        }
        Some(9) => {
            r.originator_id = attr
                .get("value")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Ipv4Addr>().ok());
        }
        Some(10) => {
            r.cluster_list = attr
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str()?.parse().ok())
                .collect();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rib() {
        let v: Value = serde_json::from_str(
            r#"{"192.0.2.0/24":[{"nlri":{"prefix":"192.0.2.0/24"},"age":1,"best":true,
                "attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[65001,4200000001]}]},
                         {"type":3,"nexthop":"10.250.1.2"},{"type":5,"value":100},
                         {"type":9,"value":"10.0.0.4"},{"type":10,"value":["10.0.0.9"]},
                         {"type":8,"communities":[4259840001]}],
                "stale":false,"source-id":"10.250.1.2","neighbor-ip":"10.250.1.2"}],
              "203.0.113.0/24":[{"nlri":{"prefix":"203.0.113.0/24"},"best":true,
                "attrs":[{"type":1,"value":2},{"type":3,"nexthop":"10.250.1.4"}],"stale":false}],
              "2001:db8:4::/48":[{"nlri":{"prefix":"2001:db8:4::/48"},"best":true,
                "attrs":[{"type":14,"nexthop":"fd00::2","afi":2,"safi":1}],"neighbor-ip":"fd00::2"}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let routes = parse_rib(&v).unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = routes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "192.0.2.0/24 via 10.250.1.2 as-path [65001 4200000001] originator 10.0.0.4 \
                 cluster-list [10.0.0.9] from 10.250.1.2 best",
                "2001:db8:4::/48 via fd00::2 as-path [] from fd00::2 best",
                "203.0.113.0/24 as-path [] best",
            ]
        );
        assert_eq!(routes[0].local_pref, Some(100));
        assert_eq!(routes[0].communities, ["65000:1"]);
        assert!(parse_rib(&Value::Null).is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn maps_session_states() {
        assert_eq!(
            session_state_name(&Value::from(6)).as_deref(),
            Some("Established")
        );
        assert_eq!(
            session_state_name(&Value::from(3)).as_deref(),
            Some("Active")
        );
        assert_eq!(
            session_state_name(&Value::from("SESSION_STATE_ESTABLISHED")).as_deref(),
            Some("Established")
        );
    }
}
