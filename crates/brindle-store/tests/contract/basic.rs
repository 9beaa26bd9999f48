//! Reads, writes, conditions and revisions.

use brindle_store::{KeyValue, Op, StoreError};

use super::Ctx;

pub fn crud(c: &Ctx) {
    let s = &*c.store;
    let k = c.key("a");
    assert_eq!(s.get(&k).unwrap(), None, "get of a missing key");

    let created = s.create(&k, b"one").unwrap();
    assert_eq!(created.key, k);
    assert_eq!(created.value, b"one");
    assert_eq!(created.version, 1);
    assert_eq!(created.create_revision, created.mod_revision);
    assert_eq!(s.revision().unwrap(), created.mod_revision);
    assert_eq!(s.get(&k).unwrap(), Some(created.clone()));

    let updated = s.update(&k, b"two", created.mod_revision).unwrap();
    assert_eq!(updated.value, b"two");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.create_revision, created.create_revision);
    assert!(updated.mod_revision > created.mod_revision);
    assert_eq!(s.get(&k).unwrap(), Some(updated.clone()));

    let put = s.put(&k, b"three").unwrap();
    assert_eq!(put.version, 3);
    assert_eq!(put.create_revision, created.create_revision);

    let fresh = s.put(&c.key("b"), b"new").unwrap();
    assert_eq!(
        (fresh.version, fresh.create_revision),
        (1, fresh.mod_revision)
    );

    let deleted = s.delete(&k, None).unwrap();
    assert_eq!(deleted.key, k);
    assert_eq!(deleted.value, b"three", "delete returns the deleted value");
    assert_eq!(deleted.create_revision, created.create_revision);
    assert_eq!(
        deleted.mod_revision,
        s.revision().unwrap(),
        "mod_revision of the delete"
    );
    assert_eq!(s.get(&k).unwrap(), None);

    assert_eq!(
        s.delete(&k, None),
        Err(StoreError::NotFound { key: k.clone() })
    );
    assert_eq!(
        s.delete(&k, Some(5)),
        Err(StoreError::NotFound { key: k.clone() })
    );
    assert_eq!(
        s.update(&k, b"x", 1),
        Err(StoreError::NotFound { key: k.clone() })
    );
    assert_eq!(
        s.update(&k, b"x", 0),
        Err(StoreError::NotFound { key: k.clone() })
    );
    assert_eq!(
        s.txn(&[]).unwrap(),
        Vec::<KeyValue>::new(),
        "an empty transaction"
    );
}

pub fn list_by_prefix(c: &Ctx) {
    let s = &*c.store;
    // Plain byte prefixes, as in etcd: "/a" matches "/a", "/a/x" and "/ab".
    for name in ["a", "a/x", "ab", "b", "a/y/z", "z", "é", "a\u{7f}"] {
        s.put(&c.key(name), name.as_bytes()).unwrap();
    }
    s.put(
        &c.prefix[..c.prefix.len() - 1],
        b"the prefix without its slash",
    )
    .unwrap();
    let names = |prefix: &str| -> Vec<String> {
        let l = s.list(prefix).unwrap();
        assert_eq!(l.revision, s.revision().unwrap(), "listing revision");
        l.kvs
            .iter()
            .map(|kv| kv.key[c.prefix.len()..].to_string())
            .collect()
    };
    assert_eq!(names(&c.key("a")), ["a", "a/x", "a/y/z", "ab", "a\u{7f}"]);
    assert_eq!(names(&c.key("a/")), ["a/x", "a/y/z"]);
    // Sorted by bytes: '/' (0x2f) < 'b' (0x62) < DEL (0x7f), 'z' (0x7a) < 'é' (0xc3 0xa9).
    assert_eq!(
        names(&c.prefix),
        ["a", "a/x", "a/y/z", "ab", "a\u{7f}", "b", "z", "é"]
    );
    assert_eq!(names(&c.key("nothing")), Vec::<String>::new());
    // LIKE wildcards mean nothing.
    assert_eq!(names(&c.key("%")), Vec::<String>::new());
    assert_eq!(names(&c.key("_")), Vec::<String>::new());
    let list = s.list(&c.key("a/x")).unwrap();
    assert_eq!(list.kvs.len(), 1);
    assert_eq!(list.kvs[0].value, b"a/x");
}

