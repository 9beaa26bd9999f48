//! Address management behind one seam, [`Ipam`]: either another IPAM plugin run as the spec
//! says ([`Delegate`], e.g. the reference `host-local`), or brindle's own datastore IPAM
//! ([`BrindleIpam`], crates/brindle-ipam over the datastore).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};

use brindle_ipam::{AssignRequest, Family, IpamError};
use serde_json::Value;

use crate::config::NetConf;
use crate::result::{CniResult, IpConfig};
use crate::spec::{
    CniEnv, CniError, Command, ERR_CHECK, ERR_INCOMPATIBLE_VERSION, ERR_INVALID_CONFIG,
    ERR_INVALID_ENV, ERR_IPAM, ERR_NOT_AVAILABLE, ERR_TRY_AGAIN, Version,
};
use crate::store::LazyStore;

/// The IPAM handle of an attachment, `<network>.<containerID>`: what addresses are allocated
/// to and released by.
pub fn handle_id(network: &str, container_id: &str) -> String {
    format!("{network}.{container_id}")
}

/// An attachment the runtime still uses (GC's `cni.dev/valid-attachments`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The container.
    pub container_id: String,
    /// Its interface.
    pub ifname: String,
}

/// Address management for one call.
pub trait Ipam {
    /// Allocates the attachment's addresses (ADD); the result's `ips` (and `routes`, `dns`).
    fn assign(&mut self) -> Result<CniResult, CniError>;
    /// Releases the attachment's addresses (DEL, and the undo of a failed ADD); succeeds when
    /// there is nothing to release.
    fn release(&mut self) -> Result<(), CniError>;
    /// Checks that the attachment still holds its addresses (CHECK).
    fn check(&mut self) -> Result<(), CniError>;
    /// Releases what no attachment in `valid` uses (GC).
    fn gc(&mut self, valid: &[Attachment]) -> Result<(), CniError>;
    /// Whether addresses can be allocated now (STATUS): datastore reachable, room in a pool.
    fn status(&mut self) -> Result<(), CniError>;
}

/// Another IPAM plugin, run per the spec: found by its `type` on `CNI_PATH`, given the same
/// environment (with the command set) and the network configuration on stdin.
pub struct Delegate<'a> {
    plugin: String,
    env: &'a CniEnv,
    conf: &'a NetConf,
}

