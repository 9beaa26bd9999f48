//! The data path of one pod, as Calico builds it: a veth whose host end (`cali…`, MAC
//! ee:ee:ee:ee:ee:ee, proxy ARP, no address) has a `/32 scope link` route per pod address, and
//! whose container end holds the addresses with a default route via 169.254.1.1 (IPv4) or the
//! host end's link-local address (IPv6).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brindle_netlink::{
    Address, Cidr, Error, LinkChange, MacAddr, Netlink, NextHop, RT_TABLE_MAIN, RTPROT_BRINDLE,
    Route, RouteFilter, Target, Veth, sysctl,
};

use crate::sha1;

/// The host end's MAC address: every host veth has it, so no pod ever re-learns it.
pub const HOST_MAC: MacAddr = MacAddr([0xee; 6]);
/// The IPv4 gateway every pod routes through, answered by the host end's proxy ARP.
pub const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// Route protocol of the routes inside the pod (`boot`, as `ip route add` files them).
const RTPROT_BOOT: u8 = 3;
/// Longest wait for the host end's IPv6 link-local address.
const LINK_LOCAL_WAIT: Duration = Duration::from_secs(5);

/// The host end's name: `prefix` + the first 11 hex digits of SHA-1(`workload`), where
/// `workload` is `<namespace>.<pod>` (or the container ID outside Kubernetes).
pub fn host_veth_name(prefix: &str, workload: &str) -> String {
    let hex = sha1::hex(workload.as_bytes());
    format!("{prefix}{}", &hex[..11])
}

/// One pod's data path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    /// The host end's name.
    pub host_veth: String,
    /// The pod's network namespace.
    pub netns: PathBuf,
    /// The container end's name (`CNI_IFNAME`).
    pub ifname: String,
    /// MTU of both ends.
    pub mtu: u32,
    /// The pod's addresses (each as /32 or /128).
    pub ips: Vec<IpAddr>,
}

/// What ADD made, for the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Made {
    /// The container end's MAC address.
    pub container_mac: Option<MacAddr>,
    /// The pod's IPv6 default gateway (the host end's link-local address), with IPv6.
    pub gateway_v6: Option<IpAddr>,
}

fn err(e: Error) -> String {
    e.to_string()
}

impl Pod {
    /// Builds the data path. On failure everything made is removed again (the veth; routes
    /// and addresses go with it) and the error says which step failed.
    pub fn add(&self) -> Result<Made, String> {
        let mut host = Netlink::open().map_err(err)?;
        // A host end left by an earlier, interrupted attempt for the same pod is replaced.
        host.delete_link_by_name(&self.host_veth).map_err(err)?;
        let veth = Veth {
            name: self.host_veth.clone(),
            mac: Some(HOST_MAC),
            mtu: Some(self.mtu),
            peer_name: self.ifname.clone(),
            peer_mac: None,
            peer_netns: Some(self.netns.clone()),
        };
        let index = match host.create_veth(&veth) {
            Ok(index) => index,
            Err(e) => {
                // Made but not found again, say: do not leave it behind.
                if !e.already_exists() {
                    let _ = host.delete_link_by_name(&self.host_veth);
                }
                return Err(err(e));
            }
        };
        match self.add_rest(&mut host, index) {
            Ok(made) => Ok(made),
            Err(e) => {
                // Undo: deleting the host end takes the container end and the routes along.
                let _ = host.delete_link(index);
                Err(e)
            }
        }
    }

    fn has_v4(&self) -> bool {
        self.ips.iter().any(IpAddr::is_ipv4)
    }

    fn has_v6(&self) -> bool {
        self.ips.iter().any(IpAddr::is_ipv6)
    }

    fn add_rest(&self, host: &mut Netlink, index: u32) -> Result<Made, String> {
        let hv = &self.host_veth;
        let key = |fam, table, name| sysctl::interface_key(fam, table, hv, name);
        let mut settings = Vec::new();
        if self.has_v4() {
            settings.push((key("ipv4", "conf", "proxy_arp"), "1"));
            settings.push((key("ipv4", "neigh", "proxy_delay"), "0"));
            settings.push((key("ipv4", "conf", "forwarding"), "1"));
        }
        if self.has_v6() {
            settings.push((key("ipv6", "conf", "disable_ipv6"), "0"));
            settings.push((key("ipv6", "conf", "accept_ra"), "0"));
            // The link-local address is the pod's gateway: usable at once, no DAD wait.
            settings.push((key("ipv6", "conf", "accept_dad"), "0"));
            settings.push((key("ipv6", "conf", "proxy_ndp"), "1"));
            settings.push((key("ipv6", "conf", "forwarding"), "1"));
        }
        // The host side is this process's own namespace.
        for (k, v) in &settings {
            sysctl::set(k, v).map_err(err)?;
        }

        let mut pod = Netlink::open_in(&self.netns).map_err(err)?;
        let eth = pod
            .link_by_name(&self.ifname)
            .map_err(err)?
            .ok_or_else(|| format!("{} did not appear in {}", self.ifname, self.netns.display()))?;
        pod.set_link(eth.index, &LinkChange::up(true))
            .map_err(err)?;
        host.set_up(index, true).map_err(err)?;
        for ip in &self.ips {
            let mut a = Address::host(eth.index, *ip);
            if ip.is_ipv6() {
                a = a.nodad();
            }
            pod.add_address(&a).map_err(err)?;
        }
        let mut gateway_v6 = None;
        if self.has_v4() {
            let gw = IpAddr::V4(GATEWAY_V4);
            pod.replace_route(&Route::device(Cidr::host(gw), eth.index).with_protocol(RTPROT_BOOT))
                .map_err(err)?;
            let default = Route::new(default_dst(true), vec![NextHop::via(gw).on(eth.index)])
                .with_protocol(RTPROT_BOOT);
            pod.replace_route(&default).map_err(err)?;
        }
        if self.has_v6() {
            let ll = wait_link_local(host, index)?;
            let default = Route::new(default_dst(false), vec![NextHop::via(ll).on(eth.index)])
                .with_protocol(RTPROT_BOOT);
            pod.replace_route(&default).map_err(err)?;
            gateway_v6 = Some(ll);
        }
        for ip in &self.ips {
            host.replace_route(&Route::device(Cidr::host(*ip), index))
                .map_err(err)?;
        }
        Ok(Made {
            container_mac: eth.mac,
            gateway_v6,
        })
    }
}

