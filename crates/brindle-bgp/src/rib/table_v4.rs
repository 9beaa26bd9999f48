//! IPv4 route storage, built for a million prefixes: a direct index on the top 16 bits of the
//! address, then, per /16, a sorted vector of the prefixes inside it (a B-tree once it grows
//! large). Finding a prefix is an array access and a short binary search instead of a descent
//! through a million-entry tree, and the table still walks in prefix order: a prefix's bucket
//! is given by its address's top bits, which sort before anything else in `(address, length)`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Bound;

use super::table::{Path, Slot};
use crate::model::Prefix;

/// Buckets are /16s.
const BUCKETS: usize = 1 << 16;

/// A sorted vector longer than this becomes a B-tree, so that inserting into the middle of a
/// dense /16 (e.g. tens of thousands of host routes) never moves more than a few pages.
const SMALL_MAX: usize = 2048;

/// The key inside a bucket: the low 16 bits of the address, then the length.
type Key = u32;

fn split(p: &Prefix) -> (usize, Key) {
    let addr = match p.addr() {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(_) => 0,
    };
    (
        (addr >> 16) as usize,
        (addr & 0xffff) << 8 | u32::from(p.len()),
    )
}

fn join(bucket: usize, key: Key) -> Prefix {
    let addr = Ipv4Addr::from(((bucket as u32) << 16) | (key >> 8));
    Prefix::new(IpAddr::V4(addr), (key & 0xff) as u8)
        .expect("a stored key comes from a valid IPv4 prefix")
}

/// The prefixes of one /16.
#[derive(Debug)]
enum Bucket {
    /// Sorted by key.
    Small(Vec<(Key, Slot)>),
    Large(BTreeMap<Key, Slot>),
}

/// Where `k` is (`Ok`) or would go (`Err`) in the sorted `v`, trying `hint` and the places
/// right after it first: routes mostly arrive, and are sent, in prefix order, so the next key
/// looked up is usually the one after the last, or goes at the end.
fn search(v: &[(Key, Slot)], k: Key, hint: usize) -> Result<usize, usize> {
    for i in [hint, hint + 1] {
        match v.get(i) {
            Some(e) if e.0 == k => return Ok(i),
            Some(e) if e.0 < k && v.get(i + 1).is_none_or(|n| n.0 > k) => return Err(i + 1),
            _ => {}
        }
    }
    match v.last() {
        Some(e) if e.0 < k => Err(v.len()),
        _ => v.binary_search_by_key(&k, |e| e.0),
    }
}

impl Bucket {
    fn get(&self, k: Key, hint: usize) -> Option<(usize, &Slot)> {
        match self {
            Bucket::Small(v) => {
                let i = search(v, k, hint).ok()?;
                v.get(i).map(|e| (i, &e.1))
            }
            Bucket::Large(m) => m.get(&k).map(|s| (0, s)),
        }
    }

    /// Sets or removes `k`; returns the change in the number of prefixes.
    fn set(&mut self, k: Key, slot: Option<Slot>, hint: usize) -> isize {
        match self {
            Bucket::Small(v) => match (search(v, k, hint), slot) {
                (Ok(i), Some(s)) => {
                    v[i].1 = s;
                    0
                }
                (Ok(i), None) => {
                    v.remove(i);
                    -1
                }
                (Err(i), Some(s)) => {
                    v.insert(i, (k, s));
                    if v.len() > SMALL_MAX {
                        *self = Bucket::Large(std::mem::take(v).into_iter().collect());
                    }
                    1
                }
                (Err(_), None) => 0,
            },
            Bucket::Large(m) => match slot {
                Some(s) => isize::from(m.insert(k, s).is_none()),
                None => -isize::from(m.remove(&k).is_some()),
            },
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Bucket::Small(v) => v.is_empty(),
            Bucket::Large(m) => m.is_empty(),
        }
    }

    /// The entries with a key after `from`, in order.
    fn iter(&self, from: Bound<Key>) -> BucketIter<'_> {
        match self {
            Bucket::Small(v) => {
                let start = match from {
                    Bound::Excluded(k) => v.partition_point(|e| e.0 <= k),
                    Bound::Included(k) => v.partition_point(|e| e.0 < k),
                    Bound::Unbounded => 0,
                };
                BucketIter::Small(v.get(start..).unwrap_or(&[]).iter())
            }
            Bucket::Large(m) => BucketIter::Large(m.range((from, Bound::Unbounded))),
        }
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(Key, &mut Slot)) {
        match self {
            Bucket::Small(v) => v.iter_mut().for_each(|(k, s)| f(*k, s)),
            Bucket::Large(m) => m.iter_mut().for_each(|(k, s)| f(*k, s)),
        }
    }
}

enum BucketIter<'a> {
    Small(std::slice::Iter<'a, (Key, Slot)>),
    Large(std::collections::btree_map::Range<'a, Key, Slot>),
}

impl<'a> Iterator for BucketIter<'a> {
    type Item = (Key, &'a Slot);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            BucketIter::Small(i) => i.next().map(|(k, s)| (*k, s)),
            BucketIter::Large(i) => i.next().map(|(k, s)| (*k, s)),
        }
    }
}

/// The IPv4 table.
#[derive(Debug, Default)]
pub(crate) struct V4Table {
    /// Empty until the first prefix arrives, then [`BUCKETS`] long.
    buckets: Vec<Option<Box<Bucket>>>,
    len: usize,
    /// The bucket and position of the last prefix found: where the next search starts.
    finger: Cell<(usize, usize)>,
}

