//! Release by handle, by address (sequence-number guarded), and of a node's blocks.

use brindle_ipam::{CheckOptions, IpReleased, ReleaseIp};

use super::{Env, v4};

/// Releasing a handle twice, or one that never existed, succeeds and releases nothing more.
pub fn handle_release_idempotent(env: &Env) {
    env.pool("pool", "10.8.0.0/24", 26, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let mut req = v4("net.c1", "node1");
    req.num_v4 = 2;
    let got = ipam.assign(&req).unwrap();
    assert_eq!(ipam.handle_allocations("net.c1").unwrap().len(), 2);
    assert_eq!(ipam.release_handle("net.c1").unwrap(), 2);
    assert_eq!(ipam.release_handle("net.c1").unwrap(), 0);
    assert_eq!(ipam.release_handle("net.never").unwrap(), 0);
    assert!(!ipam.lookup(got.ipv4[0].ip).unwrap().allocated);
    // A handle that is not a valid resource name works the same.
    let odd = "Net.Container_ID/1";
    ipam.assign(&v4(odd, "node1")).unwrap();
    assert_eq!(ipam.release_handle(odd).unwrap(), 1);
    assert_eq!(ipam.release_handle(odd).unwrap(), 0);
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
}

/// An address released and handed out again is not released by a caller that still holds the
/// old allocation's sequence number.
pub fn aba_protection(env: &Env) {
    env.pool("tiny", "10.9.0.0/30", 30, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let mut olds = Vec::new();
    for i in 0..4 {
        olds.push(
            ipam.assign(&v4(&format!("net.old{i}"), "node1"))
                .unwrap()
                .ipv4[0]
                .clone(),
        );
    }
    let old = olds[0].clone();
    let stale = ReleaseIp {
        ip: old.ip,
        handle: None,
        sequence: Some(old.sequence),
    };
    assert_eq!(
        ipam.release_ips(std::slice::from_ref(&stale)).unwrap(),
        vec![IpReleased::Released {
            handle: Some("net.old0".into())
        }]
    );
    // The only free address is handed out again.
    let new = ipam.assign(&v4("net.new", "node1")).unwrap().ipv4[0].clone();
    assert_eq!(new.ip, old.ip);
    assert_ne!(new.sequence, old.sequence);
    // The stale release (same address, old sequence number) leaves it alone.
    assert_eq!(
        ipam.release_ips(&[stale]).unwrap(),
        vec![IpReleased::Reused]
    );
    let by_old_handle = ReleaseIp {
        ip: old.ip,
        handle: Some("net.old0".into()),
        sequence: None,
    };
    assert_eq!(
        ipam.release_ips(&[by_old_handle]).unwrap(),
        vec![IpReleased::OtherHandle]
    );
    assert_eq!(ipam.release_handle("net.old0").unwrap(), 0);
    let info = ipam.lookup(old.ip).unwrap();
    assert_eq!(info.handle.as_deref(), Some("net.new"));
    // Releasing the current holder's allocation by address works and updates its handle.
    let current = ReleaseIp {
        ip: new.ip,
        handle: None,
        sequence: Some(new.sequence),
    };
    assert!(matches!(
        ipam.release_ips(&[current]).unwrap()[0],
        IpReleased::Released { .. }
    ));
    assert!(ipam.handle_allocations("net.new").unwrap().is_empty());
    assert!(
        ipam.release_ips(&[ReleaseIp::any("10.99.0.1".parse().unwrap())])
            .is_err()
    );
}

/// A node's empty blocks go with their affinities; blocks in use stay (or lose their
/// affinity with force).
pub fn node_block_release(env: &Env) {
    env.pool("pool", "10.11.0.0/24", 28, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let mut req = v4("net.a", "node1");
    req.num_v4 = 17; // two blocks
    ipam.assign(&req).unwrap();
    let keep = ipam.assign(&v4("net.b", "node1")).unwrap().ipv4[0].clone();
    assert_eq!(ipam.release_handle("net.a").unwrap(), 17);
    let r = ipam.release_node_blocks("node1", false).unwrap();
    assert_eq!(r.deleted_blocks.len(), 1);
    assert_eq!(r.non_empty_blocks, vec![keep.block]);
    let blocks = ipam.block_usage().unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].affinity.as_deref(), Some("node1"));
    let r = ipam.release_node_blocks("node1", true).unwrap();
    assert_eq!(r.non_empty_blocks, vec![keep.block]);
    assert_eq!(ipam.block_usage().unwrap()[0].affinity, None);
    // The address is now borrowed (its block is nobody's); releasing it deletes the block.
    assert_eq!(ipam.borrowed().unwrap().len(), 1);
    assert_eq!(ipam.release_handle("net.b").unwrap(), 1);
    assert!(ipam.block_usage().unwrap().is_empty());
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
}
