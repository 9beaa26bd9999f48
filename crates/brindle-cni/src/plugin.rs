//! The commands: what `brindle` and `brindle-ipam` do for ADD, DEL, CHECK, STATUS, GC and
//! VERSION.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};

use crate::config::{self, NetConf};
use crate::datapath::{self, HOST_MAC, Pod};
use crate::endpoint::{self, Endpoint, Identity};
use crate::ipam::{self, BrindleIpam, BrindleIpamConf, Delegate, Ipam};
use crate::result::{CniResult, Interface, IpConfig, RouteEntry};
use crate::spec::{
    CniEnv, CniError, Command, ERR_CHECK, ERR_DATAPATH, ERR_INCOMPATIBLE_VERSION,
    ERR_INVALID_CONFIG, ERR_INVALID_ENV, SUPPORTED_VERSIONS, Version,
};
use crate::store::{self, LazyStore};

/// **Test only.** When this variable is `1`, the main plugin aborts (as if killed) right after
/// its addresses were assigned and before the data path is built, so that tests can show
/// what a crash there leaves behind (an allocation that `ipam check` finds and GC releases).
/// Never set it in production.
pub const TEST_CRASH_AFTER_IPAM_ENV: &str = "BRINDLE_CNI_TEST_CRASH_AFTER_IPAM";

/// Which plugin the binary is (by the name it was run as).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `brindle`: the main plugin (data path, calling IPAM).
    Main,
    /// `brindle-ipam`: the IPAM plugin alone.
    Ipam,
}

impl Role {
    /// The role for a program name (argv[0]'s file name): `brindle-ipam` or else main.
    pub fn from_program(name: &str) -> Role {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base == "brindle-ipam" {
            Role::Ipam
        } else {
            Role::Main
        }
    }
}

/// One call's outcome: what to print on stdout, and whether it failed (non-zero exit).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The JSON printed on stdout (nothing for a successful DEL, GC or STATUS).
    pub stdout: Option<Value>,
    /// Whether the call succeeded.
    pub ok: bool,
}

/// Runs one call: `var` reads the environment, `stdin` is the configuration.
pub fn run(role: Role, var: impl Fn(&str) -> Option<String>, stdin: &[u8]) -> Outcome {
    // The version errors are reported in: the configuration's when it says one we speak.
    let declared = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| {
            v.get("cniVersion")
                .and_then(Value::as_str)
                .and_then(Version::parse)
        })
        .unwrap_or(Version::LATEST);
    match dispatch(role, var, stdin) {
        Ok(stdout) => Outcome { stdout, ok: true },
        Err(e) => Outcome {
            stdout: Some(e.to_json(declared.as_str())),
            ok: false,
        },
    }
}

