//! Watches: order, resumption, compaction, other writers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use brindle_store::{Datastore, Event, KeyValue, Op, Watch, WatchMessage};

use super::procs::{spawn_worker, wait_ok};
use super::{Change, Ctx, assert_quiet, change_of_result, collect};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Writer threads and the changes each makes under the prefix.
const WRITERS: usize = 4;
const CHANGES_PER_WRITER: usize = 2500;

pub fn watch_order_10k(c: &Ctx) {
    let start = c.store.revision().unwrap() + 1;
    let watch = c.store.watch(&c.prefix, start).unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            // Half the writers use a store handle of their own.
            let store = if w % 2 == 0 {
                c.store.clone()
            } else {
                c.reopen()
            };
            let prefix = format!("{}w{w}/", c.prefix);
            let outside = format!("{}-outside/w{w}", c.prefix.trim_end_matches('/'));
            std::thread::spawn(move || write_mix(&*store, &prefix, &outside))
        })
        .collect();
    let mut expected: Vec<Change> = Vec::new();
    for w in writers {
        expected.extend(w.join().expect("writer panicked"));
    }
    // Revisions are unique per transaction, so a stable sort keeps each transaction's order.
    expected.sort_by_key(|ch| ch.0);
    assert_eq!(expected.len(), WRITERS * CHANGES_PER_WRITER);
    let got = collect(&watch, expected.len(), TIMEOUT);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "event {i} differs");
    }
    assert_eq!(got.len(), expected.len());
    assert_quiet(&watch);
}

/// Writes `CHANGES_PER_WRITER` changes under `prefix`: single puts, deletes and three-key
/// transactions, plus some writes outside the watched prefix. Returns the changes in order.
fn write_mix(store: &dyn Datastore, prefix: &str, outside: &str) -> Vec<Change> {
    let mut changes = Vec::with_capacity(CHANGES_PER_WRITER);
    let mut exists = [false; 10];
    let mut i = 0usize;
    while changes.len() < CHANGES_PER_WRITER {
        i += 1;
        let k = i % 10;
        let key = |k: usize| format!("{prefix}k{k}");
        let ops = if i.is_multiple_of(10) && changes.len() + 3 <= CHANGES_PER_WRITER {
            (0..3)
                .map(|j| Op::Put {
                    key: key((k + j) % 10),
                    value: format!("t{i}.{j}").into_bytes(),
                })
                .collect()
        } else if i.is_multiple_of(7) && exists[k] {
            vec![Op::Delete {
                key: key(k),
                expected: None,
            }]
        } else {
            vec![Op::Put {
                key: key(k),
                value: format!("p{i}").into_bytes(),
            }]
        };
        let out = store.txn(&ops).unwrap();
        for (op, kv) in ops.iter().zip(&out) {
            let idx: usize = op.key()[prefix.len() + 1..].parse().unwrap();
            exists[idx] = !matches!(op, Op::Delete { .. });
            changes.push(change_of_result(op, kv));
        }
        if i.is_multiple_of(50) {
            store.put(outside, b"not watched").unwrap();
        }
    }
    changes
}

pub fn watch_from_now(c: &Ctx) {
    c.store.put(&c.key("before"), b"0").unwrap();
    let watch = c.store.watch(&c.prefix, 0).unwrap();
    let kv = c.store.put(&c.key("after"), b"1").unwrap();
    let got = collect(&watch, 1, TIMEOUT);
    assert_eq!(got[0].0, kv.mod_revision);
    assert_eq!(got[0].1, c.key("after"));
    assert_quiet(&watch);
}

pub fn watch_resume_after_reopen(c: &Ctx) {
    let mut results = Vec::new();
    for i in 0..20 {
        let op = Op::Put {
            key: c.key(&format!("k{}", i % 3)),
            value: vec![i],
        };
        let kv = c.store.txn(std::slice::from_ref(&op)).unwrap().remove(0);
        results.push(change_of_result(&op, &kv));
    }
    let from = results[10].0;
    let store = c.reopen();
    let watch = store.watch(&c.prefix, from).unwrap();
    let got = collect(&watch, 10, TIMEOUT);
    assert_eq!(got, results[10..]);
    assert_quiet(&watch);
}

pub fn watch_after_compaction_resyncs(c: &Ctx) {
    let s = &c.store;
    let first = s.put(&c.key("a"), b"1").unwrap().mod_revision;
    s.put(&c.key("b"), b"2").unwrap();
    s.put(&c.key("c"), b"3").unwrap();
    let deleted = s.delete(&c.key("b"), None).unwrap();
    let current = s.revision().unwrap();
    assert_eq!(deleted.mod_revision, current);
    s.compact(current).unwrap();
    s.compact(current).unwrap(); // again: nothing to do
    s.compact(first).unwrap(); // before the compact revision: nothing to do
    assert!(
        s.compact(current + 100).is_err(),
        "compacting a future revision"
    );

    // From before the compaction: the state, then what follows.
    let watch = s.watch(&c.prefix, first).unwrap();
    match watch.recv_timeout(TIMEOUT).unwrap() {
        Some(WatchMessage::Resync { kvs, revision }) => {
            assert_eq!(revision, current);
            assert_eq!(kvs, s.list(&c.prefix).unwrap().kvs);
            let keys: Vec<_> = kvs.iter().map(|kv| kv.key.clone()).collect();
            assert_eq!(keys, [c.key("a"), c.key("c")]);
        }
        other => panic!("expected a resync, got {other:?}"),
    }
    let next = s.put(&c.key("d"), b"4").unwrap();
    let got = collect(&watch, 1, TIMEOUT);
    assert_eq!(
        (got[0].0, got[0].1.as_str()),
        (next.mod_revision, c.key("d").as_str())
    );

    // From the compact revision itself: that revision's events are still there.
    let watch = s.watch(&c.prefix, current).unwrap();
    match watch.recv_timeout(TIMEOUT).unwrap() {
        Some(WatchMessage::Events(evs)) => {
            assert!(
                matches!(&evs[0], Event::Delete { key, revision, .. } if *key == c.key("b") && *revision == current),
                "{evs:?}"
            );
        }
        other => panic!("expected the delete at the compact revision, got {other:?}"),
    }
}

