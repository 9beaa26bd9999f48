//! Graceful restart (helper side), enhanced route refresh (receiving side), session loss and
//! the prefix limit.

mod rib_common;

use std::net::{IpAddr, Ipv4Addr};

use brindle_bgp::model::{Family, Update};
use brindle_bgp::rib::{PeerInfo, Rib, SessionInfo};
use rib_common::*;

fn stale(r: &Rib, prefix: &str) -> Option<bool> {
    r.route(&p(prefix)).map(|x| x.paths.iter().any(|p| p.stale))
}

/// A source peer with routes A and B, and a receiver that has been told about them.
fn setup() -> (
    Rib,
    brindle_bgp::rib::PeerId,
    brindle_bgp::rib::PeerId,
    Told,
) {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = peer(&mut r, 3, Kind::Ibgp);
    announce(
        &mut r,
        src,
        &["10.1.0.0/16", "10.2.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    let t = told(&mut r, dst);
    assert!(t.has("10.1.0.0/16") && t.has("10.2.0.0/16"));
    (r, src, dst, t)
}

#[test]
fn stale_routes_kept_then_swept_at_end_of_rib() {
    let (mut r, src, dst, mut t) = setup();
    let c = r.peer_down(src, true);
    assert!(c.is_empty(), "retained routes change nothing: {c:?}");
    assert_eq!(stale(&r, "10.1.0.0/16"), Some(true));
    assert_eq!(
        r.kernel_routes(Family::Ipv4Unicast).len(),
        2,
        "still forwarding"
    );

    up(&mut r, src, 2, false);
    // The peer re-sends A unchanged: no longer stale, nothing to tell anyone.
    let c = announce(&mut r, src, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    assert!(c.kernel.is_empty() && !c.outbound.contains(&dst), "{c:?}");
    assert_eq!(stale(&r, "10.1.0.0/16"), Some(false));
    assert_eq!(stale(&r, "10.2.0.0/16"), Some(true));
    // End-of-RIB for IPv4 sweeps B.
    let c = r.apply_update(src, &Update::end_of_rib(Family::Ipv4Unicast));
    assert_eq!(c.kernel.len(), 1);
    assert_eq!(c.kernel[0].prefix, p("10.2.0.0/16"));
    assert!(c.kernel[0].next_hops.is_empty());
    drain(&mut r, dst, &mut t);
    assert!(t.has("10.1.0.0/16") && !t.has("10.2.0.0/16"));
    assert_eq!(r.received_count(src), 1);
}

#[test]
fn stale_routes_flushed_by_the_timer() {
    let (mut r, src, dst, mut t) = setup();
    r.peer_down(src, true);
    let c = r.flush_stale(src);
    assert_eq!(c.kernel.len(), 2);
    assert_eq!(c.outbound, vec![dst]);
    drain(&mut r, dst, &mut t);
    assert!(t.routes.is_empty());
    assert_eq!(r.received_count(src), 0);
}

#[test]
fn without_retention_routes_go_at_once() {
    let (mut r, src, dst, mut t) = setup();
    let c = r.peer_down(src, false);
    assert_eq!(c.kernel.len(), 2);
    drain(&mut r, dst, &mut t);
    assert!(t.routes.is_empty());

    // Graceful restart disabled for the peer: `retain` has no effect.
    let mut r = rib();
    let mut info = PeerInfo::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), LOCAL_AS, 65001);
    info.graceful_restart = false;
    let src = r.add_peer(info);
    up(&mut r, src, 2, false);
    announce(&mut r, src, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    assert_eq!(r.peer_down(src, true).kernel.len(), 1);
}

#[test]
fn stale_routes_of_families_not_renegotiated_or_a_new_identity_go() {
    let (mut r, src, _, _) = setup();
    r.peer_down(src, true);
    let mut s = SessionInfo::new(Ipv4Addr::new(10, 0, 0, 2), IpAddr::V4(SELF_V4));
    s.families = vec![Family::Ipv6Unicast];
    let c = r.peer_up(src, s);
    assert_eq!(c.kernel.len(), 2, "IPv4 not negotiated again");

    let (mut r, src, _, _) = setup();
    r.peer_down(src, true);
    let c = up(&mut r, src, 7, false); // router id 10.0.0.7 now
    assert_eq!(c.kernel.len(), 2);
}

#[test]
fn enhanced_route_refresh() {
    let (mut r, src, dst, mut t) = setup();
    let c = r.begin_route_refresh(src, Family::Ipv4Unicast);
    assert!(c.is_empty());
    assert_eq!(stale(&r, "10.2.0.0/16"), Some(true));
    announce(&mut r, src, &["10.2.0.0/16"], attrs(&[65001], "192.0.2.2"));
    let c = r.end_route_refresh(src, Family::Ipv4Unicast);
    assert_eq!(c.kernel.len(), 1);
    assert_eq!(c.kernel[0].prefix, p("10.1.0.0/16"));
    drain(&mut r, dst, &mut t);
    assert!(!t.has("10.1.0.0/16") && t.has("10.2.0.0/16"));
    assert_eq!(stale(&r, "10.2.0.0/16"), Some(false));
}

#[test]
fn max_prefix() {
    let mut r = rib();
    let mut info = PeerInfo::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), LOCAL_AS, 65001);
    info.max_prefix = Some(2);
    let src = r.add_peer(info);
    up(&mut r, src, 2, false);
    let c = announce(
        &mut r,
        src,
        &["10.1.0.0/16", "10.2.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    assert_eq!(c.max_prefix, None);
    // Replacing an accepted route is fine.
    let c = announce(
        &mut r,
        src,
        &["10.1.0.0/16"],
        attrs(&[65001, 65002], "192.0.2.2"),
    );
    assert_eq!(c.max_prefix, None);
    let c = announce(&mut r, src, &["10.3.0.0/16"], attrs(&[65001], "192.0.2.2"));
    let m = c.max_prefix.expect("limit exceeded");
    assert_eq!(m.limit, 2);
    assert_eq!(m.peer, src);
    assert_eq!(
        r.received_count(src),
        2,
        "the route over the limit is not taken"
    );
    let n = m.notification();
    assert_eq!((n.code, n.subcode), (6, 1));
    assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 2]);
    assert!(r.route(&p("10.3.0.0/16")).is_none());
    // The driver closes the session.
    let c = r.peer_down(src, false);
    assert_eq!(c.kernel.len(), 2);
    // Raising the limit later lets more in.
    r.set_max_prefix(src, Some(10));
    up(&mut r, src, 2, false);
    let c = announce(
        &mut r,
        src,
        &["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    assert_eq!(c.max_prefix, None);
    assert_eq!(r.received_count(src), 3);
}

#[test]
fn removing_a_peer_withdraws_its_routes_and_frees_the_handle() {
    let (mut r, src, dst, mut t) = setup();
    let c = r.remove_peer(src);
    assert_eq!(c.kernel.len(), 2);
    drain(&mut r, dst, &mut t);
    assert!(t.routes.is_empty());
    assert!(r.peer_info(src).is_none());
    let again = add(&mut r, 9, Kind::Ibgp);
    assert_eq!(again, src, "handle reused");
    assert_eq!(r.received_count(again), 0);
}

#[test]
fn consecutive_restart_deletes_the_routes_still_stale() {
    let (mut r, src, _, _) = setup();
    r.peer_down(src, true);
    up(&mut r, src, 2, false);
    announce(&mut r, src, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    // Down again before End-of-RIB: B (still stale) goes, A becomes stale.
    let c = r.peer_down(src, true);
    assert_eq!(c.kernel.len(), 1);
    assert_eq!(c.kernel[0].prefix, p("10.2.0.0/16"));
    assert_eq!(stale(&r, "10.1.0.0/16"), Some(true));
    assert_eq!(r.received_count(src), 1);
}