impl<'a> Delegate<'a> {
    /// The plugin `plugin` (`ipam.type`) for this call.
    pub fn new(plugin: &str, env: &'a CniEnv, conf: &'a NetConf) -> Delegate<'a> {
        Delegate {
            plugin: plugin.to_string(),
            env,
            conf,
        }
    }

    fn binary(&self) -> Result<PathBuf, CniError> {
        if self.plugin.contains('/') || self.plugin.is_empty() || self.plugin == ".." {
            return Err(CniError::new(
                ERR_INVALID_CONFIG,
                format!("ipam.type {:?} is not a plugin name", self.plugin),
            ));
        }
        if self.env.path.is_empty() {
            return Err(CniError::new(
                ERR_INVALID_ENV,
                format!(
                    "CNI_PATH is not set: cannot find IPAM plugin {}",
                    self.plugin
                ),
            ));
        }
        self.env
            .path
            .iter()
            .map(|d| d.join(&self.plugin))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                let dirs: Vec<_> = self
                    .env
                    .path
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                CniError::new(
                    ERR_IPAM,
                    format!(
                        "IPAM plugin {} not found in CNI_PATH ({})",
                        self.plugin,
                        dirs.join(":")
                    ),
                )
            })
    }

    /// Runs the plugin with `command` and `stdin`; its stdout on success, its error otherwise.
    fn exec(&self, command: Command, stdin: &Value) -> Result<Vec<u8>, CniError> {
        let bin = self.binary()?;
        let fail = |m: String| CniError::new(ERR_IPAM, format!("IPAM plugin {}: {m}", self.plugin));
        let mut child = Process::new(&bin)
            .env("CNI_COMMAND", command.as_str())
            .env("CNI_CONTAINERID", &self.env.container_id)
            .env("CNI_IFNAME", &self.env.ifname)
            .env(
                "CNI_NETNS",
                self.env
                    .netns
                    .as_deref()
                    .unwrap_or(std::path::Path::new("")),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("running {}: {e}", bin.display())))?;
        let input = serde_json::to_vec(stdin).map_err(|e| fail(e.to_string()))?;
        // The pipe is closed (EOF for the plugin) at the end of this statement.
        let written = match child.stdin.take() {
            Some(mut s) => s.write_all(&input),
            None => Ok(()),
        };
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("waiting for it: {e}")))?;
        // A plugin that answers before reading all of its input (refusing the configuration's
        // version, say) closes the pipe on us: its answer is what counts, not the broken pipe.
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(fail(format!("writing its stdin: {e}")));
        }
        if out.status.success() {
            return Ok(out.stdout);
        }
        let parsed = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| CniError::from_json(&v));
        Err(match parsed {
            // Its own code (11 try again later, 1 incompatible version…) is kept.
            Some(e) => e.context(&format!("IPAM plugin {}", self.plugin)),
            None => fail(format!(
                "{} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        })
    }

    /// The versions the plugin speaks (its VERSION answer).
    fn versions(&self) -> Result<Vec<String>, CniError> {
        let out = self.exec(
            Command::Version,
            &serde_json::json!({"cniVersion": self.conf.version.as_str()}),
        )?;
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        Ok(v.get("supportedVersions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The configuration, with `cniVersion` lowered to one the plugin speaks when it refuses
    /// ours (the reference plugins of Debian 12 stop at 1.0.0).
    fn negotiated(&self) -> Result<Option<Value>, CniError> {
        let theirs = self.versions()?;
        let best = theirs
            .iter()
            .filter_map(|v| Version::parse(v))
            .filter(|v| *v <= self.conf.version)
            .max();
        Ok(best.map(|v| {
            let mut raw = self.conf.raw.clone();
            raw["cniVersion"] = Value::String(v.as_str().into());
            raw
        }))
    }

    /// Runs `command`; once more with a lower version when the plugin refuses ours.
    fn call(&self, command: Command) -> Result<Vec<u8>, CniError> {
        match self.exec(command, &self.conf.raw) {
            Err(e) if e.code == ERR_INCOMPATIBLE_VERSION => match self.negotiated()? {
                Some(raw) => self.exec(command, &raw),
                None => Err(e),
            },
            other => other,
        }
    }

    /// Whether the plugin speaks 1.1.0 (GC and STATUS).
    fn speaks_v110(&self) -> Result<bool, CniError> {
        Ok(self.versions()?.iter().any(|v| v == "1.1.0"))
    }
}

impl Ipam for Delegate<'_> {
    fn assign(&mut self) -> Result<CniResult, CniError> {
        let out = self.call(Command::Add)?;
        let v: Value = serde_json::from_slice(&out).map_err(|e| {
            CniError::new(
                ERR_IPAM,
                format!("IPAM plugin {}: its result is not JSON: {e}", self.plugin),
            )
        })?;
        let r = CniResult::from_json(&v)
            .map_err(|e| CniError::new(ERR_IPAM, format!("IPAM plugin {}: {e}", self.plugin)))?;
        if r.ips.is_empty() {
            return Err(CniError::new(
                ERR_IPAM,
                format!("IPAM plugin {} gave no address", self.plugin),
            ));
        }
        Ok(r)
    }

    fn release(&mut self) -> Result<(), CniError> {
        self.call(Command::Del).map(drop)
    }

    fn check(&mut self) -> Result<(), CniError> {
        self.call(Command::Check).map(drop)
    }

    fn gc(&mut self, _valid: &[Attachment]) -> Result<(), CniError> {
        // The configuration (with cni.dev/valid-attachments) goes on unchanged; a plugin that
        // predates GC has nothing to collect by this protocol.
        if self.speaks_v110()? {
            self.exec(Command::Gc, &self.conf.raw)?;
        }
        Ok(())
    }

    fn status(&mut self) -> Result<(), CniError> {
        let speaks = self.speaks_v110().map_err(|e| CniError {
            code: ERR_NOT_AVAILABLE,
            ..e
        })?;
        if speaks {
            self.exec(Command::Status, &self.conf.raw)?;
        }
        Ok(())
    }
}

/// The `ipam` section of a `brindle-ipam` configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrindleIpamConf {
    /// `assign_ipv4` (default true): one IPv4 address per attachment.
    pub assign_ipv4: bool,
    /// `assign_ipv6` (default false): one IPv6 address per attachment.
    pub assign_ipv6: bool,
    /// `ipv4_pools`: the IPv4 pools to use, by name or CIDR, in order (empty: any eligible).
    pub ipv4_pools: Vec<String>,
    /// `ipv6_pools`: the IPv6 pools to use.
    pub ipv6_pools: Vec<String>,
}

impl BrindleIpamConf {
    /// Reads the `ipam` object. `assign_ipv4`/`assign_ipv6` may be booleans or, as Calico
    /// writes them, the strings `"true"`/`"false"`.
    pub fn parse(ipam: &Value) -> Result<BrindleIpamConf, CniError> {
        let invalid = |m: String| CniError::new(ERR_INVALID_CONFIG, m);
        let flag = |key: &str, default: bool| match ipam.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(other) => Err(invalid(format!("ipam.{key}: {other} is not true or false"))),
        };
        let pools = |key: &str| match ipam.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|p| {
                    p.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid(format!("ipam.{key}: {p} is not a string")))
                })
                .collect(),
            Some(other) => Err(invalid(format!("ipam.{key}: {other} is not a list"))),
        };
        let c = BrindleIpamConf {
            assign_ipv4: flag("assign_ipv4", true)?,
            assign_ipv6: flag("assign_ipv6", false)?,
            ipv4_pools: pools("ipv4_pools")?,
            ipv6_pools: pools("ipv6_pools")?,
        };
        if !c.assign_ipv4 && !c.assign_ipv6 {
            return Err(invalid(
                "ipam: assign_ipv4 and assign_ipv6 are both false: nothing to assign".into(),
            ));
        }
        Ok(c)
    }
}

