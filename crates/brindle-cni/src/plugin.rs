//! The commands: what `brindle` and `brindle-ipam` do for ADD, DEL, CHECK, STATUS, GC and
//! VERSION.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::config::{self, NetConf};
use crate::datapath::{self, HOST_MAC, Pod};
use crate::ipam::{self, BrindleIpam, Delegate, Ipam};
use crate::result::{CniResult, Interface, IpConfig, RouteEntry};
use crate::spec::{
    CniEnv, CniError, Command, ERR_CHECK, ERR_DATAPATH, ERR_INCOMPATIBLE_VERSION,
    ERR_INVALID_CONFIG, ERR_INVALID_ENV, SUPPORTED_VERSIONS, Version,
};

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
    let env = CniEnv::from_vars(var)?;
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
    match role {
        Role::Main => main_plugin(&env, &conf),
        Role::Ipam => ipam_plugin(&env, &conf),
    }
}

/// The IPAM seam for this call: brindle's own, or the delegate named by `ipam.type`.
fn ipam_for<'a>(env: &'a CniEnv, conf: &'a NetConf) -> Result<Box<dyn Ipam + 'a>, CniError> {
    let handle = ipam::handle_id(&conf.name, &env.container_id);
    match conf.ipam_type.as_deref() {
        None => Err(CniError::new(ERR_INVALID_CONFIG, "ipam section is missing")),
        Some("brindle-ipam") => Ok(Box::new(BrindleIpam { handle })),
        Some(other) => Ok(Box::new(Delegate::new(other, env, conf))),
    }
}

fn ipam_plugin(env: &CniEnv, conf: &NetConf) -> Result<Option<Value>, CniError> {
    let mut ipam = BrindleIpam {
        handle: ipam::handle_id(&conf.name, &env.container_id),
    };
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

fn main_plugin(env: &CniEnv, conf: &NetConf) -> Result<Option<Value>, CniError> {
    if conf.kind != "brindle" {
        return Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!("type {:?}: this plugin is brindle", conf.kind),
        ));
    }
    let host_veth = datapath::host_veth_name(&conf.interface_prefix, &workload(env));
    match env.command {
        Command::Add => add(env, conf, host_veth).map(Some),
        Command::Del => {
            datapath::del(&host_veth, env.netns.as_deref(), &env.ifname)
                .map_err(|e| CniError::new(ERR_DATAPATH, e))?;
            ipam_for(env, conf)?.release()?;
            // TODO(issue 4): delete the WorkloadEndpoint once it is written on ADD.
            Ok(None)
        }
        Command::Check => check(env, conf, host_veth).map(|()| None),
        Command::Gc => ipam_for(env, conf)?
            .gc(&ipam::valid_attachments(&conf.raw))
            .map(|()| None),
        Command::Status => ipam_for(env, conf)?.status().map(|()| None),
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

fn add(env: &CniEnv, conf: &NetConf, host_veth: String) -> Result<Value, CniError> {
    // Everything that can be refused without side effects is checked before IPAM.
    let netns = netns_of(env)?;
    let mtu = conf.effective_mtu();
    let mut ipam = ipam_for(env, conf)?;
    let assigned = ipam.assign()?;
    let ips: Vec<IpAddr> = assigned.ips.iter().map(|i| i.addr).collect();
    let pod = Pod {
        host_veth: host_veth.clone(),
        netns: netns.clone(),
        ifname: env.ifname.clone(),
        mtu,
        ips: ips.clone(),
    };
    let made = match pod.add() {
        Ok(made) => made,
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
    // TODO(issue 4): write the WorkloadEndpoint (`<node>-k8s-<pod>-<iface>`) to the datastore.
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

fn check(env: &CniEnv, conf: &NetConf, host_veth: String) -> Result<(), CniError> {
    let prev = conf
        .prev_result
        .as_ref()
        .ok_or_else(|| CniError::new(ERR_INVALID_CONFIG, "CHECK needs prevResult"))?;
    let prev = CniResult::from_json(prev)
        .map_err(|e| CniError::new(crate::spec::ERR_DECODE, format!("prevResult: {e}")))?;
    let netns = netns_of(env)?;
    ipam_for(env, conf)?.check()?;
    let pod = Pod {
        host_veth,
        netns,
        ifname: env.ifname.clone(),
        mtu: conf.effective_mtu(),
        ips: prev.ips.iter().map(|i| i.addr).collect(),
    };
    datapath::check(&pod).map_err(|e| CniError::new(ERR_CHECK, e))
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