fn dispatch(
    role: Role,
    var: impl Fn(&str) -> Option<String>,
    stdin: &[u8],
) -> Result<Option<Value>, CniError> {
    let crash_after_ipam = var(TEST_CRASH_AFTER_IPAM_ENV).is_some_and(|v| v == "1");
    let env = CniEnv::from_vars(&var)?;
    if env.command == Command::Version {
        let asked = serde_json::from_slice::<Value>(stdin)
            .ok()
            .and_then(|v| {
                v.get("cniVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| Version::LATEST.as_str().into());
        return Ok(Some(
            json!({"cniVersion": asked, "supportedVersions": SUPPORTED_VERSIONS}),
        ));
    }
    let raw = config::parse_json(stdin)?;
    let conf = NetConf::parse(raw)?;
    let needs = match env.command {
        Command::Check => Version::V040,
        Command::Gc | Command::Status => Version::V110,
        _ => Version::V030,
    };
    if conf.version < needs {
        return Err(CniError::new(
            ERR_INCOMPATIBLE_VERSION,
            format!(
                "{} needs cniVersion {needs} or later; the configuration says {}",
                env.command.as_str(),
                conf.version
            ),
        ));
    }
    let call = Call::new(&env, &conf)?;
    match role {
        Role::Main => main_plugin(&call, crash_after_ipam),
        Role::Ipam => ipam_plugin(&call),
    }
}

/// What one call works with: the environment, the configuration, and the datastore (when
/// the configuration names one or uses brindle-ipam; opened only when first used).
struct Call<'a> {
    env: &'a CniEnv,
    conf: &'a NetConf,
    store: Option<LazyStore>,
}

impl<'a> Call<'a> {
    fn new(env: &'a CniEnv, conf: &'a NetConf) -> Result<Call<'a>, CniError> {
        let wanted =
            conf.ipam_type.as_deref() == Some("brindle-ipam") || store::configured(&conf.raw);
        let store = if wanted {
            Some(LazyStore::new(store::config_of(&conf.raw)?))
        } else {
            None
        };
        Ok(Call { env, conf, store })
    }

    /// This host's node name.
    fn node(&self) -> Result<String, CniError> {
        store::nodename(self.conf.nodename.as_deref(), &self.conf.state_dir)
    }

    /// The IPAM seam for this call: brindle's own, or the delegate named by `ipam.type`.
    fn ipam(&self) -> Result<Box<dyn Ipam + '_>, CniError> {
        let (env, conf) = (self.env, self.conf);
        match (conf.ipam_type.as_deref(), &self.store) {
            (None, _) => Err(CniError::new(ERR_INVALID_CONFIG, "ipam section is missing")),
            (Some("brindle-ipam"), Some(store)) => {
                let mut attributes = BTreeMap::new();
                for (arg, attr) in [("K8S_POD_NAMESPACE", "namespace"), ("K8S_POD_NAME", "pod")] {
                    if let Some(v) = env.arg(arg) {
                        attributes.insert(attr.to_string(), v.to_string());
                    }
                }
                let expected = conf
                    .prev_result
                    .as_ref()
                    .and_then(|p| CniResult::from_json(p).ok())
                    .map(|r| r.ips.iter().map(|i| i.addr).collect())
                    .unwrap_or_default();
                Ok(Box::new(BrindleIpam {
                    network: conf.name.clone(),
                    handle: ipam::handle_id(&conf.name, &env.container_id),
                    node: self.node()?,
                    conf: BrindleIpamConf::parse(&conf.raw["ipam"])?,
                    attributes,
                    expected,
                    store,
                }))
            }
            (Some(other), _) => Ok(Box::new(Delegate::new(other, env, conf))),
        }
    }
}

/// `brindle-ipam` run on its own by another main plugin: the IPAM protocol, a result with
/// `ips` only.
fn ipam_plugin(call: &Call<'_>) -> Result<Option<Value>, CniError> {
    let (env, conf) = (call.env, call.conf);
    if conf.ipam_type.as_deref() != Some("brindle-ipam") {
        return Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!(
                "ipam.type {:?}: this plugin is brindle-ipam",
                conf.ipam_type.as_deref().unwrap_or("")
            ),
        ));
    }
    let mut ipam = call.ipam()?;
    match env.command {
        Command::Add => ipam.assign().map(|r| Some(r.to_json(conf.version))),
        Command::Del => ipam.release().map(|()| None),
        Command::Check => ipam.check().map(|()| None),
        Command::Gc => ipam.gc(&ipam::valid_attachments(&conf.raw)).map(|()| None),
        Command::Status => ipam.status().map(|()| None),
        Command::Version => Ok(None),
    }
}

/// `<namespace>.<pod>` from CNI_ARGS, else the container ID.
fn workload(env: &CniEnv) -> String {
    match (env.arg("K8S_POD_NAMESPACE"), env.arg("K8S_POD_NAME")) {
        (Some(ns), Some(pod)) => format!("{ns}.{pod}"),
        _ => env.container_id.clone(),
    }
}

fn main_plugin(call: &Call<'_>, crash_after_ipam: bool) -> Result<Option<Value>, CniError> {
    let (env, conf) = (call.env, call.conf);
    if conf.kind != "brindle" {
        return Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!("type {:?}: this plugin is brindle", conf.kind),
        ));
    }
    let host_veth = datapath::host_veth_name(&conf.interface_prefix, &workload(env));
    match env.command {
        Command::Add => add(call, host_veth, crash_after_ipam).map(Some),
        Command::Del => {
            // Each step succeeds when there is nothing left to remove, so a DEL that failed
            // half-way (the datastore unreachable) is simply repeated by the runtime.
            datapath::del(&host_veth, env.netns.as_deref(), &env.ifname)
                .map_err(|e| CniError::new(ERR_DATAPATH, e))?;
            call.ipam()?.release()?;
            if let Some(store) = &call.store {
                endpoint::delete(store, &Identity::of(env, &call.node()?))?;
            }
            Ok(None)
        }
        Command::Check => check(call, host_veth).map(|()| None),
        Command::Gc => call
            .ipam()?
            .gc(&ipam::valid_attachments(&conf.raw))
            .map(|()| None),
        Command::Status => call.ipam()?.status().map(|()| None),
        Command::Version => Ok(None),
    }
}

