//! The FSMs' timers as tokio tasks: arming one spawns a sleeper that reports back to the
//! speaker task; re-arming or stopping aborts it. A generation number drops a report that
//! raced with a re-arm.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Armed timers keyed by `K` (peer and timer), reporting `make(key, generation)` on `tx`.
pub struct Timers<K, E> {
    armed: HashMap<K, (u64, JoinHandle<()>)>,
    next_gen: u64,
    tx: UnboundedSender<E>,
}

impl<K: Hash + Eq + Clone + Send + 'static, E: Send + 'static> Timers<K, E> {
    /// Timers reporting on `tx`.
    pub fn new(tx: UnboundedSender<E>) -> Self {
        Timers {
            armed: HashMap::new(),
            next_gen: 0,
            tx,
        }
    }

    /// Arms `key` to fire after `after`, replacing an armed deadline.
    pub fn start(
        &mut self,
        key: K,
        after: Duration,
        make: impl FnOnce(K, u64) -> E + Send + 'static,
    ) {
        self.stop(&key);
        self.next_gen += 1;
        let generation = self.next_gen;
        let tx = self.tx.clone();
        let k = key.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(make(k, generation));
        });
        self.armed.insert(key, (generation, handle));
    }

    /// Disarms `key`.
    pub fn stop(&mut self, key: &K) {
        if let Some((_, h)) = self.armed.remove(key) {
            h.abort();
        }
    }

    /// Disarms every timer whose key matches.
    pub fn stop_where(&mut self, mut pred: impl FnMut(&K) -> bool) {
        let keys: Vec<K> = self.armed.keys().filter(|k| pred(k)).cloned().collect();
        for k in keys {
            self.stop(&k);
        }
    }

    /// True when a report for `key` with `generation` is current (and disarms it): stale
    /// reports from an aborted or replaced timer return false.
    pub fn fired(&mut self, key: &K, generation: u64) -> bool {
        match self.armed.get(key) {
            Some((g, _)) if *g == generation => {
                self.armed.remove(key);
                true
            }
            _ => false,
        }
    }
}

impl<K, E> Drop for Timers<K, E> {
    fn drop(&mut self) {
        for (_, (_, h)) in self.armed.drain() {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_once_and_stale_reports_are_ignored() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut t: Timers<&str, (&str, u64)> = Timers::new(tx);
        t.start("hold", Duration::from_secs(90), |k, g| (k, g));
        t.start("hold", Duration::from_secs(30), |k, g| (k, g));
        let (k, g) = rx.recv().await.expect("fires");
        assert_eq!(k, "hold");
        assert!(t.fired(&k, g));
        assert!(!t.fired(&k, g), "only once");
        t.start("keepalive", Duration::from_secs(1), |k, g| (k, g));
        t.stop(&"keepalive");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(rx.try_recv().is_err(), "stopped timers do not fire");
    }
}