impl V4Table {
    /// The paths of `p` (empty when unknown).
    pub(crate) fn get(&self, p: &Prefix) -> &[Path] {
        let (b, k) = split(p);
        let Some(bucket) = self.buckets.get(b).and_then(|x| x.as_deref()) else {
            return &[];
        };
        match bucket.get(k, self.hint(b)) {
            Some((i, slot)) => {
                self.finger.set((b, i));
                slot.as_slice()
            }
            None => &[],
        }
    }

    fn hint(&self, bucket: usize) -> usize {
        match self.finger.get() {
            (b, i) if b == bucket => i,
            _ => 0,
        }
    }

    /// Replaces the paths of `p`; `None` removes it.
    pub(crate) fn set(&mut self, p: &Prefix, slot: Option<Slot>) {
        let (b, k) = split(p);
        if self.buckets.is_empty() {
            if slot.is_none() {
                return;
            }
            self.buckets.resize_with(BUCKETS, || None);
        }
        let Some(entry) = self.buckets.get_mut(b) else {
            return;
        };
        let bucket = match entry {
            Some(x) => x,
            None if slot.is_none() => return,
            None => entry.insert(Box::new(Bucket::Small(Vec::new()))),
        };
        let hint = match self.finger.get() {
            (fb, i) if fb == b => i,
            _ => 0,
        };
        let delta = bucket.set(k, slot, hint);
        if bucket.is_empty() {
            *entry = None;
        }
        self.len = self.len.saturating_add_signed(delta);
    }

    /// The prefixes after `after` (all when `None`), in order, with their paths.
    pub(crate) fn after(&self, after: Option<Prefix>) -> impl Iterator<Item = (Prefix, &[Path])> {
        let (first, from) = match after {
            Some(p) => {
                let (b, k) = split(&p);
                (b, Bound::Excluded(k))
            }
            None => (0, Bound::Unbounded),
        };
        self.buckets
            .iter()
            .enumerate()
            .skip(first)
            .filter_map(|(b, x)| Some((b, x.as_deref()?)))
            .flat_map(move |(b, bucket)| {
                let from = if b == first { from } else { Bound::Unbounded };
                bucket
                    .iter(from)
                    .map(move |(k, s)| (join(b, k), s.as_slice()))
            })
    }

    /// Visits every prefix with mutable access to its paths.
    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(Prefix, &mut [Path])) {
        for (b, x) in self.buckets.iter_mut().enumerate() {
            if let Some(bucket) = x {
                bucket.for_each_mut(|k, s| f(join(b, k), s.as_mut_slice()));
            }
        }
    }

    /// Number of prefixes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rib::peer::PeerId;

    fn prefix(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn one(id: u32) -> Option<Slot> {
        Some(Slot::One(Path::new(Arc::default(), PeerId(1), id, 1)))
    }

    #[test]
    fn walks_in_prefix_order_from_any_cursor() {
        let mut t = V4Table::default();
        let mut ps: Vec<Prefix> = [
            "10.0.0.0/8",
            "10.0.0.0/16",
            "10.0.0.0/24",
            "10.0.1.0/24",
            "10.1.0.0/16",
            "9.255.255.255/32",
            "0.0.0.0/0",
            "255.255.255.255/32",
        ]
        .iter()
        .map(|s| prefix(s))
        .collect();
        for (i, p) in ps.iter().enumerate() {
            t.set(p, one(i as u32));
        }
        ps.sort();
        let all: Vec<Prefix> = t.after(None).map(|(p, _)| p).collect();
        assert_eq!(all, ps);
        for (i, p) in ps.iter().enumerate() {
            let rest: Vec<Prefix> = t.after(Some(*p)).map(|(p, _)| p).collect();
            assert_eq!(rest, ps[i + 1..], "after {p}");
        }
        // A cursor that is not in the table.
        let rest: Vec<Prefix> = t
            .after(Some(prefix("10.0.0.128/25")))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            rest,
            ps[ps
                .iter()
                .position(|p| *p == prefix("10.0.1.0/24"))
                .unwrap_or(0)..]
        );
        assert_eq!(t.len(), ps.len());
    }

    #[test]
    fn dense_bucket_becomes_a_tree_and_stays_consistent() {
        let mut t = V4Table::default();
        // Insert host routes of one /16 in a scrambled order, past the small-vector limit.
        let n = (SMALL_MAX as u32) * 2;
        for i in 0..n {
            let host = (i * 7919) % n;
            let p =
                Prefix::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | host)), 32).expect("prefix");
            t.set(&p, one(host));
        }
        assert_eq!(t.len(), n as usize);
        let keys: Vec<Prefix> = t.after(None).map(|(p, _)| p).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), n as usize);
        for i in 0..n {
            let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i)), 32).expect("prefix");
            assert_eq!(t.get(&p).len(), 1);
            assert_eq!(t.get(&p)[0].remote_id, i);
            t.set(&p, None);
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.after(None).count(), 0);
    }

    #[test]
    fn removing_absent_prefixes_changes_nothing() {
        let mut t = V4Table::default();
        t.set(&prefix("10.0.0.0/24"), None);
        assert_eq!(t.len(), 0);
        t.set(&prefix("10.0.0.0/24"), one(1));
        t.set(&prefix("10.0.1.0/24"), None);
        t.set(&prefix("10.0.0.0/24"), one(2));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(&prefix("10.0.0.0/24"))[0].remote_id, 2);
    }
}
