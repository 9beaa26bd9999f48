//! A peer's queue of changed routes: an ordered set of `(prefix, path id)` keys, IPv4 keys
//! packed into one `u64` each (prefix in the top 40 bits, path id in the low 16), so that a
//! million queued changes cost about a third of what `(Prefix, u32)` keys would.
//!
//! Changes mostly arrive in prefix order (a peer's table dump, one UPDATE's NLRI), so each set
//! keeps an ascending run that such keys are appended to, and a B-tree only for keys that come
//! out of order; taking the first key compares the heads of the two.

use std::collections::{BTreeSet, VecDeque};

use super::table::{MAX_LOCAL_ID, pack_v4, unpack_v4};
use crate::model::{Family, Prefix};

/// An ordered set optimised for ascending inserts. A key may sit in both parts at once; it is
/// taken once.
#[derive(Debug)]
struct Queue<K> {
    /// Strictly ascending.
    run: VecDeque<K>,
    /// Keys that were not larger than the run's last one when they came.
    other: BTreeSet<K>,
}

impl<K> Default for Queue<K> {
    fn default() -> Self {
        Queue {
            run: VecDeque::new(),
            other: BTreeSet::new(),
        }
    }
}

/// A drained run keeps at most this much capacity (keys), so a peer that once had a million
/// queued changes does not keep the memory.
const KEEP_CAPACITY: usize = 4096;

impl<K: Ord + Copy> Queue<K> {
    fn insert(&mut self, k: K) {
        match self.run.back() {
            Some(last) if *last == k => {}
            Some(last) if *last > k => {
                self.other.insert(k);
            }
            _ => self.run.push_back(k),
        }
    }

    fn pop_first(&mut self) -> Option<K> {
        let k = match (self.run.front(), self.other.first()) {
            (Some(a), Some(b)) if a == b => {
                self.other.pop_first();
                self.run.pop_front()
            }
            (Some(a), Some(b)) if b < a => self.other.pop_first(),
            (Some(_), _) => self.run.pop_front(),
            (None, _) => self.other.pop_first(),
        };
        if self.run.is_empty() && self.run.capacity() > KEEP_CAPACITY {
            self.run = VecDeque::new();
        }
        k
    }

    fn clear(&mut self) {
        self.run = VecDeque::new();
        self.other.clear();
    }

    fn is_empty(&self) -> bool {
        self.run.is_empty() && self.other.is_empty()
    }
}

/// Ordered like `(Prefix, u32)`: IPv4 before IPv6, then by prefix, then by path id.
#[derive(Debug, Default)]
pub(crate) struct DirtySet {
    v4: Queue<u64>,
    v6: Queue<(Prefix, u32)>,
}

impl DirtySet {
    /// Queues `(prefix, id)`; `id` is 0 or one of our path ids (at most [`MAX_LOCAL_ID`]).
    pub(crate) fn insert(&mut self, prefix: Prefix, id: u32) {
        match prefix.family() {
            Family::Ipv4Unicast => {
                let id = u64::from(id.min(u32::from(MAX_LOCAL_ID)));
                self.v4.insert(pack_v4(&prefix) << 16 | id);
            }
            Family::Ipv6Unicast => {
                self.v6.insert((prefix, id));
            }
        }
    }

    /// Takes the first key.
    pub(crate) fn pop_first(&mut self) -> Option<(Prefix, u32)> {
        if let Some(k) = self.v4.pop_first() {
            return Some((unpack_v4(k >> 16), (k & 0xffff) as u32));
        }
        self.v6.pop_first()
    }

    pub(crate) fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

impl Extend<(Prefix, u32)> for DirtySet {
    fn extend<I: IntoIterator<Item = (Prefix, u32)>>(&mut self, iter: I) {
        for (p, id) in iter {
            self.insert(p, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_like_prefix_then_id() {
        let keys: Vec<(Prefix, u32)> = [
            ("fd00::/64", 0),
            ("10.0.0.0/16", 3),
            ("10.0.0.0/8", 0),
            ("10.0.0.0/16", 1),
            ("9.0.0.0/8", 0x7fff),
        ]
        .iter()
        .map(|(s, id)| (s.parse().expect("prefix"), *id))
        .collect();
        let mut set = DirtySet::default();
        set.extend(keys.iter().copied());
        set.insert(keys[1].0, keys[1].1);
        let mut want = keys.clone();
        want.sort();
        let mut got = Vec::new();
        while let Some(k) = set.pop_first() {
            got.push(k);
        }
        assert_eq!(got, want);
        assert!(set.is_empty());
    }

    #[test]
    fn behaves_like_an_ordered_set_under_any_order() {
        // A deterministic pseudo-random mix of ascending runs, repeats, out-of-order keys and
        // pops, checked against BTreeSet.
        let mut q: Queue<u64> = Queue::default();
        let mut model = std::collections::BTreeSet::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = 0u64;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 8 {
                0..=3 => {
                    next += x % 3;
                    q.insert(next);
                    model.insert(next);
                }
                4 => {
                    let k = x % (next + 1);
                    q.insert(k);
                    model.insert(k);
                }
                _ => assert_eq!(q.pop_first(), model.pop_first(), "step {step}"),
            }
            assert_eq!(q.is_empty(), model.is_empty());
        }
        while let Some(k) = model.pop_first() {
            assert_eq!(q.pop_first(), Some(k));
        }
        assert_eq!(q.pop_first(), None);
    }
}
