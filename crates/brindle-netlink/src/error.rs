//! [`Error`]: what was being done, and why it failed, in one line
//! (`adding route 10.1.0.0/24 via 10.0.0.2: Network is unreachable`).

use std::fmt;
use std::io;

/// `ESRCH`: what the kernel answers when the route to delete is not there.
const ESRCH: i32 = 3;
/// `EEXIST`: what the kernel answers when a route to add is there already.
const EEXIST: i32 = 17;
/// `ENODEV`: what the kernel answers when the interface named or numbered is not there.
pub(crate) const ENODEV: i32 = 19;
/// `EADDRNOTAVAIL`: what the kernel answers when the address to delete is not there.
const EADDRNOTAVAIL: i32 = 99;

/// A failed netlink operation.
#[derive(Debug)]
pub struct Error {
    doing: String,
    cause: Cause,
}

/// Why an operation failed.
#[derive(Debug)]
pub enum Cause {
    /// The kernel refused the request with this errno.
    Kernel(i32),
    /// The socket failed (or the kernel did not answer in time).
    Io(io::Error),
    /// The kernel's answer could not be read.
    Malformed(String),
    /// The request was refused before it was sent.
    Invalid(String),
}

impl Error {
    /// An error: `doing` says what was being done (`adding route …`), `cause` why it failed.
    pub fn new(doing: impl Into<String>, cause: Cause) -> Error {
        Error {
            doing: doing.into(),
            cause,
        }
    }

    /// What was being done, e.g. `adding route 10.1.0.0/24 via 10.0.0.2`.
    pub fn doing(&self) -> &str {
        &self.doing
    }

    /// Why it failed.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }

    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self.cause {
            Cause::Kernel(e) => Some(e),
            Cause::Io(ref e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the kernel said that what the request names is not there: the route
    /// (`ESRCH`), the interface (`ENODEV`) or the address (`EADDRNOTAVAIL`).
    pub fn is_not_found(&self) -> bool {
        matches!(self.cause, Cause::Kernel(ESRCH | ENODEV | EADDRNOTAVAIL))
    }

    /// Whether the kernel said that the table already has a route to the destination (with
    /// the same metric), which an add does not replace.
    pub fn already_exists(&self) -> bool {
        matches!(self.cause, Cause::Kernel(EEXIST))
    }
}

/// The C library's text for an errno, without Rust's ` (os error N)` suffix.
pub(crate) fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Kernel(e) => f.write_str(&errno_text(*e)),
            Cause::Io(e) => match e.raw_os_error() {
                Some(n) => f.write_str(&errno_text(n)),
                None => write!(f, "{e}"),
            },
            Cause::Malformed(m) => write!(f, "malformed answer from the kernel: {m}"),
            Cause::Invalid(m) => f.write_str(m),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.doing, self.cause)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_the_kernels_words() {
        let e = Error::new("adding route 10.1.0.0/24 via 10.0.0.2", Cause::Kernel(101));
        assert_eq!(
            e.to_string(),
            "adding route 10.1.0.0/24 via 10.0.0.2: Network is unreachable"
        );
        assert_eq!(e.errno(), Some(101));
        assert!(!e.is_not_found() && !e.already_exists());
        assert!(Error::new("x", Cause::Kernel(3)).is_not_found());
        assert!(Error::new("x", Cause::Kernel(19)).is_not_found());
        assert!(Error::new("x", Cause::Kernel(99)).is_not_found());
        assert!(Error::new("x", Cause::Kernel(17)).already_exists());
        let e = Error::new("opening", Cause::Io(io::Error::from_raw_os_error(1)));
        assert_eq!(e.to_string(), "opening: Operation not permitted");
        assert_eq!(e.errno(), Some(1));
        let e = Error::new("x", Cause::Invalid("no next hop".into()));
        assert_eq!(e.to_string(), "x: no next hop");
        assert_eq!(e.errno(), None);
    }
}