pub fn create_existing(c: &Ctx) {
    let s = &*c.store;
    let k = c.key("x");
    let first = s.create(&k, b"1").unwrap();
    let rev = s.revision().unwrap();
    assert_eq!(
        s.create(&k, b"2"),
        Err(StoreError::AlreadyExists { key: k.clone() })
    );
    assert_eq!(s.revision().unwrap(), rev, "a failed create writes nothing");
    assert_eq!(s.get(&k).unwrap(), Some(first));
    let msg = s.create(&k, b"2").unwrap_err().to_string();
    assert!(msg.contains(&k), "{msg}");
}

pub fn cas_conflicts(c: &Ctx) {
    let s = &*c.store;
    let k = c.key("cas");
    let v1 = s.create(&k, b"1").unwrap();
    let v2 = s.update(&k, b"2", v1.mod_revision).unwrap();
    assert_eq!(
        s.update(&k, b"3", v1.mod_revision),
        Err(StoreError::Conflict {
            key: k.clone(),
            expected: v1.mod_revision,
            actual: v2.mod_revision
        })
    );
    assert_eq!(
        s.delete(&k, Some(v1.mod_revision)),
        Err(StoreError::Conflict {
            key: k.clone(),
            expected: v1.mod_revision,
            actual: v2.mod_revision
        })
    );
    // An expected revision no key can have: a conflict, not a write.
    for expected in [0, -1] {
        assert_eq!(
            s.update(&k, b"3", expected),
            Err(StoreError::Conflict {
                key: k.clone(),
                expected,
                actual: v2.mod_revision
            })
        );
        assert_eq!(
            s.delete(&k, Some(expected)),
            Err(StoreError::Conflict {
                key: k.clone(),
                expected,
                actual: v2.mod_revision
            })
        );
    }
    assert_eq!(s.get(&k).unwrap(), Some(v2.clone()));
    let gone = s.delete(&k, Some(v2.mod_revision)).unwrap();
    assert_eq!(gone.value, b"2");
    assert_eq!(s.get(&k).unwrap(), None);
}

