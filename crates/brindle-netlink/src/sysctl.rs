//! Kernel parameters under `/proc/sys/net`, which are per network namespace: [`set`] and
//! [`get`] act on the calling thread's namespace, [`set_in`] on another one (a short-lived
//! thread enters it, as [`Netlink::open_in`](crate::Netlink::open_in) does).
//!
//! Keys are paths below `/proc/sys`, with `/` between the parts so that interface names with
//! dots stay whole: `net/ipv4/conf/cali1234/proxy_arp`.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use crate::error::{Cause, Error};

/// The file of `key`, or why `key` is not one of the network parameters.
fn file(key: &str) -> Result<PathBuf, Error> {
    let fail = |m: &str| Error::new(format!("sysctl {key}"), Cause::Invalid(m.into()));
    if !key.starts_with("net/") {
        return Err(fail("only network parameters (net/...) are handled here"));
    }
    if key
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(fail("a key is a path of names separated by '/'"));
    }
    Ok(Path::new("/proc/sys").join(key))
}

/// A per-interface key: `net/<family>/<table>/<interface>/<name>`, e.g.
/// `interface_key("ipv4", "conf", "cali1234", "proxy_arp")`.
pub fn interface_key(family: &str, table: &str, interface: &str, name: &str) -> String {
    format!("net/{family}/{table}/{interface}/{name}")
}

/// Sets `key` to `value` in the calling thread's network namespace.
pub fn set(key: &str, value: &str) -> Result<(), Error> {
    let path = file(key)?;
    std::fs::write(&path, value)
        .map_err(|e| Error::new(format!("setting sysctl {key} to {value}"), Cause::Io(e)))
}

/// The value of `key` in the calling thread's network namespace (without the newline).
pub fn get(key: &str) -> Result<String, Error> {
    let path = file(key)?;
    std::fs::read_to_string(&path)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| Error::new(format!("reading sysctl {key}"), Cause::Io(e)))
}

/// Sets each `(key, value)` in the network namespace at `netns`, in order; stops at the first
/// failure.
pub fn set_in(netns: &Path, settings: &[(String, String)]) -> Result<(), Error> {
    let ns = File::open(netns).map_err(|e| {
        Error::new(
            format!("opening network namespace {}", netns.display()),
            Cause::Io(e),
        )
    })?;
    std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).map_err(
                |e| {
                    Error::new(
                        format!("entering network namespace {}", netns.display()),
                        Cause::Io(io::Error::from(e)),
                    )
                },
            )?;
            settings.iter().try_for_each(|(k, v)| set(k, v))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::new(
                "setting sysctls",
                Cause::Invalid("the namespace thread panicked".into()),
            ))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert_eq!(
            file("net/ipv4/conf/cali.1/proxy_arp").expect("valid"),
            Path::new("/proc/sys/net/ipv4/conf/cali.1/proxy_arp")
        );
        for bad in [
            "kernel/hostname",
            "net/../kernel/x",
            "net//x",
            "net/ipv4/",
            "/net/x",
        ] {
            assert!(file(bad).is_err(), "{bad}");
        }
        assert_eq!(
            interface_key("ipv4", "neigh", "cali1", "proxy_delay"),
            "net/ipv4/neigh/cali1/proxy_delay"
        );
    }
}
