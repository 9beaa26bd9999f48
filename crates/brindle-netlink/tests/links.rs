//! Interfaces, addresses and sysctls through brindle-netlink, in throw-away network namespaces,
//! checked with `ip` as a user would. Needs root; the machine's own interfaces are never
//! touched (every handle is opened with `Netlink::open_in`, sysctls set with `sysctl::set_in`).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::IpAddr;

use brindle_netlink::{Address, LinkChange, MacAddr, Netlink, SCOPE_LINK, Veth, sysctl};
use support::TestNs;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn veth_with_its_peer_in_another_namespace() {
    require_root!();
    let host = TestNs::new("lh");
    let pod = TestNs::new("lp");
    let mut nl = Netlink::open_in(&host.path()).unwrap();
    let mut pnl = Netlink::open_in(&pod.path()).unwrap();
    let mac = MacAddr([0xee; 6]);
    let veth = Veth::new("calitest0", "eth0")
        .with_mac(mac)
        .with_mtu(1440)
        .peer_in(pod.path());
    let index = nl.create_veth(&veth).unwrap();
    // The peer is in the pod's namespace only, named as asked.
    assert!(nl.link_by_name("eth0").unwrap().is_none());
    let peer = pnl.link_by_name("eth0").unwrap().unwrap();
    assert_eq!((peer.mtu, peer.kind.as_deref()), (1440, Some("veth")));
    assert_eq!(peer.link, Some(index), "a veth links to its peer's index");
    let link = nl.link_by_index(index).unwrap().unwrap();
    assert_eq!(link.name, "calitest0");
    assert_eq!((link.mac, link.mtu, link.is_up()), (Some(mac), 1440, false));
    assert!(nl.links().unwrap().iter().any(|l| l.name == "calitest0"));

    // Up, MTU and MAC changes show in `ip link`.
    nl.set_link(
        index,
        &LinkChange {
            up: Some(true),
            mtu: Some(1400),
            mac: Some(MacAddr([0xee, 0xee, 0xee, 0xee, 0xee, 0x01])),
        },
    )
    .unwrap();
    let shown = host.ip(&["link", "show", "calitest0"]);
    assert!(shown.contains("mtu 1400"), "{shown}");
    assert!(shown.contains("ee:ee:ee:ee:ee:01"), "{shown}");
    assert!(shown.contains("MULTICAST,UP>"), "{shown}");
    nl.set_up(index, false).unwrap();
    assert!(!nl.link_by_index(index).unwrap().unwrap().is_up());

    // Deleting one end takes the other with it; deleting again says "not there".
    assert!(nl.delete_link(index).unwrap());
    assert!(pnl.link_by_name("eth0").unwrap().is_none());
    assert!(!nl.delete_link(index).unwrap());
    assert!(!nl.delete_link_by_name("calitest0").unwrap());
    assert!(nl.link_by_index(index).unwrap().is_none());
    let e = nl.link_index("calitest0").unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(
        e.to_string(),
        "looking up interface calitest0: No such device"
    );
}

#[test]
fn existing_name_and_bad_names_are_errors() {
    require_root!();
    let ns = TestNs::new("lx");
    let mut nl = Netlink::open_in(&ns.path()).unwrap();
    let e = nl.create_veth(&Veth::new("v0", "vx")).unwrap_err();
    assert!(e.already_exists(), "{e}");
    let e = nl
        .create_veth(&Veth::new("name-too-long-for-linux", "vx"))
        .unwrap_err();
    assert!(e.to_string().contains("1 to 15 bytes"), "{e}");
    let e = nl
        .create_veth(&Veth::new("vy", "vx").peer_in("/run/netns/brnl-no-such-ns"))
        .unwrap_err();
    assert!(e.to_string().contains("No such file"), "{e}");
    assert!(
        nl.link_by_name("vy").unwrap().is_none(),
        "nothing half made"
    );
}

#[test]
fn addresses_added_listed_and_deleted() {
    require_root!();
    let ns = TestNs::new("la");
    let mut nl = Netlink::open_in(&ns.path()).unwrap();
    let v1 = nl.link_index("v1").unwrap();
    let a4 = Address::host(v1, ip("10.244.0.5"));
    let a6 = Address::host(v1, ip("fd00:1::5")).nodad();
    nl.add_address(&a4).unwrap();
    nl.add_address(&a6).unwrap();
    assert!(nl.add_address(&a4).unwrap_err().already_exists());
    let shown = ns.ip(&["addr", "show", "dev", "v1"]);
    assert!(
        shown.contains("inet 10.244.0.5/32 scope global v1"),
        "{shown}"
    );
    assert!(
        shown.contains("inet6 fd00:1::5/128 scope global nodad"),
        "{shown}"
    );
    let listed = nl.addresses(Some(v1)).unwrap();
    let found = |a: &Address| {
        listed
            .iter()
            .any(|l| l.addr == a.addr && l.prefix_len == a.prefix_len)
    };
    assert!(found(&a4) && found(&a6), "{listed:?}");
    assert!(listed.iter().all(|l| l.ifindex == v1));
    // The kernel gives an interface that is up a link-local address; with DAD off at once.
    let v0 = nl.link_index("v0").unwrap();
    let ll = nl.addresses(Some(v0)).unwrap();
    assert!(ll.iter().any(|a| a.scope == SCOPE_LINK), "{ll:?}");
    assert!(nl.delete_address(&a4).unwrap());
    assert!(!nl.delete_address(&a4).unwrap(), "gone");
    assert!(nl.delete_address(&a6).unwrap());
    assert!(!ns.ip(&["addr", "show", "dev", "v1"]).contains("10.244.0.5"));
}

#[test]
fn ipv6_link_local_once_usable() {
    require_root!();
    let ns = TestNs::new("ll");
    let mut nl = Netlink::open_in(&ns.path()).unwrap();
    let veth = Veth::new("llA", "llB").with_mac(MacAddr([0xee; 6]));
    let a = nl.create_veth(&veth).unwrap();
    let b = nl.link_index("llB").unwrap();
    sysctl::set_in(
        &ns.path(),
        &[(
            sysctl::interface_key("ipv6", "conf", "llA", "accept_dad"),
            "0".into(),
        )],
    )
    .unwrap();
    nl.set_up(b, true).unwrap();
    nl.set_up(a, true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let ll = loop {
        if let Some(ll) = nl.ipv6_link_local(a).unwrap() {
            break ll;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no link-local address"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // EUI-64 of ee:ee:ee:ee:ee:ee.
    assert_eq!(
        ll,
        "fe80::ecee:eeff:feee:eeee"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
    );
}

#[test]
fn sysctls_are_set_in_the_namespace_asked() {
    require_root!();
    let ns = TestNs::new("sy");
    let key = sysctl::interface_key("ipv4", "conf", "v0", "proxy_arp");
    let delay = sysctl::interface_key("ipv4", "neigh", "v0", "proxy_delay");
    sysctl::set_in(
        &ns.path(),
        &[(key.clone(), "1".into()), (delay, "0".into())],
    )
    .unwrap();
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "cat",
            "/proc/sys/net/ipv4/conf/v0/proxy_arp",
            "/proc/sys/net/ipv4/neigh/v0/proxy_delay",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n0\n");
    // This process's namespace has no v0 (or, if it had one, it is not the test's).
    let e = sysctl::set_in(
        &ns.path(),
        &[(
            sysctl::interface_key("ipv4", "conf", "nope0", "proxy_arp"),
            "1".into(),
        )],
    )
    .unwrap_err();
    assert!(e.to_string().contains("No such file"), "{e}");
    assert!(sysctl::set("kernel/hostname", "x").is_err());
}
