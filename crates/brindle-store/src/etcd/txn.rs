//! [`Op`]s as one etcd transaction, and etcd's key-values as ours.
//!
//! Each operation becomes at most one compare (see [`Condition`]), one write and one read, so a
//! transaction of n operations has at most n entries in each of etcd's lists and stays within
//! etcd's `--max-txn-ops` exactly when n does (etcd checks the longest of the three lists):
//! `Create` → `create_revision == 0`; `Update` → `mod_revision == expected` (a missing key has
//! `mod_revision` 0, so this also proves that the key exists); `Delete` → the key exists
//! (`create_revision > 0`), or `mod_revision == expected` when given. The success branch writes
//! (puts and deletes ask for the previous key-value, from which create revision and version of
//! the result follow); the failure branch reads every involved key, so the first failed condition
//! in operation order can be named exactly as the SQLite backend names it.

use etcd_client::{
    Compare, CompareOp, DeleteOptions, KeyValue as EtcdKv, PutOptions, Txn, TxnOp, TxnOpResponse,
    TxnResponse,
};

use crate::ops::{check, describe_writes, prefix_end};
use crate::{KeyValue, Op, Result, Revision, StoreError};

/// The one compare an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The key must not exist: `create_revision == 0`.
    Absent,
    /// The key must exist: `create_revision > 0`.
    Exists,
    /// `mod_revision == expected`, with `expected > 0` (so the key exists too).
    ModRevision(Revision),
    /// A condition that holds for no key (an expected revision ≤ 0, which no existing key has):
    /// `mod_revision < 0`. The failure branch then tells `NotFound` from `Conflict`.
    Never,
}

impl Condition {
    /// The compare of `op`, if it has a condition.
    pub(crate) fn of(op: &Op) -> Option<Condition> {
        let expect = |expected: Revision| {
            if expected > 0 {
                Condition::ModRevision(expected)
            } else {
                Condition::Never
            }
        };
        match op {
            Op::Create { .. } => Some(Condition::Absent),
            Op::Update { expected, .. } => Some(expect(*expected)),
            Op::Put { .. } => None,
            Op::Delete { expected: None, .. } => Some(Condition::Exists),
            Op::Delete {
                expected: Some(expected),
                ..
            } => Some(expect(*expected)),
        }
    }

    fn compare(self, key: Vec<u8>) -> Compare {
        match self {
            Condition::Absent => Compare::create_revision(key, CompareOp::Equal, 0),
            Condition::Exists => Compare::create_revision(key, CompareOp::Greater, 0),
            Condition::ModRevision(expected) => {
                Compare::mod_revision(key, CompareOp::Equal, expected)
            }
            Condition::Never => Compare::mod_revision(key, CompareOp::Less, 0),
        }
    }
}

/// The transaction for `ops`.
pub(crate) fn build(ops: &[Op]) -> Txn {
    let mut compares = Vec::with_capacity(ops.len());
    let mut writes = Vec::with_capacity(ops.len());
    let mut reads = Vec::with_capacity(ops.len());
    for op in ops {
        let key = op.key().as_bytes().to_vec();
        if let Some(condition) = Condition::of(op) {
            compares.push(condition.compare(key.clone()));
        }
        writes.push(match op {
            Op::Create { value, .. } | Op::Update { value, .. } | Op::Put { value, .. } => {
                put(&key, value)
            }
            Op::Delete { .. } => {
                TxnOp::delete(key.clone(), Some(DeleteOptions::new().with_prev_key()))
            }
        });
        reads.push(TxnOp::get(key, None));
    }
    Txn::new().when(compares).and_then(writes).or_else(reads)
}

fn put(key: &[u8], value: &[u8]) -> TxnOp {
    TxnOp::put(
        key.to_vec(),
        value.to_vec(),
        Some(PutOptions::new().with_prev_key()),
    )
}

/// The results of a transaction built by [`build`]: the written key-values, or the first failed
/// condition.
pub(crate) fn results(ops: &[Op], resp: &TxnResponse) -> Result<Vec<KeyValue>> {
    let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
    let responses = resp.op_responses();
    if responses.len() != ops.len() {
        return Err(StoreError::Backend(format!(
            "etcd answered {} results for a transaction of {} operations",
            responses.len(),
            ops.len()
        )));
    }
    if !resp.succeeded() {
        for (op, r) in ops.iter().zip(&responses) {
            let current = match r {
                TxnOpResponse::Get(g) => g.kvs().first().map(convert).transpose()?,
                _ => None,
            };
            check(op, current.as_ref())?;
        }
        return Err(StoreError::Backend(format!(
            "etcd rejected the transaction ({}) but every condition holds",
            describe_writes(ops)
        )));
    }
    ops.iter()
        .zip(&responses)
        .map(|(op, r)| match (op, r) {
            (
                Op::Create { key, value } | Op::Update { key, value, .. } | Op::Put { key, value },
                TxnOpResponse::Put(p),
            ) => {
                let (create_revision, version) = match p.prev_key() {
                    Some(prev) => (prev.create_revision(), prev.version() + 1),
                    None => (revision, 1),
                };
                Ok(KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision,
                    mod_revision: revision,
                    version,
                })
            }
            (Op::Delete { key, .. }, TxnOpResponse::Delete(d)) => match d.prev_kvs().first() {
                Some(prev) => Ok(KeyValue {
                    mod_revision: revision,
                    ..convert(prev)?
                }),
                None => Err(StoreError::NotFound { key: key.clone() }),
            },
            (op, _) => Err(StoreError::Backend(format!(
                "etcd answered an unexpected result for {}",
                op.key()
            ))),
        })
        .collect()
}

/// An etcd key-value as ours (keys must be UTF-8, as every key written through this crate is).
pub(crate) fn convert(kv: &EtcdKv) -> Result<KeyValue> {
    let key = kv.key_str().map_err(|_| {
        StoreError::Backend(format!(
            "etcd key {:?} is not UTF-8",
            String::from_utf8_lossy(kv.key())
        ))
    })?;
    Ok(KeyValue {
        key: key.to_string(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
    })
}

/// The key range `[start, end)` of `prefix` in etcd's terms (etcd has no empty key, and an end of
/// `\0` means "no upper bound").
pub(crate) fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let start = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.as_bytes().to_vec()
    };
    let end = prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0]);
    (start, end)
}

/// The revision of a response header (0 when missing).
pub(crate) fn header_revision(h: Option<&etcd_client::ResponseHeader>) -> Revision {
    h.map(|h| h.revision()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_needs_at_most_one_compare() {
        let key = || "/k".to_string();
        let cases = [
            (
                Op::Create {
                    key: key(),
                    value: vec![],
                },
                Some(Condition::Absent),
            ),
            (
                Op::Update {
                    key: key(),
                    value: vec![],
                    expected: 7,
                },
                Some(Condition::ModRevision(7)),
            ),
            (
                Op::Update {
                    key: key(),
                    value: vec![],
                    expected: 0,
                },
                Some(Condition::Never),
            ),
            (
                Op::Put {
                    key: key(),
                    value: vec![],
                },
                None,
            ),
            (
                Op::Delete {
                    key: key(),
                    expected: None,
                },
                Some(Condition::Exists),
            ),
            (
                Op::Delete {
                    key: key(),
                    expected: Some(7),
                },
                Some(Condition::ModRevision(7)),
            ),
            (
                Op::Delete {
                    key: key(),
                    expected: Some(-1),
                },
                Some(Condition::Never),
            ),
        ];
        for (op, condition) in cases {
            assert_eq!(Condition::of(&op), condition, "{op:?}");
        }
    }
}
