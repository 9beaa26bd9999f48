//! What the three daemon drivers have in common: the [`BgpDaemon`] trait with its waiting
//! helpers, and the instance directory each daemon keeps its files in.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::prefix::IpPrefix;
use crate::route::{RouteInfo, describe_routes};
use crate::wait::wait_for;

/// How long a daemon gets to answer on its control channel after being started.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How many log lines error messages carry.
pub const LOG_TAIL_LINES: usize = 40;

/// The canonical session state names (RFC 4271 section 8.2.2), as the drivers report them.
pub const ESTABLISHED: &str = "Established";

/// A BGP daemon running in a lab host, queried through its own CLI.
pub trait BgpDaemon {
    /// A short description for messages, e.g. `bird on brl3fa2-a`.
    fn describe(&self) -> String;

    /// Whether the daemon process(es) still run.
    fn is_running(&self) -> bool;

    /// The last lines of the daemon's logs (its own log file and its stdout/stderr).
    fn log_tail(&self, lines: usize) -> String;

    /// The session state with the neighbor at `neighbor`: `Idle`, `Connect`, `Active`,
    /// `OpenSent`, `OpenConfirm` or `Established` (other daemon-specific words pass through).
    fn session_state(&self, neighbor: IpAddr) -> Result<String>;

    /// Every path in the daemon's IPv4 and IPv6 unicast RIBs, its own originated routes
    /// included.
    fn routes(&self) -> Result<Vec<RouteInfo>>;

    /// All paths for exactly `prefix`, with every attribute the daemon shows (originator id,
    /// cluster list...).
    fn route(&self, prefix: IpPrefix) -> Result<Vec<RouteInfo>> {
        Ok(self
            .routes()?
            .into_iter()
            .filter(|r| r.prefix == prefix)
            .collect())
    }

    /// Starts originating `prefix`.
    fn announce(&mut self, prefix: IpPrefix) -> Result<()>;

    /// Stops originating `prefix`.
    fn withdraw(&mut self, prefix: IpPrefix) -> Result<()>;

    /// Waits until the session with `neighbor` is Established; the error carries the last
    /// state seen and the log tail.
    fn wait_established(&self, neighbor: IpAddr, timeout: Duration) -> Result<()> {
        let mut last = String::from("(no answer)");
        let mut died = false;
        let ok = wait_for(timeout, || {
            if !self.is_running() {
                died = true;
                return Some(false);
            }
            match self.session_state(neighbor) {
                Ok(s) if s == ESTABLISHED => Some(true),
                Ok(s) => {
                    last = s;
                    None
                }
                Err(e) => {
                    last = e.to_string();
                    None
                }
            }
        });
        match ok {
            Some(true) => Ok(()),
            _ if died => Err(self.daemon_error("died while waiting for a session")),
            _ => Err(Error::Timeout {
                what: format!(
                    "{}: session with {neighbor} to be Established (last state: {last})",
                    self.describe()
                ),
                timeout,
                log_tail: self.log_tail(LOG_TAIL_LINES),
            }),
        }
    }

    /// Waits until the daemon has a best path for `prefix` that satisfies `accept`, and returns
    /// it; the error lists the RIB as last seen and the log tail.
    fn wait_route_where(
        &self,
        prefix: IpPrefix,
        timeout: Duration,
        accept: &dyn Fn(&RouteInfo) -> bool,
    ) -> Result<RouteInfo> {
        let mut last = String::from("(no answer)");
        let found = wait_for(timeout, || match self.route(prefix) {
            Ok(paths) => {
                let hit = paths.iter().find(|r| r.best && accept(r)).cloned();
                last = describe_routes(&paths);
                hit
            }
            Err(e) => {
                last = e.to_string();
                None
            }
        });
        found.ok_or_else(|| {
            let all = self.routes().map(|r| describe_routes(&r));
            Error::Timeout {
                what: format!(
                    "{}: a matching best path for {prefix}; paths for it:\n{last}\nwhole RIB:\n{}",
                    self.describe(),
                    all.unwrap_or_else(|e| e.to_string())
                ),
                timeout,
                log_tail: self.log_tail(LOG_TAIL_LINES),
            }
        })
    }

    /// Waits until the daemon has a best path for `prefix`, and returns it.
    fn wait_route(&self, prefix: IpPrefix, timeout: Duration) -> Result<RouteInfo> {
        self.wait_route_where(prefix, timeout, &|_| true)
    }

    /// Waits until the daemon has no path at all for `prefix`.
    fn wait_no_route(&self, prefix: IpPrefix, timeout: Duration) -> Result<()> {
        let mut last = String::from("(no answer)");
        let gone = wait_for(timeout, || match self.route(prefix) {
            Ok(paths) if paths.is_empty() => Some(()),
            Ok(paths) => {
                last = format!("still there:\n{}", describe_routes(&paths));
                None
            }
            Err(e) => {
                last = e.to_string();
                None
            }
        });
        gone.ok_or_else(|| Error::Timeout {
            what: format!("{}: {prefix} to be withdrawn; {last}", self.describe()),
            timeout,
            log_tail: self.log_tail(LOG_TAIL_LINES),
        })
    }

    /// An [`Error::Daemon`] about this daemon, with its log tail.
    fn daemon_error(&self, message: &str) -> Error {
        Error::Daemon {
            daemon: self.describe(),
            message: message.to_string(),
            log_tail: self.log_tail(LOG_TAIL_LINES),
        }
    }
}

/// Creates `<host dir>/<kind>-<n>`, a directory of its own for one daemon instance (so several
/// can run in one host), readable by daemons that drop privileges.
pub(crate) fn instance_dir(host: &Host, kind: &str) -> Result<(PathBuf, u16)> {
    let n = host.lab().alloc_port();
    let dir = host.dir().join(format!("{kind}-{n}"));
    std::fs::create_dir(&dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(format!("cannot chmod {}", dir.display()), e))?;
    Ok((dir, n))
}

/// Writes a daemon's config file.
pub(crate) fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Joins labelled log tails, skipping empty ones.
pub(crate) fn join_tails(parts: &[(&str, String)]) -> String {
    parts
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(label, t)| format!("[{label}]\n{t}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses an AS path as daemons print it ("65001 65002 {65003,65004}"), flattening sets.
pub(crate) fn parse_as_path(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect()
}
