//! Where addresses come from: affine blocks, new blocks, borrowing, limits, pools, families.

use brindle_api::resources::ip_pool::{AllowedUse, AssignmentMode};
use brindle_ipam::{AssignRequest, CheckOptions, Family, IpamError, TunnelKind};

use super::{Env, v4};

/// Without strictAffinity a node whose blocks are full and that may not claim another borrows
/// from another node's block; with strictAffinity it gets the error instead.
pub fn borrowing_when_not_strict(env: &Env) {
    env.pool("pool", "10.1.0.0/24", 26, |_| {});
    env.nodes(&["node1", "node2"]);
    env.ipam_config(false, 1);
    let ipam = env.ipam();
    let first = ipam.assign(&v4("net.a0", "node1")).unwrap().ipv4[0].clone();
    assert_eq!(first.block.to_string(), "10.1.0.0/26");
    assert!(!first.borrowed);
    for i in 1..64 {
        let a = ipam.assign(&v4(&format!("net.a{i}"), "node1")).unwrap();
        assert_eq!(a.ipv4[0].block, first.block);
    }
    let n2 = ipam.assign(&v4("net.b0", "node2")).unwrap().ipv4[0].clone();
    assert_eq!(n2.block.to_string(), "10.1.0.64/26");
    // node1's block is full and maxBlocksPerHost is 1: it borrows from node2's block.
    let borrowed = ipam.assign(&v4("net.a64", "node1")).unwrap().ipv4[0].clone();
    assert!(borrowed.borrowed);
    assert_eq!(borrowed.block, n2.block);
    let listed = ipam.borrowed().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].ip, borrowed.ip);
    assert_eq!(listed[0].node.as_deref(), Some("node1"));
    assert_eq!(listed[0].block_affinity.as_deref(), Some("node2"));
    // Strict: no borrowing.
    env.ipam_config(true, 1);
    let err = ipam.assign(&v4("net.a65", "node1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no IP pool with room for IPv4 on node node1: pools 10.1.0.0/24 (node has 1 blocks, \
         maxBlocksPerHost 1, strictAffinity)"
    );
    assert!(
        ipam.lookup("10.1.0.66".parse().unwrap())
            .unwrap()
            .handle
            .is_none()
    );
}

