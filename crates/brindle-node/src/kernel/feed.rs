//! The async side: forwards the speaker's best-path changes to the programmer thread, and tells
//! it when the sessions have converged, so that routes left by an earlier run can go.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use brindle_bgp::speaker::{RouteUpdate, Speaker};
use tokio::sync::mpsc::UnboundedReceiver;

use super::programmer::Cmd;

/// How often the sessions are looked at until the sweep.
const TICK: Duration = Duration::from_millis(500);
/// Converged: every peer Established and no best-path change for this long.
pub(crate) const QUIET: Duration = Duration::from_secs(3);
/// Stale routes go at the latest this long after start-up, converged or not (the restart time
/// peers give us with graceful restart, as Calico's BIRD).
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// Decides when the routes of an earlier run may be swept. Pure: the caller gives the time.
#[derive(Debug)]
pub(crate) struct Convergence {
    started: Instant,
    last_update: Option<Instant>,
    all_up_since: Option<Instant>,
    done: bool,
}

impl Convergence {
    pub(crate) fn new(now: Instant) -> Convergence {
        Convergence {
            started: now,
            last_update: None,
            all_up_since: None,
            done: false,
        }
    }

    /// A best-path change arrived.
    pub(crate) fn updated(&mut self, now: Instant) {
        self.last_update = Some(now);
    }

    /// Whether the sweep is due now (true once), given whether every peer is Established.
    pub(crate) fn due(&mut self, now: Instant, all_up: bool) -> bool {
        if self.done {
            return false;
        }
        if !all_up {
            self.all_up_since = None;
        } else if self.all_up_since.is_none() {
            self.all_up_since = Some(now);
        }
        let quiet = self
            .last_update
            .is_none_or(|t| now.duration_since(t) >= QUIET);
        let settled = self
            .all_up_since
            .is_some_and(|t| now.duration_since(t) >= QUIET);
        self.done = (settled && quiet) || now.duration_since(self.started) >= DEADLINE;
        self.done
    }
}

/// Runs until the speaker's stream ends or the programmer is gone.
pub(crate) async fn feed(
    speaker: Speaker,
    mut routes: UnboundedReceiver<RouteUpdate>,
    tx: Sender<Cmd>,
) {
    let mut convergence = Convergence::new(Instant::now());
    let mut swept = false;
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            u = routes.recv() => {
                let Some(u) = u else { return };
                convergence.updated(Instant::now());
                if tx.send(Cmd::Update(u)).is_err() {
                    return;
                }
            }
            _ = tick.tick(), if !swept => {
                let peers = speaker.peers().await;
                let all_up = peers.iter().all(|p| p.state == "Established");
                if convergence.due(Instant::now(), all_up) {
                    swept = true;
                    if tx.send(Cmd::Sweep).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn sweep_after_all_peers_are_up_and_changes_are_quiet() {
        let t0 = Instant::now();
        let mut c = Convergence::new(t0);
        assert!(!c.due(t0, false));
        assert!(!c.due(t0 + S, true), "just came up");
        c.updated(t0 + 2 * S);
        assert!(!c.due(t0 + 3 * S, true));
        assert!(
            !c.due(t0 + 4 * S, true),
            "up long enough, but a change 2 s ago"
        );
        assert!(c.due(t0 + 5 * S, true));
        assert!(!c.due(t0 + 6 * S, true), "only once");
    }

    #[test]
    fn a_session_going_down_restarts_the_wait() {
        let t0 = Instant::now();
        let mut c = Convergence::new(t0);
        assert!(!c.due(t0, true));
        assert!(!c.due(t0 + 2 * S, false));
        assert!(!c.due(t0 + 3 * S, true));
        assert!(!c.due(t0 + 5 * S, true));
        assert!(c.due(t0 + 6 * S, true));
    }

    #[test]
    fn the_deadline_sweeps_even_with_a_peer_down() {
        let t0 = Instant::now();
        let mut c = Convergence::new(t0);
        assert!(!c.due(t0 + DEADLINE - S, false));
        assert!(c.due(t0 + DEADLINE, false));
    }
}
