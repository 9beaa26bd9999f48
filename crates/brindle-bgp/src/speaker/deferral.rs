//! Graceful restart, restarting side (RFC 4724 §4.1): after a restart the speaker holds its own
//! advertisements back until its peers have sent their routes, so that it never sends a peer
//! (that is keeping our old routes as stale) a partial table followed by End-of-RIB, which
//! would make the peer drop everything we had not re-learned yet.
//!
//! "the Restarting Speaker MUST defer route selection for an address family until it either
//! (a) receives the End-of-RIB marker from all its peers (excluding the ones with the "Restart
//! State" bit set in the received capability and excluding the ones that do not advertise the
//! graceful restart capability) or (b) the Selection_Deferral_Timer referred to below has
//! expired."
//!
//! No I/O and no clock: the speaker task reports sessions and End-of-RIB markers, runs the
//! timer, and asks [`Deferral::is_over`] after each report.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{Family, GracefulRestartCap};

/// What is still awaited from one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Awaited {
    /// The session (then its End-of-RIB markers).
    Session,
    /// End-of-RIB for these families.
    EndOfRib(Vec<Family>),
}

/// The restarting speaker's wait for its peers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deferral {
    active: bool,
    /// Peers configured with graceful restart, and what is still missing from each.
    waiting: BTreeMap<IpAddr, Awaited>,
    /// Set once a session has come up (or a peer was removed): from then on an empty wait list
    /// means done. Before that, peers may still be being configured.
    settled: bool,
}

impl Deferral {
    /// Starts deferring (the speaker restarted) or not.
    pub(crate) fn new(restarting: bool) -> Deferral {
        Deferral {
            active: restarting,
            ..Deferral::default()
        }
    }

    /// True while our advertisements are held back.
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// A peer was configured; `graceful_restart`: we offer it graceful restart (a peer without
    /// it is not waited for).
    pub(crate) fn add_peer(&mut self, ip: IpAddr, graceful_restart: bool) {
        if self.active && graceful_restart {
            self.waiting.insert(ip, Awaited::Session);
        } else {
            self.waiting.remove(&ip);
        }
    }

    /// A peer was removed from the configuration.
    pub(crate) fn remove_peer(&mut self, ip: IpAddr) {
        self.waiting.remove(&ip);
        self.settled = true;
    }

    /// A session came up with these negotiated `families` and the peer's graceful restart
    /// capability (`None`: it sent none).
    pub(crate) fn session_up(
        &mut self,
        ip: IpAddr,
        families: &[Family],
        peer_gr: Option<&GracefulRestartCap>,
    ) {
        self.settled = true;
        if !self.waiting.contains_key(&ip) {
            return;
        }
        match peer_gr {
            // Excluded: no capability, or the peer is restarting too (it waits for us).
            None => {
                self.waiting.remove(&ip);
            }
            Some(cap) if cap.restarting => {
                self.waiting.remove(&ip);
            }
            Some(_) if families.is_empty() => {
                self.waiting.remove(&ip);
            }
            Some(_) => {
                self.waiting
                    .insert(ip, Awaited::EndOfRib(families.to_vec()));
            }
        }
    }

    /// The session went down before finishing: wait for the next one.
    pub(crate) fn session_down(&mut self, ip: IpAddr) {
        if let Some(a) = self.waiting.get_mut(&ip) {
            *a = Awaited::Session;
        }
    }

    /// End-of-RIB for `family` received from `ip`.
    pub(crate) fn end_of_rib(&mut self, ip: IpAddr, family: Family) {
        if let Some(Awaited::EndOfRib(families)) = self.waiting.get_mut(&ip) {
            families.retain(|f| *f != family);
            if families.is_empty() {
                self.waiting.remove(&ip);
            }
        }
    }

    /// Ends the deferral if nothing is awaited any more; true when it ended now.
    pub(crate) fn check(&mut self) -> bool {
        if self.active && self.settled && self.waiting.is_empty() {
            self.active = false;
            return true;
        }
        false
    }

    /// The Selection_Deferral_Timer expired: stop waiting. True when it was still active.
    pub(crate) fn expire(&mut self) -> bool {
        let was = self.active;
        self.active = false;
        self.waiting.clear();
        was
    }

    /// The peers still awaited, for the log.
    pub(crate) fn awaited(&self) -> Vec<IpAddr> {
        self.waiting.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: Family = Family::Ipv4Unicast;
    const V6: Family = Family::Ipv6Unicast;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    fn cap(restarting: bool) -> GracefulRestartCap {
        GracefulRestartCap {
            restarting,
            notification: false,
            restart_time: 120,
            families: vec![(V4, true), (V6, true)],
        }
    }

    #[test]
    fn not_restarting_never_defers() {
        let mut d = Deferral::new(false);
        d.add_peer(ip(1), true);
        assert!(!d.is_active());
        assert!(!d.check());
    }

    #[test]
    fn waits_for_every_families_end_of_rib_of_every_graceful_peer() {
        let mut d = Deferral::new(true);
        d.add_peer(ip(1), true);
        d.add_peer(ip(2), true);
        d.add_peer(ip(3), false);
        assert!(!d.check(), "nothing up yet");
        d.session_up(ip(3), &[V4], None);
        assert!(
            !d.check(),
            "a peer without graceful restart is not waited for, the others are"
        );
        d.session_up(ip(1), &[V4, V6], Some(&cap(false)));
        d.end_of_rib(ip(1), V4);
        assert!(!d.check(), "IPv6 End-of-RIB from 10.0.0.1 still missing");
        d.end_of_rib(ip(1), V6);
        assert_eq!(d.awaited(), vec![ip(2)]);
        d.session_up(ip(2), &[V4], Some(&cap(false)));
        // A session that fails before its End-of-RIB is waited for again.
        d.session_down(ip(2));
        d.end_of_rib(ip(2), V4);
        assert!(!d.check());
        d.session_up(ip(2), &[V4], Some(&cap(false)));
        d.end_of_rib(ip(2), V4);
        assert!(d.check());
        assert!(!d.is_active());
        assert!(!d.check(), "ends once");
    }

    #[test]
    fn restarting_peers_and_peers_without_the_capability_are_excluded() {
        let mut d = Deferral::new(true);
        d.add_peer(ip(1), true);
        d.add_peer(ip(2), true);
        d.session_up(ip(1), &[V4], Some(&cap(true)));
        assert!(!d.check());
        d.session_up(ip(2), &[V4], None);
        assert!(d.check());
    }

    #[test]
    fn removing_the_last_awaited_peer_ends_it_and_the_timer_always_does() {
        let mut d = Deferral::new(true);
        d.add_peer(ip(1), true);
        d.remove_peer(ip(1));
        assert!(d.check());

        let mut d = Deferral::new(true);
        d.add_peer(ip(1), true);
        assert!(d.expire());
        assert!(!d.is_active());
        assert!(!d.expire());
    }

    #[test]
    fn an_empty_list_before_any_session_is_not_the_end() {
        // Peers are configured one command at a time after the start: no decision until a
        // session comes up.
        let mut d = Deferral::new(true);
        assert!(!d.check());
        d.add_peer(ip(1), false);
        assert!(!d.check());
        d.session_up(ip(1), &[V4], None);
        assert!(d.check());
    }
}