fn default_dst(v4: bool) -> Cidr {
    let any = if v4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    };
    Cidr::new(any, 0).unwrap_or(Cidr::host(any))
}

/// Polls for the host end's IPv6 link-local address (the kernel adds it once the link is up).
fn wait_link_local(host: &mut Netlink, index: u32) -> Result<IpAddr, String> {
    let deadline = Instant::now() + LINK_LOCAL_WAIT;
    loop {
        if let Some(ll) = host.ipv6_link_local(index).map_err(err)? {
            return Ok(IpAddr::V6(ll));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the host interface #{index} has no IPv6 link-local address after {LINK_LOCAL_WAIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Removes a pod's data path: the host end (with its routes and the container end). Also
/// removes `ifname` from the pod's namespace when that still exists. Succeeds when there is
/// nothing left to remove.
pub fn del(host_veth: &str, netns: Option<&Path>, ifname: &str) -> Result<(), String> {
    let mut host = Netlink::open().map_err(err)?;
    host.delete_link_by_name(host_veth).map_err(err)?;
    if let Some(ns) = netns.filter(|p| p.exists()) {
        // A namespace path that cannot be opened any more is as good as gone.
        if let Ok(mut pod) = Netlink::open_in(ns) {
            pod.delete_link_by_name(ifname).map_err(err)?;
        }
    }
    Ok(())
}

/// Verifies a pod's data path against what ADD reported; the first difference is the error.
pub fn check(pod: &Pod) -> Result<(), String> {
    let mut host = Netlink::open().map_err(err)?;
    let hv = host
        .link_by_name(&pod.host_veth)
        .map_err(err)?
        .ok_or_else(|| format!("host interface {} is missing", pod.host_veth))?;
    if !hv.is_up() {
        return Err(format!("host interface {} is down", pod.host_veth));
    }
    let routes = host
        .routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))
        .map_err(err)?;
    for ip in &pod.ips {
        let want = Cidr::host(*ip);
        let found = routes.iter().any(|r| {
            r.dst == want
                && matches!(&r.target, Target::NextHops(h) if h.iter().any(|h| h.ifindex == Some(hv.index)))
        });
        if !found {
            return Err(format!(
                "host route {want} dev {} is missing",
                pod.host_veth
            ));
        }
    }
    let mut ns = Netlink::open_in(&pod.netns).map_err(err)?;
    let eth = ns
        .link_by_name(&pod.ifname)
        .map_err(err)?
        .ok_or_else(|| format!("{} is missing in {}", pod.ifname, pod.netns.display()))?;
    if !eth.is_up() {
        return Err(format!("{} in {} is down", pod.ifname, pod.netns.display()));
    }
    let addrs = ns.addresses(Some(eth.index)).map_err(err)?;
    for ip in &pod.ips {
        if !addrs.iter().any(|a| a.addr == *ip) {
            return Err(format!(
                "address {ip} is missing on {} in {}",
                pod.ifname,
                pod.netns.display()
            ));
        }
    }
    let pod_routes = ns.routes(&RouteFilter::default()).map_err(err)?;
    for v4 in [true, false] {
        if pod.ips.iter().any(|i| i.is_ipv4() == v4) {
            let dst = default_dst(v4);
            let found = pod_routes.iter().any(|r| {
                r.dst == dst && matches!(&r.target, Target::NextHops(h) if h.iter().any(|h| h.ifindex == Some(eth.index)))
            });
            if !found {
                return Err(format!(
                    "default route {dst} via {} is missing in {}",
                    pod.ifname,
                    pod.netns.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_veth_names_as_calico() {
        // Calico's name for pod default/nginx: "cali" + sha1("default.nginx")[..11].
        let name = host_veth_name("cali", "default.nginx");
        assert_eq!(name, format!("cali{}", &sha1::hex(b"default.nginx")[..11]));
        assert_eq!(name.len(), 15);
        assert_eq!(host_veth_name("br", "x").len(), 13);
    }
}
