//! Block bitmap operations: examples and property tests over random allocate/release sequences.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

fn block(s: &str) -> Block {
    Block::new(s.parse().expect("cidr"), Some("node1"), false).expect("block")
}

fn no_meta() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[test]
fn assigns_in_order_and_reuses_freed_addresses_last() {
    let mut b = block("10.0.0.0/30");
    assert_eq!(b.assign(2, "h1", &no_meta()), vec![(0, 0), (1, 1)]);
    assert_eq!(
        b.release(0, None, None),
        ReleaseOutcome::Released {
            handle: Some("h1".into())
        }
    );
    assert_eq!(b.assign(3, "h2", &no_meta()), vec![(2, 2), (3, 3), (0, 4)]);
    assert_eq!(b.free(), 0);
    assert!(b.assign(1, "h3", &no_meta()).is_empty());
    assert_eq!(b.affinity_node(), Some("node1"));
}

#[test]
fn a_stale_release_of_a_reused_address_is_refused() {
    let mut b = block("10.0.0.0/31");
    let first = b.assign(2, "old", &no_meta());
    assert_eq!(first[0], (0, 0));
    assert!(matches!(
        b.release(0, Some("old"), Some(0)),
        ReleaseOutcome::Released { .. }
    ));
    // Ordinal 0 goes to a new holder (with the free list only holding 0).
    assert_eq!(b.assign(1, "new", &no_meta()), vec![(0, 2)]);
    // The old holder's release (sequence 0) no longer matches.
    assert_eq!(
        b.release(0, None, Some(0)),
        ReleaseOutcome::Reused { current: 2 }
    );
    assert_eq!(
        b.release(0, Some("old"), None),
        ReleaseOutcome::OtherHandle {
            handle: Some("new".into())
        }
    );
    assert_eq!(b.count_for_handle("new"), 1);
    assert_eq!(b.release(5, None, None), ReleaseOutcome::NotAllocated);
}

#[test]
fn release_by_handle_compacts_attributes() {
    let mut b = block("10.0.0.0/29");
    b.assign(2, "a", &no_meta());
    b.assign(1, "b", &no_meta());
    b.assign(2, "c", &no_meta());
    assert_eq!(b.release_handle("b"), 1);
    assert_eq!(b.spec().attributes.len(), 2);
    assert_eq!(b.count_for_handle("c"), 2);
    assert_eq!(b.release_handle("b"), 0);
    let again = Block::from_spec(b.spec().clone()).expect("consistent");
    assert_eq!(again, b);
}

#[test]
fn inconsistent_records_are_refused() {
    let mut spec = block("10.0.0.0/30").into_spec();
    spec.unallocated.push(0);
    assert!(Block::from_spec(spec).is_err());
    let mut spec = block("10.0.0.0/30").into_spec();
    spec.allocations.pop();
    assert!(Block::from_spec(spec).is_err());
    assert!(Block::new("10.0.0.0/8".parse().expect("cidr"), None, false).is_err());
}

#[derive(Clone, Debug)]
enum Step {
    Assign { n: u32, handle: u8 },
    ReleaseOrdinal { ordinal: u32, stale: bool },
    ReleaseHandle { handle: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u32..5, 0u8..6).prop_map(|(n, handle)| Step::Assign { n, handle }),
        (0u32..16, any::<bool>())
            .prop_map(|(ordinal, stale)| Step::ReleaseOrdinal { ordinal, stale }),
        (0u8..6).prop_map(|handle| Step::ReleaseHandle { handle }),
    ]
}

proptest! {
    /// Whatever the sequence, no address is held twice, the counts add up, the record stays
    /// consistent, and a model of who holds what agrees with the block.
    #[test]
    fn never_double_allocates(steps in proptest::collection::vec(step(), 0..80)) {
        let mut b = block("10.0.0.0/28");
        // ordinal -> (handle, sequence)
        let mut model: BTreeMap<u32, (String, u64)> = BTreeMap::new();
        let mut seen_seq = BTreeSet::new();
        for s in steps {
            match s {
                Step::Assign { n, handle } => {
                    let h = format!("h{handle}");
                    let free_before = b.free();
                    let got = b.assign(n, &h, &no_meta());
                    prop_assert_eq!(got.len() as u32, n.min(free_before));
                    for (o, seq) in got {
                        prop_assert!(model.insert(o, (h.clone(), seq)).is_none(), "double allocation of {}", o);
                        prop_assert!(seen_seq.insert(seq), "sequence {} reused", seq);
                    }
                }
                Step::ReleaseOrdinal { ordinal, stale } => {
                    let held = model.get(&ordinal).cloned();
                    let seq = held.as_ref().map(|(_, s)| if stale { s + 1000 } else { *s });
                    let out = b.release(ordinal, None, seq);
                    match (held, stale) {
                        (None, _) => prop_assert_eq!(out, ReleaseOutcome::NotAllocated),
                        (Some(_), true) => prop_assert!(matches!(out, ReleaseOutcome::Reused { .. }), "{:?}", out),
                        (Some((h, _)), false) => {
                            prop_assert_eq!(out, ReleaseOutcome::Released { handle: Some(h) });
                            model.remove(&ordinal);
                        }
                    }
                }
                Step::ReleaseHandle { handle } => {
                    let h = format!("h{handle}");
                    let expected = model.values().filter(|(x, _)| *x == h).count() as u32;
                    prop_assert_eq!(b.release_handle(&h), expected);
                    model.retain(|_, (x, _)| *x != h);
                }
            }
            prop_assert_eq!(b.in_use() as usize, model.len());
            prop_assert_eq!(b.in_use() + b.free(), b.size());
            let check = Block::from_spec(b.spec().clone());
            prop_assert!(check.is_ok(), "{:?}", check.err());
            for a in b.allocations() {
                let (h, seq) = model.get(&a.ordinal).cloned().unwrap_or_default();
                prop_assert_eq!(a.attribute.handle_id.as_deref(), Some(h.as_str()));
                prop_assert_eq!(a.sequence, seq);
            }
        }
    }
}
