//! Why a session is not (or no longer) up, in words a network engineer can act on.

use std::fmt;

use crate::model::Notification;

/// The last reason a session went down or failed to come up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
    /// We sent a NOTIFICATION (our decision or a protocol error on the peer's side).
    NotificationSent(Notification),
    /// The hold timer expired: nothing heard from the peer for the hold time.
    HoldTimerExpired,
    /// The TCP connection failed or closed, with the reason.
    Connection(String),
    /// Stopped by configuration.
    Stopped,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::NotificationReceived(n) => {
                write!(f, "NOTIFICATION received: {}", n.describe())
            }
            DownReason::NotificationSent(n) => {
                write!(f, "NOTIFICATION sent: {}", n.describe())
            }
            DownReason::HoldTimerExpired => write!(f, "hold timer expired"),
            DownReason::Connection(r) => write!(f, "{r}"),
            DownReason::Stopped => write!(f, "stopped by configuration"),
        }
    }
}