pub fn txn_atomicity(c: &Ctx) {
    let s = &*c.store;
    let (a, b, d, e, m) = (
        c.key("a"),
        c.key("b"),
        c.key("d"),
        c.key("e"),
        c.key("missing"),
    );
    let b1 = s.create(&b, b"b1").unwrap();
    let b2 = s.put(&b, b"b2").unwrap();
    let d1 = s.create(&d, b"d1").unwrap();
    let e1 = s.create(&e, b"e1").unwrap();
    let before = s.revision().unwrap();

    // One stale condition in the middle: nothing is written, and the error names that key.
    let ops = [
        Op::Create {
            key: a.clone(),
            value: b"a".to_vec(),
        },
        Op::Update {
            key: b.clone(),
            value: b"b3".to_vec(),
            expected: b1.mod_revision,
        },
        Op::Put {
            key: d.clone(),
            value: b"d2".to_vec(),
        },
    ];
    assert_eq!(
        s.txn(&ops),
        Err(StoreError::Conflict {
            key: b.clone(),
            expected: b1.mod_revision,
            actual: b2.mod_revision
        })
    );
    assert_eq!(s.revision().unwrap(), before);
    assert_eq!(s.get(&a).unwrap(), None);
    assert_eq!(s.get(&d).unwrap(), Some(d1.clone()));

    // The first failing operation in order is reported.
    let ops = [
        Op::Put {
            key: a.clone(),
            value: b"a".to_vec(),
        },
        Op::Delete {
            key: m.clone(),
            expected: None,
        },
        Op::Create {
            key: e.clone(),
            value: b"e2".to_vec(),
        },
    ];
    assert_eq!(s.txn(&ops), Err(StoreError::NotFound { key: m.clone() }));
    let ops = [
        Op::Create {
            key: e.clone(),
            value: b"e2".to_vec(),
        },
        Op::Delete {
            key: m.clone(),
            expected: None,
        },
    ];
    assert_eq!(
        s.txn(&ops),
        Err(StoreError::AlreadyExists { key: e.clone() })
    );
    assert_eq!(s.revision().unwrap(), before);

    // All conditions hold: one new revision shared by every operation.
    let ops = [
        Op::Create {
            key: a.clone(),
            value: b"a".to_vec(),
        },
        Op::Update {
            key: b.clone(),
            value: b"b3".to_vec(),
            expected: b2.mod_revision,
        },
        Op::Delete {
            key: d.clone(),
            expected: Some(d1.mod_revision),
        },
        Op::Delete {
            key: e.clone(),
            expected: None,
        },
    ];
    let out = s.txn(&ops).unwrap();
    let rev = before + 1;
    assert_eq!(s.revision().unwrap(), rev);
    assert_eq!(out.len(), 4);
    assert!(out.iter().all(|kv| kv.mod_revision == rev), "{out:?}");
    assert_eq!(
        (out[0].key.as_str(), out[0].version, out[0].create_revision),
        (a.as_str(), 1, rev)
    );
    assert_eq!((out[1].value.as_slice(), out[1].version), (&b"b3"[..], 3));
    assert_eq!(out[1].create_revision, b1.create_revision);
    assert_eq!(
        (out[2].value.as_slice(), out[2].create_revision),
        (&b"d1"[..], d1.create_revision)
    );
    assert_eq!(out[3].value, e1.value);
    assert_eq!(s.get(&d).unwrap(), None);
    assert_eq!(s.get(&e).unwrap(), None);
    assert_eq!(s.get(&a).unwrap(), Some(out[0].clone()));

    // One key twice in one transaction is refused, as etcd does.
    let ops = [
        Op::Put {
            key: a.clone(),
            value: b"1".to_vec(),
        },
        Op::Put {
            key: a.clone(),
            value: b"2".to_vec(),
        },
    ];
    let err = s.txn(&ops).unwrap_err();
    assert_eq!(
        err,
        StoreError::Invalid(format!(
            "{a} is written twice in one transaction (a transaction may write each key once)"
        ))
    );
    assert_eq!(s.revision().unwrap(), rev);
}

pub fn revisions_and_versions(c: &Ctx) {
    let s = &*c.store;
    let k = c.key("v");
    let mut last = s.revision().unwrap();
    let mut kv = s.create(&k, b"0").unwrap();
    assert_eq!(kv.mod_revision, last + 1, "one new revision per write");
    last = kv.mod_revision;
    for i in 1..=5 {
        let other = s.put(&c.key("other"), b"x").unwrap();
        assert_eq!(other.mod_revision, last + 1);
        kv = s
            .update(&k, i.to_string().as_bytes(), kv.mod_revision)
            .unwrap();
        assert_eq!(kv.mod_revision, last + 2);
        assert_eq!(kv.version, i + 1);
        last = kv.mod_revision;
        assert_eq!(s.revision().unwrap(), last);
    }
    assert_eq!(s.get(&k).unwrap().unwrap().version, 6);
    if c.exclusive {
        // A fresh store has seen exactly these writes.
        assert_eq!(s.revision().unwrap(), 11);
    }
}