pub fn watch_sees_other_process(c: &Ctx) {
    let watch = c.store.watch(&c.prefix, 0).unwrap();
    let quiet: Arc<dyn Datastore> = c.reopen();
    let other = quiet.watch(&format!("{}elsewhere/", c.prefix), 0).unwrap();
    let n = 50;
    wait_ok(spawn_worker(&c.config, &format!("write {} {n}", c.prefix)));
    let got = collect(&watch, n, TIMEOUT);
    for (i, ch) in got.iter().enumerate() {
        assert_eq!(ch.1, c.key(&format!("p{i:04}")));
        assert_eq!(ch.3, i.to_string().into_bytes());
    }
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "revisions increase"
    );
    assert_quiet(&watch);
    assert_quiet(&other);
}

/// A start revision that has not happened yet is fine: the watch delivers it when it happens,
/// and nothing before it.
pub fn watch_from_future_revision(c: &Ctx) {
    let from = c.store.revision().unwrap() + 3;
    let watch = c.store.watch(&c.prefix, from).unwrap();
    let mut results = Vec::new();
    for i in 0..5u8 {
        let op = Op::Put {
            key: c.key(&format!("k{i}")),
            value: vec![i],
        };
        let kv = c.store.txn(std::slice::from_ref(&op)).unwrap().remove(0);
        results.push(change_of_result(&op, &kv));
    }
    assert_eq!(results[2].0, from, "nobody else writes");
    let got = collect(&watch, 3, TIMEOUT);
    assert_eq!(got, results[2..]);
    assert_quiet(&watch);
}

/// History a running watch still needs is compacted away while its receiver is behind: the
/// watch delivers what it still can, then a `Resync` with the state, then continues; the state
/// rebuilt from its messages always matches the store. The receiver stalls for more and more
/// writes until a resync happens (on etcd, the server must have fallen behind too).
pub fn watch_compacted_while_behind_resyncs(c: &Ctx) {
    let s = &c.store;
    let from = s.revision().unwrap() + 1;
    let watch = s.watch(&c.prefix, from).unwrap();
    let mut state = BTreeMap::new();
    let mut last = from - 1;
    let mut writes = 400;
    loop {
        for i in 0..writes {
            let key = c.key(&format!("k{:02}", i % 16));
            if i % 50 == 49 {
                s.delete(&key, None).unwrap();
            } else {
                let mut value = format!("{i:08}").into_bytes();
                value.resize(16 << 10, b'.');
                s.put(&key, &value).unwrap();
            }
        }
        let current = s.revision().unwrap();
        s.compact(current).unwrap();
        let resynced = replay_until(&watch, current, &mut state, &mut last);
        let expected: Vec<KeyValue> = s.list(&c.prefix).unwrap().kvs;
        assert_eq!(
            state.values().cloned().collect::<Vec<_>>(),
            expected,
            "state rebuilt from the watch differs from the store (resynced: {resynced})"
        );
        eprintln!("  compacted under a watch stalled for {writes} writes: resynced: {resynced}");
        if resynced {
            break;
        }
        writes *= 2;
        assert!(
            writes <= 3200,
            "no resync after compacting under a stalled watch"
        );
    }
    // Events continue after the resync.
    let kv = s.put(&c.key("after"), b"x").unwrap();
    let got = collect(&watch, 1, TIMEOUT);
    assert_eq!(
        (got[0].0, got[0].1.as_str()),
        (kv.mod_revision, kv.key.as_str())
    );
    assert_quiet(&watch);
}

/// Applies watch messages to `state` until revision `upto` has been seen; true if a `Resync`
/// came. Checks that revisions only go forward.
fn replay_until(
    watch: &Watch,
    upto: i64,
    state: &mut BTreeMap<String, KeyValue>,
    last: &mut i64,
) -> bool {
    let mut resynced = false;
    while *last < upto {
        match watch.recv_timeout(TIMEOUT).unwrap() {
            Some(WatchMessage::Events(evs)) => {
                for ev in evs {
                    assert!(
                        ev.revision() >= *last,
                        "revision went back: {ev:?} after {last}"
                    );
                    if resynced {
                        assert!(ev.revision() > *last, "event {ev:?} repeats the resync");
                    }
                    *last = ev.revision();
                    match ev {
                        Event::Put { kv } => {
                            state.insert(kv.key.clone(), kv);
                        }
                        Event::Delete { key, .. } => {
                            state.remove(&key);
                        }
                    }
                }
            }
            Some(WatchMessage::Resync { kvs, revision }) => {
                assert!(revision >= *last, "resync at {revision} after {last}");
                resynced = true;
                *last = revision;
                *state = kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
            }
            None => panic!("watch stalled at revision {last} of {upto}"),
        }
    }
    resynced
}
