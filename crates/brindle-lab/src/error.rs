//! The crate's error type: every variant says what was being done, and where.

use std::time::Duration;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while building a lab or driving a daemon in it.
///
/// `Debug` prints the same text as `Display`, so a test returning `Result<()>` shows the
/// message (and a daemon's log tail) readably.
#[derive(thiserror::Error)]
pub enum Error {
    /// A system call or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (includes the path or command).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A command ran but exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The full command line, including `ip netns exec <ns>` when it ran in a namespace.
        command: String,
        /// The exit status, or `killed after <timeout>`.
        status: String,
        /// What it wrote to stderr (and stdout when stderr was empty), trimmed.
        stderr: String,
    },
    /// A condition did not become true before its deadline.
    #[error("timed out after {timeout:?} waiting for {what}{}", tail_suffix(.log_tail))]
    Timeout {
        /// The condition that was awaited.
        what: String,
        /// How long was waited.
        timeout: Duration,
        /// The last lines of the relevant daemon's log, if any.
        log_tail: String,
    },
    /// A daemon failed to start, died, or answered something unusable.
    #[error("{daemon}: {message}{}", tail_suffix(.log_tail))]
    Daemon {
        /// Which daemon (kind and host).
        daemon: String,
        /// What went wrong.
        message: String,
        /// The last lines of its log.
        log_tail: String,
    },
    /// Output of a tool could not be parsed.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was parsed (command or file).
        what: String,
        /// Why it failed, with the offending text.
        detail: String,
    },
    /// An argument was not acceptable (a name too long, a bad prefix...).
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// What was invalid.
        what: String,
        /// Why.
        detail: String,
    },
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn parse(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Parse {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!(
            "\n--- log tail ---\n{}\n--- end of log tail ---",
            tail.trim_end()
        )
    }
}
