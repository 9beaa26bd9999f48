//! Address management behind one seam, [`Ipam`]: either another IPAM plugin run as the spec
//! says ([`Delegate`], e.g. the reference `host-local`), or brindle's own datastore IPAM
//! ([`BrindleIpam`]), whose library (crates/brindle-ipam) plugs in here.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};

use serde_json::Value;

use crate::config::NetConf;
use crate::result::CniResult;
use crate::spec::{
    CniEnv, CniError, Command, ERR_INCOMPATIBLE_VERSION, ERR_INVALID_ENV, ERR_IPAM,
    ERR_NOT_AVAILABLE, Version,
};

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
                crate::spec::ERR_INVALID_CONFIG,
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
        if let Some(mut s) = child.stdin.take() {
            s.write_all(&input)
                .map_err(|e| fail(format!("writing its stdin: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("waiting for it: {e}")))?;
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

/// brindle's own IPAM over the datastore (pools, affine blocks, handles
/// `<network>.<containerID>`).
///
/// TODO(issue 4): the allocator lives in crates/brindle-ipam, written concurrently; until it
/// is plugged in here every operation reports that it is not available, so a configuration
/// with `"ipam": {"type": "brindle-ipam"}` fails cleanly (nothing is created).
pub struct BrindleIpam {
    /// The attachment's handle.
    pub handle: String,
}

impl BrindleIpam {
    fn unavailable(&self) -> CniError {
        CniError::new(
            ERR_NOT_AVAILABLE,
            format!(
                "brindle-ipam: the datastore allocator is not built into this binary yet (handle {})",
                self.handle
            ),
        )
    }
}

impl Ipam for BrindleIpam {
    fn assign(&mut self) -> Result<CniResult, CniError> {
        Err(self.unavailable())
    }

    fn release(&mut self) -> Result<(), CniError> {
        Err(self.unavailable())
    }

    fn check(&mut self) -> Result<(), CniError> {
        Err(self.unavailable())
    }

    fn gc(&mut self, _valid: &[Attachment]) -> Result<(), CniError> {
        Err(self.unavailable())
    }

    fn status(&mut self) -> Result<(), CniError> {
        Err(self.unavailable())
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