/// brindle's own IPAM over the datastore (crates/brindle-ipam): pools, the node's affine
/// blocks, handles `<network>.<containerID>`. The datastore is opened on first use.
pub struct BrindleIpam<'a> {
    /// The network's name (`name`): GC releases only this network's handles.
    pub network: String,
    /// The attachment's handle, `<network>.<containerID>`.
    pub handle: String,
    /// The node allocating.
    pub node: String,
    /// What to assign.
    pub conf: BrindleIpamConf,
    /// Stored with each allocation besides `node` (`namespace`, `pod`).
    pub attributes: BTreeMap<String, String>,
    /// The addresses CHECK expects the handle to hold (prevResult's), if known.
    pub expected: Vec<IpAddr>,
    /// The datastore.
    pub store: &'a LazyStore,
}

/// An IPAM error as a CNI error: the datastore unreachable (or too busy) is 11, "try again
/// later"; anything else (no room in the pools…) is 101 with the IPAM error's one line.
pub fn ipam_error(store: &LazyStore, what: &str, e: IpamError) -> CniError {
    let inner = match e {
        IpamError::Family { source, .. } if matches!(*source, IpamError::Datastore(_)) => *source,
        other => other,
    };
    match &inner {
        IpamError::Datastore(s) => store.error(what, s, ERR_IPAM),
        IpamError::Contention { .. } => {
            CniError::new(ERR_TRY_AGAIN, format!("brindle-ipam: {what}: {inner}"))
        }
        _ => CniError::new(ERR_IPAM, format!("brindle-ipam: {what}: {inner}")),
    }
}

impl BrindleIpam<'_> {
    fn open(&self) -> Result<brindle_ipam::Ipam, CniError> {
        Ok(brindle_ipam::Ipam::new(self.store.get()?))
    }
}

