//! [`Speaker`]: the handle the agent (or the standalone daemon) holds. Every call is a message
//! to the speaker task, which owns all state.

use std::io;
use std::net::IpAddr;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::config::{PeerConfig, SpeakerConfig};
use super::status::{PeerStatus, RouteStatus, RouteUpdate};
use super::task::SpeakerTask;
use crate::model::{Notification, Prefix};

/// Requests to the speaker task.
pub(crate) enum Command {
    AddPeer(Box<PeerConfig>),
    RemovePeer(IpAddr, Notification),
    Originate(Prefix),
    Withdraw(Prefix),
    Subscribe(UnboundedSender<RouteUpdate>),
    Peers(oneshot::Sender<Vec<PeerStatus>>),
    Routes(Option<Prefix>, oneshot::Sender<Vec<RouteStatus>>),
    Shutdown(Option<Notification>, oneshot::Sender<()>),
}

/// A running BGP speaker. Cheap to clone; the speaker stops when [`Speaker::shutdown`] is called
/// (dropping every handle stops it too).
#[derive(Clone)]
pub struct Speaker {
    tx: UnboundedSender<Command>,
}

impl Speaker {
    /// Binds the listeners of `config` and starts the speaker task on the current runtime.
    pub async fn start(config: SpeakerConfig) -> io::Result<Speaker> {
        let (tx, rx) = unbounded_channel();
        let task = SpeakerTask::new(config, rx)?;
        tokio::spawn(task.run());
        Ok(Speaker { tx })
    }

    fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }

    /// Adds a peer, or changes an existing one (its session is reset only when something
    /// negotiated or fixed on the connection changed).
    pub fn add_peer(&self, peer: PeerConfig) {
        self.send(Command::AddPeer(Box::new(peer)));
    }

    /// Removes a peer, closing its session with Cease / Peer De-configured (RFC 4486).
    pub fn remove_peer(&self, address: IpAddr) {
        let n = Notification {
            code: 6,
            subcode: 3,
            data: Vec::new(),
        };
        self.send(Command::RemovePeer(address, n));
    }

    /// Originates `prefix` (next hop: self).
    pub fn originate(&self, prefix: Prefix) {
        self.send(Command::Originate(prefix));
    }

    /// Stops originating `prefix`.
    pub fn withdraw(&self, prefix: Prefix) {
        self.send(Command::Withdraw(prefix));
    }

    /// A stream of best-path changes, starting with the current table.
    pub fn subscribe(&self) -> UnboundedReceiver<RouteUpdate> {
        let (tx, rx) = unbounded_channel();
        self.send(Command::Subscribe(tx));
        rx
    }

    /// The peers' status.
    pub async fn peers(&self) -> Vec<PeerStatus> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Peers(tx));
        rx.await.unwrap_or_default()
    }

    /// The table, or the paths of one prefix.
    pub async fn routes(&self, prefix: Option<Prefix>) -> Vec<RouteStatus> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Routes(prefix, tx));
        rx.await.unwrap_or_default()
    }

    /// Stops the speaker. With a NOTIFICATION (e.g. Cease / Administrative Shutdown) every
    /// session is closed with it and peers drop our routes; without one the connections are
    /// simply dropped, so peers that support graceful restart keep our routes while we restart.
    pub async fn shutdown(&self, notification: Option<Notification>) {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(notification, tx));
        let _ = rx.await;
    }
}