fn netns_of(env: &CniEnv) -> Result<std::path::PathBuf, CniError> {
    let ns = env
        .netns
        .clone()
        .ok_or_else(|| CniError::new(ERR_INVALID_ENV, "CNI_NETNS is not set"))?;
    if !ns.exists() {
        return Err(CniError::new(
            ERR_INVALID_ENV,
            format!("CNI_NETNS {}: no such network namespace", ns.display()),
        ));
    }
    Ok(ns)
}

fn add(call: &Call<'_>, host_veth: String, crash_after_ipam: bool) -> Result<Value, CniError> {
    let (env, conf) = (call.env, call.conf);
    // Everything that can be refused without side effects is checked before IPAM.
    let netns = netns_of(env)?;
    let mtu = conf.effective_mtu();
    let node = match &call.store {
        Some(_) => Some(call.node()?),
        None => None,
    };
    let mut timing = Timing::from_env();
    let mut ipam = call.ipam()?;
    let assigned = ipam.assign()?;
    timing.mark("ipam");
    if crash_after_ipam {
        std::process::abort();
    }
    let ips: Vec<IpAddr> = assigned.ips.iter().map(|i| i.addr).collect();
    let pod = Pod {
        host_veth: host_veth.clone(),
        netns: netns.clone(),
        ifname: env.ifname.clone(),
        mtu,
        ips: ips.clone(),
    };
    let made = match pod.add() {
        Ok(made) => {
            timing.mark("datapath");
            made
        }
        Err(e) => {
            // The address allocated above goes back; the data path undid itself.
            let undo = ipam.release().err();
            let mut err = CniError::new(ERR_DATAPATH, format!("setting up pod network: {e}"));
            if let Some(u) = undo {
                err = err.with_details(format!("releasing the address afterwards failed too: {u}"));
            }
            return Err(err);
        }
    };
    if let (Some(store), Some(node)) = (&call.store, &node) {
        let id = Identity::of(env, node);
        let ep = Endpoint {
            id: &id,
            node,
            container_id: &env.container_id,
            ifname: &env.ifname,
            host_veth: &host_veth,
            mac: made.container_mac.map(|m| m.to_string()),
            ips: &ips,
        };
        if let Err(e) = ep.write(store) {
            // Undo everything: the veth (its routes and addresses go with it), the address.
            let mut undo = Vec::new();
            if let Err(d) = datapath::del(&host_veth, Some(&netns), &env.ifname) {
                undo.push(format!("removing the veth failed too: {d}"));
            }
            if let Err(r) = ipam.release() {
                undo.push(format!("releasing the address failed too: {r}"));
            }
            return Err(if undo.is_empty() {
                e
            } else {
                e.with_details(undo.join("; "))
            });
        }
        timing.mark("endpoint");
    }
    let mut routes = Vec::new();
    if ips.iter().any(IpAddr::is_ipv4) {
        routes.push(RouteEntry {
            dst: "0.0.0.0/0".into(),
            gw: Some(IpAddr::V4(datapath::GATEWAY_V4)),
        });
    }
    if let Some(gw) = made.gateway_v6 {
        routes.push(RouteEntry {
            dst: "::/0".into(),
            gw: Some(gw),
        });
    }
    let result = CniResult {
        interfaces: vec![
            Interface {
                name: host_veth,
                mac: Some(HOST_MAC.to_string()),
                sandbox: None,
                mtu: Some(mtu),
            },
            Interface {
                name: env.ifname.clone(),
                mac: made.container_mac.map(|m| m.to_string()),
                sandbox: Some(netns.display().to_string()),
                mtu: Some(mtu),
            },
        ],
        ips: ips
            .iter()
            .map(|a| IpConfig {
                addr: *a,
                prefix_len: if a.is_ipv4() { 32 } else { 128 },
                gateway: None,
                interface: Some(1),
            })
            .collect(),
        routes,
        dns: assigned.dns,
    };
    Ok(result.to_json(conf.version))
}

