//! Polling with deadlines: the only way this crate waits for something to happen.

use std::time::{Duration, Instant};

/// Polls `cond` until it returns true or `timeout` passes; returns whether it became true.
///
/// The condition is checked at once, then at growing intervals (10 ms up to 100 ms), and a last
/// time at the deadline, so a slow machine never fails a wait that was just about to succeed.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    wait_for(timeout, || cond().then_some(())).is_some()
}

/// Polls `probe` until it returns `Some` or `timeout` passes; returns the value it found.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(10);
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(interval.min(deadline - now));
        interval = (interval * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_true_once_the_condition_holds() {
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(5), || {
            n += 1;
            n == 3
        }));
        assert_eq!(n, 3);
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let start = Instant::now();
        assert!(!wait_until(Duration::from_millis(50), || false));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn wait_for_hands_back_the_value() {
        let mut n = 0;
        let v = wait_for(Duration::from_secs(5), || {
            n += 1;
            (n > 1).then_some(n * 10)
        });
        assert_eq!(v, Some(20));
    }
}
