//! Lab names, ownership markers and the per-lab address plan.
//!
//! A lab is named `<prefix><4 hex digits>` (e.g. `brl3fa2`); its namespaces are
//! `<lab>-sw` (the switch) and `<lab>-<host>`, at most 15 characters. Before creating anything,
//! a lab claims its name by atomically creating `/run/brindle-lab/<lab>.owner`, which records the
//! owning process (pid and start time); the marker is removed last. A namespace or directory of
//! the prefix family whose owner marker is missing or names a dead process is stale.

use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The name prefix labs use unless told otherwise.
pub const DEFAULT_PREFIX: &str = "brl";

/// Where labs keep their owner markers and temp dirs (fixed, so every run finds the same ones).
pub const RUN_DIR: &str = "/run/brindle-lab";

/// Longest name Linux allows for an interface (and that we allow for a namespace).
pub const MAX_NAME: usize = 15;

/// Checks a lab name prefix: 1 to 4 lowercase ASCII letters.
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    if (1..=4).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "lab prefix",
            format!("{prefix:?}: must be 1 to 4 lowercase ASCII letters"),
        ))
    }
}

/// Checks the name of a persistent lab ([`crate::Lab::persistent`]): 1 to 12 lowercase letters
/// or digits starting with a letter (so `<name>-sw` fits in 15 characters), and not shaped like
/// a throw-away lab's name, which another process's stale cleanup would remove.
pub(crate) fn check_persistent_name(name: &str) -> Result<()> {
    let ok_chars = name.len() <= 12
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok_chars {
        return Err(Error::invalid(
            "lab name",
            format!("{name:?}: 1 to 12 lowercase letters or digits, starting with a letter"),
        ));
    }
    let letters = name.bytes().take_while(u8::is_ascii_lowercase).count();
    if (1..=4)
        .filter(|&n| n <= letters)
        .any(|n| lab_of(&name[..n], name).is_some())
    {
        return Err(Error::invalid(
            "lab name",
            format!("{name:?} looks like a throw-away lab's name (letters + 4 hex digits)"),
        ));
    }
    Ok(())
}

/// The address plan number of a persistent lab, derived from its name (FNV-1a folded to 16
/// bits), so every run of the same lab gets the same subnets.
pub(crate) fn persistent_id(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    ((h >> 16) ^ (h & 0xffff)) as u16
}

/// If `name` (a namespace, directory or marker name) belongs to a lab of the `prefix` family,
/// returns that lab's name.
pub(crate) fn lab_of<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    let rest = name.strip_prefix(prefix)?;
    let id = rest.get(..4)?;
    if !id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    let after = &rest[4..];
    if after.is_empty() || after.starts_with('-') || after == ".owner" {
        Some(&name[..prefix.len() + 4])
    } else {
        None
    }
}

/// A random 16-bit lab number (std's randomly keyed hasher, mixed with pid, time and a counter).
pub(crate) fn random_id() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    (h.finish() & 0xffff) as u16
}

/// The lab's IPv4 /24: `10.<id high byte>.<id low byte>.0/24`.
pub(crate) fn ipv4_subnet(id: u16) -> Ipv4Addr {
    let [hi, lo] = id.to_be_bytes();
    Ipv4Addr::new(10, hi, lo, 0)
}

/// The lab's IPv6 /64: `fd62:726c:6162:<id>::/64` (a ULA).
pub(crate) fn ipv6_subnet(id: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfd62, 0x726c, 0x6162, id, 0, 0, 0, 0)
}

/// The owner marker of a lab.
pub(crate) fn owner_path(lab: &str) -> PathBuf {
    Path::new(RUN_DIR).join(format!("{lab}.owner"))
}

/// Who owns a lab: a process id and that process's start time (so a reused pid is not mistaken
/// for the owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Option<Owner> {
        let pid = std::process::id();
        Some(Owner {
            pid,
            start_time: start_time(pid)?,
        })
    }

    pub(crate) fn render(&self) -> String {
        format!("{} {}\n", self.pid, self.start_time)
    }

    pub(crate) fn parse(text: &str) -> Option<Owner> {
        let mut it = text.split_whitespace();
        let pid = it.next()?.parse().ok()?;
        let start_time = it.next()?.parse().ok()?;
        Some(Owner { pid, start_time })
    }

    /// Whether the owning process is still alive.
    pub(crate) fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }
}

/// A process's start time (clock ticks since boot), field 22 of `/proc/<pid>/stat`.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_names_of_the_family_only() {
        assert_eq!(lab_of("brl", "brl3fa2-sw"), Some("brl3fa2"));
        assert_eq!(lab_of("brl", "brl3fa2-host1"), Some("brl3fa2"));
        assert_eq!(lab_of("brl", "brl3fa2"), Some("brl3fa2"));
        assert_eq!(lab_of("brl", "brl3fa2.owner"), Some("brl3fa2"));
        assert_eq!(lab_of("brl", "brl3FA2-sw"), None);
        assert_eq!(lab_of("brl", "brl3fa-sw"), None);
        assert_eq!(lab_of("brl", "brl3fa2x"), None);
        assert_eq!(lab_of("brl", "brlx3fa2-sw"), None);
        assert_eq!(lab_of("brl", "other"), None);
        assert_eq!(lab_of("brl", "br"), None);
    }

    #[test]
    fn prefixes_are_short_lowercase_words() {
        assert!(check_prefix("brl").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("toolong").is_err());
        assert!(check_prefix("b-1").is_err());
    }

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        let me = Owner::current();
        assert!(me.is_some_and(|o| o.is_alive()));
        let me = me.unwrap_or(Owner {
            pid: 1,
            start_time: 0,
        });
        let other = Owner {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(!other.is_alive());
        assert_eq!(Owner::parse(&me.render()), Some(me));
    }

    #[test]
    fn persistent_names_stay_clear_of_throw_away_ones() {
        assert!(check_persistent_name("brindle").is_ok());
        assert!(check_persistent_name("lab2").is_ok());
        assert!(check_persistent_name("brl3fa2").is_err());
        assert!(check_persistent_name("b3fa2").is_err());
        assert!(check_persistent_name("2lab").is_err());
        assert!(check_persistent_name("").is_err());
        assert!(check_persistent_name("thirteenchars").is_err());
        assert_eq!(persistent_id("brindle"), persistent_id("brindle"));
        assert_ne!(persistent_id("brindle"), persistent_id("brindle2"));
    }

    #[test]
    fn subnets_follow_the_id() {
        assert_eq!(ipv4_subnet(0x3fa2).to_string(), "10.63.162.0");
        assert_eq!(ipv6_subnet(0x3fa2).to_string(), "fd62:726c:6162:3fa2::");
    }
}