fn check(call: &Call<'_>, host_veth: String) -> Result<(), CniError> {
    let (env, conf) = (call.env, call.conf);
    let prev = conf
        .prev_result
        .as_ref()
        .ok_or_else(|| CniError::new(ERR_INVALID_CONFIG, "CHECK needs prevResult"))?;
    let prev = CniResult::from_json(prev)
        .map_err(|e| CniError::new(crate::spec::ERR_DECODE, format!("prevResult: {e}")))?;
    let netns = netns_of(env)?;
    call.ipam()?.check()?;
    if let Some(store) = &call.store {
        endpoint::check(store, &Identity::of(env, &call.node()?))?;
    }
    let pod = Pod {
        host_veth,
        netns,
        ifname: env.ifname.clone(),
        mtu: conf.effective_mtu(),
        ips: prev.ips.iter().map(|i| i.addr).collect(),
    };
    datapath::check(&pod).map_err(|e| CniError::new(ERR_CHECK, e))
}

/// Phase durations of one call on stderr, when `BRINDLE_CNI_TIMING` is set (a developer's
/// aid for the ADD latency; runtimes ignore a plugin's stderr).
struct Timing {
    last: Option<std::time::Instant>,
}

impl Timing {
    fn from_env() -> Timing {
        Timing {
            last: std::env::var_os("BRINDLE_CNI_TIMING").map(|_| std::time::Instant::now()),
        }
    }

    fn mark(&mut self, phase: &str) {
        if let Some(last) = self.last {
            let now = std::time::Instant::now();
            eprintln!(
                "brindle: {phase} {:.2} ms",
                (now - last).as_secs_f64() * 1e3
            );
            self.last = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_by_program_name() {
        assert_eq!(Role::from_program("/opt/cni/bin/brindle-ipam"), Role::Ipam);
        assert_eq!(Role::from_program("brindle-ipam"), Role::Ipam);
        assert_eq!(Role::from_program("/opt/cni/bin/brindle"), Role::Main);
    }

    fn call(env: &[(&str, &str)], stdin: &str) -> Outcome {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        run(
            Role::Main,
            |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            stdin.as_bytes(),
        )
    }

    #[test]
    fn version_lists_what_is_spoken() {
        let o = call(&[("CNI_COMMAND", "VERSION")], r#"{"cniVersion":"0.4.0"}"#);
        assert!(o.ok);
        let v = o.stdout.expect("output");
        assert_eq!(v["cniVersion"], "0.4.0");
        assert_eq!(v["supportedVersions"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn bad_input_gives_the_spec_error_without_side_effects() {
        let add = [
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/brindle-unit-no-such-ns"),
            ("CNI_IFNAME", "eth0"),
        ];
        let conf =
            r#"{"cniVersion":"1.0.0","name":"n","type":"brindle","ipam":{"type":"host-local"}}"#;
        let code = |o: Outcome| {
            assert!(!o.ok);
            o.stdout.and_then(|v| v["code"].as_u64())
        };
        assert_eq!(code(call(&add, "{nope")), Some(6));
        assert_eq!(code(call(&add[..2], conf)), Some(4));
        assert_eq!(code(call(&add, conf)), Some(4), "namespace missing");
        assert_eq!(
            code(call(
                &add,
                r#"{"cniVersion":"0.2.0","name":"n","type":"brindle"}"#
            )),
            Some(1)
        );
        let check = [("CNI_COMMAND", "CHECK"), add[1], add[2], add[3]];
        assert_eq!(
            code(call(
                &check,
                r#"{"cniVersion":"0.3.1","name":"n","type":"brindle","ipam":{"type":"x"}}"#
            )),
            Some(1),
            "CHECK came with 0.4.0"
        );
        let o = call(&add, "{nope");
        assert_eq!(o.stdout.expect("error")["cniVersion"], "1.1.0");
    }
}