/// A full pool gives the error naming it, and leaves nothing half-assigned.
pub fn pool_exhaustion(env: &Env) {
    env.pool("small", "10.2.0.0/26", 28, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let mut req = v4("net.all", "node1");
    req.num_v4 = 64;
    let all = ipam.assign(&req).unwrap();
    assert_eq!(all.ipv4.len(), 64);
    let err = ipam.assign(&v4("net.one-more", "node1")).unwrap_err();
    assert!(matches!(err, IpamError::NoRoom { .. }));
    assert_eq!(
        err.to_string(),
        "no IP pool with room for IPv4 on node node1: pools 10.2.0.0/26 (full)"
    );
    // Asking for more than is left assigns nothing.
    assert_eq!(ipam.release_handle("net.all").unwrap(), 64);
    req.handle = "net.too-many".into();
    req.num_v4 = 65;
    assert!(ipam.assign(&req).is_err());
    assert_eq!(ipam.pool_usage().unwrap()[0].in_use, 0);
    assert!(ipam.handle_allocations("net.too-many").unwrap().is_empty());
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
}

/// maxBlocksPerHost caps the blocks a node claims.
pub fn max_blocks_per_host(env: &Env) {
    env.pool("pool", "10.4.0.0/24", 28, |_| {});
    env.nodes(&["node1"]);
    env.ipam_config(true, 2);
    let ipam = env.ipam();
    let mut req = v4("net.x", "node1");
    req.num_v4 = 32;
    let got = ipam.assign(&req).unwrap();
    let blocks: std::collections::BTreeSet<_> = got.ipv4.iter().map(|a| a.block).collect();
    assert_eq!(blocks.len(), 2);
    let err = ipam.assign(&v4("net.y", "node1")).unwrap_err();
    assert!(err.to_string().contains("maxBlocksPerHost 2"), "{err}");
    assert_eq!(ipam.block_usage().unwrap().len(), 2);
}

/// Both families in one call; when the second fails the first is released and the error
/// names the family.
pub fn dual_stack_rollback(env: &Env) {
    env.pool("v4", "10.5.0.0/24", 26, |_| {});
    env.pool("v6", "fd00:5::/122", 122, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let both = AssignRequest {
        handle: "net.dual".into(),
        node: "node1".into(),
        num_v4: 1,
        num_v6: 1,
        ..Default::default()
    };
    let got = ipam.assign(&both).unwrap();
    assert_eq!(got.ipv4[0].ip.to_string(), "10.5.0.0");
    assert_eq!(got.ipv6[0].ip.to_string(), "fd00:5::");
    assert_eq!(ipam.handle_allocations("net.dual").unwrap().len(), 2);
    // Fill the IPv6 pool.
    let fill = AssignRequest {
        handle: "net.fill".into(),
        node: "node1".into(),
        num_v6: 63,
        ..Default::default()
    };
    ipam.assign(&fill).unwrap();
    let second = AssignRequest {
        handle: "net.dual2".into(),
        ..both.clone()
    };
    let err = ipam.assign(&second).unwrap_err();
    assert!(matches!(
        err,
        IpamError::Family {
            family: Family::V6,
            rolled_back: true,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "IPv6: no IP pool with room for IPv6 on node node1: pools fd00:5::/122 (full) \
         (the addresses assigned for the other family were released)"
    );
    assert!(ipam.handle_allocations("net.dual2").unwrap().is_empty());
    let v4_usage = ipam.pool_usage().unwrap();
    assert_eq!(
        v4_usage[0].in_use, 1,
        "only net.dual's IPv4 address is left"
    );
    let report = ipam
        .check(&CheckOptions {
            workload_endpoints: false,
            live_handles: Some(["net.dual".into(), "net.fill".into()].into()),
        })
        .unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
}

/// nodeSelector, disabled, assignmentMode and explicit pool lists.
pub fn pool_selection(env: &Env) {
    env.pool("rack1", "10.6.0.0/24", 26, |s| {
        s.node_selector = Some("rack == \"1\"".into())
    });
    env.pool("rack2", "10.6.1.0/24", 26, |s| {
        s.node_selector = Some("rack == \"2\"".into())
    });
    env.pool("off", "10.6.2.0/24", 26, |s| s.disabled = Some(true));
    env.pool("manual", "10.6.3.0/24", 26, |s| {
        s.assignment_mode = Some(AssignmentMode::Manual)
    });
    env.node("node1", &[("rack", "1")]);
    env.node("node2", &[("rack", "2")]);
    env.node("node3", &[("rack", "3")]);
    let ipam = env.ipam();
    let a = ipam.assign(&v4("net.1", "node1")).unwrap();
    assert_eq!(a.ipv4[0].pool, "rack1");
    let a = ipam.assign(&v4("net.2", "node2")).unwrap();
    assert_eq!(a.ipv4[0].pool, "rack2");
    let err = ipam.assign(&v4("net.3", "node3")).unwrap_err();
    assert!(matches!(err, IpamError::NoPool { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("no IP pool for IPv4 on node node3: pools 10.6.0.0/24 (nodeSelector"),
        "{err}"
    );
    let mut req = v4("net.4", "node3");
    req.v4_pools = vec!["10.6.3.0/24".into()];
    assert_eq!(ipam.assign(&req).unwrap().ipv4[0].pool, "manual");
    req.handle = "net.5".into();
    req.v4_pools = vec!["off".into()];
    assert_eq!(
        ipam.assign(&req).unwrap_err().to_string(),
        "IP pool \"off\": (10.6.2.0/24) is disabled"
    );
    req.v4_pools = vec!["nope".into()];
    assert_eq!(
        ipam.assign(&req).unwrap_err().to_string(),
        "IP pool \"nope\": does not exist"
    );
    let empty = AssignRequest {
        node: "node1".into(),
        num_v4: 1,
        ..Default::default()
    };
    assert!(matches!(ipam.assign(&empty), Err(IpamError::Invalid(_))));
}

/// Tunnel addresses come only from pools allowing Tunnel, once per node and kind.
pub fn tunnel_addresses(env: &Env) {
    env.pool("pods", "10.7.0.0/24", 26, |s| {
        s.allowed_uses = Some(vec![AllowedUse::Workload])
    });
    env.pool("tunnels", "10.7.1.0/24", 26, |s| {
        s.allowed_uses = Some(vec![AllowedUse::Tunnel])
    });
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let t = ipam
        .assign_tunnel("node1", Family::V4, TunnelKind::Vxlan, &[])
        .unwrap();
    assert_eq!(t.pool, "tunnels");
    let again = ipam
        .assign_tunnel("node1", Family::V4, TunnelKind::Vxlan, &[])
        .unwrap();
    assert_eq!(again.ip, t.ip);
    let pod = ipam.assign(&v4("net.p", "node1")).unwrap();
    assert_eq!(pod.ipv4[0].pool, "pods");
    let info = ipam.lookup(t.ip).unwrap();
    assert_eq!(info.handle.as_deref(), Some("vxlan-tunnel-addr-node1"));
    assert_eq!(
        info.attributes.get("type").map(String::as_str),
        Some("vxlanTunnelAddress")
    );
    // A tunnel address of an existing node is in use; the pod without workload is not.
    let report = ipam.check(&CheckOptions::default()).unwrap();
    let leaked: Vec<_> = report.leaked_allocations.iter().map(|l| l.ip).collect();
    assert_eq!(leaked, vec![pod.ipv4[0].ip]);
    assert_eq!(
        ipam.release_tunnel("node1", Family::V4, TunnelKind::Vxlan)
            .unwrap(),
        1
    );
    assert_eq!(
        ipam.release_tunnel("node1", Family::V4, TunnelKind::Vxlan)
            .unwrap(),
        0
    );
    assert!(matches!(
        ipam.assign_tunnel("node1", Family::V6, TunnelKind::Vxlan, &[]),
        Err(IpamError::NoPool { .. })
    ));
}
