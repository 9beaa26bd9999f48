//! Installing the speaker's best paths as kernel routes (`kernel: {enabled: true}`).
//!
//! A thread owns the netlink socket and applies the changes ([`programmer`]); an async task
//! forwards them from the speaker's subscription and says when the sessions have converged
//! ([`feed`]). Routes are filed under one protocol number in one table: at start-up, routes of
//! that protocol are taken as left by an earlier run and kept until the sessions converge (so a
//! restart does not cut traffic), then those not learned again are deleted; on a clean stop
//! (SIGTERM, SIGINT) every route of the protocol is deleted. A route the kernel refuses is
//! logged and skipped; the speaker never stops for it.

mod config;
mod feed;
mod programmer;

use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use brindle_bgp::speaker::Speaker;
use brindle_netlink::Netlink;

pub use config::KernelConfig;
pub(crate) use config::KernelEntry;
pub(crate) use programmer::learned;
use programmer::{Cmd, Programmer};

/// The running route installer.
pub struct Kernel {
    tx: Sender<Cmd>,
    thread: JoinHandle<()>,
    feed: tokio::task::JoinHandle<()>,
}

impl Kernel {
    /// Opens the netlink socket (an error here is the caller's to report: the configuration
    /// asked for something this process cannot do) and starts installing `speaker`'s routes.
    pub fn start(speaker: &Speaker, cfg: KernelConfig) -> Result<Kernel, String> {
        let netlink = Netlink::open().map_err(|e| format!("kernel routes: {e}"))?;
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("kernel-routes".into())
            .spawn(move || programmer::run(Programmer::new(netlink, cfg), rx))
            .map_err(|e| format!("kernel routes: cannot start a thread: {e}"))?;
        let feed = tokio::spawn(feed::feed(speaker.clone(), speaker.subscribe(), tx.clone()));
        eprintln!(
            "bgp: kernel: installing best paths in table {} as proto {}",
            cfg.table, cfg.protocol
        );
        Ok(Kernel { tx, thread, feed })
    }

    /// Deletes every route of the protocol and waits for the thread to end. Call after the
    /// speaker stopped.
    pub async fn stop(self) {
        self.finish(Cmd::Stop).await;
    }

    /// Stops installing and leaves the routes in the kernel (the node agent's stop: traffic
    /// keeps flowing while it restarts; the next run adopts the routes and sweeps the stale).
    pub async fn detach(self) {
        self.finish(Cmd::Detach).await;
    }

    async fn finish(self, cmd: Cmd) {
        self.feed.abort();
        let _ = self.tx.send(cmd);
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