pub fn recreate_resets_revisions(c: &Ctx) {
    let s = &*c.store;
    let k = c.key("r");
    let first = s.create(&k, b"1").unwrap();
    let second = s.put(&k, b"2").unwrap();
    assert_eq!(second.version, 2);
    s.delete(&k, None).unwrap();
    let again = s.create(&k, b"3").unwrap();
    assert_eq!(again.version, 1);
    assert_eq!(again.create_revision, again.mod_revision);
    assert!(again.create_revision > first.create_revision);
    assert_eq!(s.get(&k).unwrap(), Some(again));
}

/// Transactions up to the documented limits work on every backend (etcd refuses more than 128
/// compares, writes or reads per transaction by default); beyond them every backend refuses the
/// same way, before writing anything.
pub fn large_transactions(c: &Ctx) {
    let s = &*c.store;
    let key = |i: usize| c.key(&format!("k{i:03}"));
    let creates: Vec<Op> = (0..100)
        .map(|i| Op::Create {
            key: key(i),
            value: vec![1],
        })
        .collect();
    let created = s.txn(&creates).unwrap();
    assert_eq!(created.len(), 100);
    let rev = created[0].mod_revision;
    assert!(created.iter().all(|kv| kv.mod_revision == rev));

    // 100 conditional writes: updates and conditional deletes, one compare each.
    let mixed: Vec<Op> = created
        .iter()
        .enumerate()
        .map(|(i, kv)| {
            if i % 4 == 3 {
                Op::Delete {
                    key: kv.key.clone(),
                    expected: Some(kv.mod_revision),
                }
            } else {
                Op::Update {
                    key: kv.key.clone(),
                    value: vec![2],
                    expected: kv.mod_revision,
                }
            }
        })
        .collect();
    let out = s.txn(&mixed).unwrap();
    assert_eq!(out.len(), 100);
    assert!(out.iter().all(|kv| kv.mod_revision == rev + 1));
    assert_eq!(s.list(&c.prefix).unwrap().kvs.len(), 75);

    // A failed condition among many is named.
    let mut stale: Vec<Op> = (0..100)
        .filter(|i| i % 4 != 3)
        .map(|i| Op::Update {
            key: key(i),
            value: vec![3],
            expected: rev + 1,
        })
        .collect();
    stale.push(Op::Update {
        key: key(3),
        value: vec![3],
        expected: rev,
    });
    assert_eq!(s.txn(&stale), Err(StoreError::NotFound { key: key(3) }));
    assert_eq!(s.revision().unwrap(), rev + 1);

    // Exactly the limit works.
    let puts: Vec<Op> = (0..brindle_store::MAX_TXN_OPS)
        .map(|i| Op::Put {
            key: key(i),
            value: vec![4],
        })
        .collect();
    assert_eq!(s.txn(&puts).unwrap().len(), brindle_store::MAX_TXN_OPS);
    let before = s.revision().unwrap();

    // One more is refused with a message that says what to do, and writes nothing.
    let mut too_many = puts.clone();
    too_many.push(Op::Put {
        key: key(999),
        value: vec![4],
    });
    match s.txn(&too_many) {
        Err(StoreError::Invalid(msg)) => {
            assert!(
                msg.contains("129 writes") && msg.contains("128") && msg.contains("split"),
                "{msg}"
            )
        }
        other => panic!("129 operations: {other:?}"),
    }
    // So are too many bytes.
    let half = brindle_store::MAX_TXN_BYTES / 2;
    let too_big = [
        Op::Put {
            key: key(0),
            value: vec![b'x'; half],
        },
        Op::Put {
            key: key(1),
            value: vec![b'x'; half],
        },
    ];
    match s.txn(&too_big) {
        Err(StoreError::Invalid(msg)) => assert!(msg.contains("bytes"), "{msg}"),
        other => panic!("too many bytes: {other:?}"),
    }
    // Just under the byte limit works.
    let big = [Op::Put {
        key: key(0),
        value: vec![b'x'; half],
    }];
    s.txn(&big).unwrap();
    assert_eq!(s.revision().unwrap(), before + 1);
    assert_eq!(s.get(&key(999)).unwrap(), None);
}
