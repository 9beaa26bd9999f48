//! [`Host`]: one network namespace of a lab, with commands run inside it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::lab::{BRIDGE, LabInner};
use crate::names;
use crate::prefix::{Family, IpPrefix};
use crate::process::{self, COMMAND_TIMEOUT, LabProcess, command_line, run_ok};
use crate::route::KernelRoute;

/// Prefix length of the lab subnet's IPv4 addresses.
pub const IPV4_PREFIX_LEN: u8 = 24;
/// Prefix length of the lab subnet's IPv6 addresses.
pub const IPV6_PREFIX_LEN: u8 = 64;

/// A host of a lab: a network namespace whose `eth0` is attached to the lab's bridge.
///
/// Cheap to clone; every clone refers to the same namespace. Everything runs through
/// `ip netns exec <ns> ...`, never in the machine's own namespace.
#[derive(Debug, Clone)]
pub struct Host {
    lab: Arc<LabInner>,
    name: String,
    ns: String,
    ipv4: Ipv4Addr,
    ipv6: Ipv6Addr,
    dir: PathBuf,
}

impl Host {
    /// Creates the namespace and its wiring. The namespace is already registered with the lab,
    /// so a failure half way is cleaned up by the lab's teardown.
    pub(crate) fn create(lab: Arc<LabInner>, name: &str, ns: &str, index: u8) -> Result<Host> {
        let sw = lab.switch_ns.clone();
        let port = format!("p-{name}");
        let v4 = names::ipv4_subnet(lab.id).octets();
        let ipv4 = Ipv4Addr::new(v4[0], v4[1], v4[2], index);
        let ipv6 = Ipv6Addr::from(u128::from(names::ipv6_subnet(lab.id)) | u128::from(index));
        let dir = lab.dir.join(name);
        std::fs::create_dir(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("cannot chmod {}", dir.display()), e))?;

        run_ok("ip", &["netns", "add", ns])?;
        // The veth is created inside the switch namespace, its peer moved straight into the
        // host's: neither end ever exists in the machine's own namespace.
        run_ok(
            "ip",
            &[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                ns,
            ],
        )?;
        run_ok(
            "ip",
            &["-n", &sw, "link", "set", &port, "master", BRIDGE, "up"],
        )?;
        // No duplicate address detection: addresses (link-local included) are usable at once.
        run_ok(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.eth0.accept_dad=0",
            ],
        )?;
        run_ok("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        run_ok("ip", &["-n", ns, "link", "set", "eth0", "up"])?;
        let a4 = format!("{ipv4}/{IPV4_PREFIX_LEN}");
        let a6 = format!("{ipv6}/{IPV6_PREFIX_LEN}");
        run_ok("ip", &["-n", ns, "addr", "add", &a4, "dev", "eth0"])?;
        run_ok(
            "ip",
            &["-n", ns, "addr", "add", &a6, "dev", "eth0", "nodad"],
        )?;
        Ok(Host {
            lab,
            name: name.to_string(),
            ns: ns.to_string(),
            ipv4,
            ipv6,
            dir,
        })
    }

    /// The host's short name (as given to [`crate::Lab::add_host`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The network namespace's name (`<lab>-<host>`).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The namespace's bind mount (`/run/netns/<ns>`): open it and `setns(2)` a thread into
    /// it to run an in-process speaker inside the host (or use [`Host::spawn`] for a binary).
    pub fn netns_path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.ns)
    }

    /// The address of `eth0` in the lab's IPv4 subnet.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.ipv4
    }

    /// The address of `eth0` in the lab's IPv6 subnet.
    pub fn ipv6(&self) -> Ipv6Addr {
        self.ipv6
    }

    /// The host's `eth0` address of a family.
    pub fn ip(&self, family: Family) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(self.ipv4),
            Family::V6 => IpAddr::V6(self.ipv6),
        }
    }

    /// This host's directory inside the lab's temp dir (for configs, sockets and logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The name of the lab this host belongs to.
    pub fn lab_name(&self) -> &str {
        &self.lab.name
    }

    pub(crate) fn lab(&self) -> &Arc<LabInner> {
        &self.lab
    }

    fn netns_args<'a>(&'a self, program: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["netns", "exec", self.ns.as_str(), program];
        all.extend_from_slice(args);
        all
    }

    /// Runs a command in the namespace and returns its output, whatever its exit status (it is
    /// killed after 15 s). Errors only when it cannot be started or times out.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        process::run("ip", &self.netns_args(program, args), COMMAND_TIMEOUT)
    }

    /// Runs a command in the namespace; returns its stdout, or an error with its stderr when it
    /// exits unsuccessfully.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        run_ok("ip", &self.netns_args(program, args))
    }

    /// Starts a long-running process in the namespace, in a process group of its own, with
    /// stdout and stderr appended to `<host dir>/<log_name>`. The lab stops it at the latest
    /// when it is dropped; dropping the returned handle stops it earlier.
    pub fn spawn(&self, program: &str, args: &[&str], log_name: &str) -> Result<LabProcess> {
        let full = self.netns_args(program, args);
        let log = self.dir.join(log_name);
        let pid = self.lab.processes.spawn("ip", &full, &log)?;
        Ok(LabProcess::new(
            Arc::clone(&self.lab.processes),
            pid,
            command_line("ip", &full),
            log,
        ))
    }

    /// Adds an address to `lo`, e.g. a service VIP: `"192.0.2.10/32"` or `"2001:db8::10/128"`.
    pub fn add_loopback_addr(&self, prefix: &str) -> Result<()> {
        let (addr, _) = prefix.split_once('/').unwrap_or((prefix, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| Error::invalid("address", format!("{prefix:?}")))?;
        let mut args = vec!["-n", self.ns.as_str(), "addr", "add", prefix, "dev", "lo"];
        if addr.is_ipv6() {
            args.push("nodad");
        }
        run_ok("ip", &args).map(drop)
    }

    /// The main routing table of a family, parsed from `ip -j route`.
    pub fn routes(&self, family: Family) -> Result<Vec<KernelRoute>> {
        let args = [
            "-n",
            self.ns.as_str(),
            "-j",
            family.ip_flag(),
            "route",
            "show",
        ];
        let out = run_ok("ip", &args)?;
        KernelRoute::parse_json(&out, family).map_err(|e| match e {
            Error::Parse { detail, .. } => Error::parse(command_line("ip", &args), detail),
            other => other,
        })
    }

    /// The kernel route for exactly `prefix`, if there is one.
    pub fn route(&self, prefix: IpPrefix) -> Result<Option<KernelRoute>> {
        Ok(self
            .routes(prefix.family())?
            .into_iter()
            .find(|r| r.dst == prefix))
    }

    /// Whether one ICMP echo to `addr` is answered within a second.
    pub fn ping(&self, addr: IpAddr) -> bool {
        let addr = addr.to_string();
        self.exec("ping", &["-n", "-q", "-c", "1", "-W", "1", &addr])
            .is_ok_and(|o| o.status.success())
    }

    /// Sets a sysctl inside the namespace, e.g. `("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.run("sysctl", &["-qw", &format!("{key}={value}")])
            .map(drop)
    }

    /// Brings `eth0` down or up (to cut a host off the bridge, e.g. to test hold timers).
    pub fn set_link_up(&self, up: bool) -> Result<()> {
        let state = if up { "up" } else { "down" };
        run_ok(
            "ip",
            &["-n", self.ns.as_str(), "link", "set", "eth0", state],
        )
        .map(drop)
    }
}