impl Ipam for BrindleIpam<'_> {
    fn assign(&mut self) -> Result<CniResult, CniError> {
        let ipam = self.open()?;
        let req = AssignRequest {
            handle: self.handle.clone(),
            node: self.node.clone(),
            num_v4: u32::from(self.conf.assign_ipv4),
            num_v6: u32::from(self.conf.assign_ipv6),
            v4_pools: self.conf.ipv4_pools.clone(),
            v6_pools: self.conf.ipv6_pools.clone(),
            attributes: self.attributes.clone(),
            use_: None,
        };
        let what = format!(
            "assigning addresses to {} on node {}",
            self.handle, self.node
        );
        let got = ipam
            .assign(&req)
            .map_err(|e| ipam_error(self.store, &what, e))?;
        let ips = got
            .ipv4
            .iter()
            .chain(&got.ipv6)
            .map(|a| IpConfig {
                addr: a.ip,
                prefix_len: if a.ip.is_ipv4() { 32 } else { 128 },
                gateway: None,
                interface: None,
            })
            .collect();
        Ok(CniResult {
            ips,
            ..CniResult::default()
        })
    }

    fn release(&mut self) -> Result<(), CniError> {
        let ipam = self.open()?;
        let what = format!("releasing {}", self.handle);
        ipam.release_handle(&self.handle)
            .map(drop)
            .map_err(|e| ipam_error(self.store, &what, e))
    }

    fn check(&mut self) -> Result<(), CniError> {
        let ipam = self.open()?;
        let what = format!("reading the addresses of {}", self.handle);
        let held: Vec<IpAddr> = ipam
            .handle_allocations(&self.handle)
            .map_err(|e| ipam_error(self.store, &what, e))?
            .into_iter()
            .map(|a| a.ip)
            .collect();
        if held.is_empty() {
            return Err(CniError::new(
                ERR_CHECK,
                format!("brindle-ipam: {} holds no address", self.handle),
            ));
        }
        if let Some(missing) = self.expected.iter().find(|ip| !held.contains(ip)) {
            return Err(CniError::new(
                ERR_CHECK,
                format!(
                    "brindle-ipam: {missing} is not allocated to {} (it holds {})",
                    self.handle,
                    held.iter()
                        .map(IpAddr::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(())
    }

    fn gc(&mut self, valid: &[Attachment]) -> Result<(), CniError> {
        let ipam = self.open()?;
        let keep: BTreeSet<String> = valid
            .iter()
            .map(|a| handle_id(&self.network, &a.container_id))
            .collect();
        ipam.release_handles_except(&self.network, &keep)
            .map(drop)
            .map_err(|e| ipam_error(self.store, "garbage collection", e))
    }

    fn status(&mut self) -> Result<(), CniError> {
        let unavailable = |e: CniError| CniError {
            code: ERR_NOT_AVAILABLE,
            ..e
        };
        let ipam = self.open().map_err(unavailable)?;
        let usage = ipam
            .pool_usage()
            .map_err(|e| unavailable(ipam_error(self.store, "reading the IP pools", e)))?;
        let wanted = |c: &brindle_api::net::Cidr| {
            let v4 = Family::of_cidr(c) == Family::V4;
            (v4 && self.conf.assign_ipv4) || (!v4 && self.conf.assign_ipv6)
        };
        if usage.iter().any(|p| wanted(&p.cidr) && p.free > 0) {
            return Ok(());
        }
        Err(CniError::new(
            ERR_NOT_AVAILABLE,
            format!(
                "brindle-ipam: no IP pool in {} has a free address ({} pools)",
                self.store.describe(),
                usage.len()
            ),
        ))
    }
}

/// The valid attachments of a GC request (`cni.dev/valid-attachments`).
pub fn valid_attachments(raw: &Value) -> Vec<Attachment> {
    raw.get("cni.dev/valid-attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    Some(Attachment {
                        container_id: v.get("containerID")?.as_str()?.to_string(),
                        ifname: v.get("ifname")?.as_str()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}
