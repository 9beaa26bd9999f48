//! Bounded retries of compare-and-swap rounds. A round reads, decides and writes conditionally;
//! when the write loses to a concurrent writer the round is repeated from a fresh read, after a
//! short randomised pause so that contenders spread out (the pause is back-off between
//! attempts, not a wait for some condition).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{IpamError, Result};

/// Most attempts of one compare-and-swap round before giving up with
/// [`IpamError::Contention`].
pub const MAX_ATTEMPTS: u32 = 100;

/// Runs `round` until it succeeds, fails with an error other than a lost compare-and-swap, or
/// has lost [`MAX_ATTEMPTS`] times.
pub(crate) fn with_retries<T>(
    what: impl Fn() -> String,
    mut round: impl FnMut() -> Result<T>,
) -> Result<T> {
    for attempt in 0..MAX_ATTEMPTS {
        match round() {
            // Every round re-reads before it decides, so a write whose answer was lost is
            // resolved by the next round just like a lost compare-and-swap.
            Err(e) if e.is_conflict() || e.is_indeterminate() => backoff(attempt),
            other => return other,
        }
    }
    Err(IpamError::Contention {
        what: what(),
        attempts: MAX_ATTEMPTS,
    })
}

/// Pauses a random time below 0.1 ms · 2^attempt, at most 6.4 ms.
pub(crate) fn backoff(attempt: u32) {
    let ceiling_us = 100u64 << attempt.min(6);
    let us = jitter() % ceiling_us;
    std::thread::sleep(Duration::from_micros(us));
}

/// A per-thread xorshift generator seeded from the clock and the thread.
fn jitter() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    (nanos ^ addr.rotate_left(32) ^ u64::from(std::process::id())) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_retried_then_reported() {
        let mut n = 0;
        let r = with_retries(
            || "x".into(),
            || {
                n += 1;
                if n < 3 {
                    Err(IpamError::Conflict("lost".into()))
                } else {
                    Ok(n)
                }
            },
        );
        assert_eq!(r.ok(), Some(3));
        let r: Result<()> = with_retries(
            || "writing /k".into(),
            || Err(IpamError::Conflict("lost".into())),
        );
        assert_eq!(
            r.err().map(|e| e.to_string()).unwrap_or_default(),
            "gave up writing /k after 100 attempts that all lost to concurrent writers"
        );
        let r: Result<()> = with_retries(|| "x".into(), || Err(IpamError::Invalid("bad".into())));
        assert!(matches!(r, Err(IpamError::Invalid(_))));
    }
}
