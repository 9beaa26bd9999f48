//! [`Op`]s as one etcd transaction, and etcd's key-values as ours.
//!
//! Conditions become compares: `Create` → `create_revision == 0`; `Update` → the key exists
//! (`create_revision > 0`) and `mod_revision == expected`; `Delete` → the key exists, and
//! `mod_revision == expected` when given. The success branch writes (puts and deletes ask for the
//! previous key-value, from which create revision and version of the result follow); the failure
//! branch reads every involved key, so the first failed condition in operation order can be named
//! exactly as the SQLite backend names it.

use etcd_client::{
    Compare, CompareOp, DeleteOptions, KeyValue as EtcdKv, PutOptions, Txn, TxnOp, TxnOpResponse,
    TxnResponse,
};

use crate::ops::{check, prefix_end};
use crate::{KeyValue, Op, Result, Revision, StoreError};

/// The transaction for `ops`.
pub(crate) fn build(ops: &[Op]) -> Txn {
    let mut compares = Vec::new();
    let mut writes = Vec::with_capacity(ops.len());
    let mut reads = Vec::with_capacity(ops.len());
    for op in ops {
        let key = op.key().as_bytes().to_vec();
        match op {
            Op::Create { value, .. } => {
                compares.push(Compare::create_revision(key.clone(), CompareOp::Equal, 0));
                writes.push(put(&key, value));
            }
            Op::Update {
                value, expected, ..
            } => {
                compares.push(Compare::create_revision(key.clone(), CompareOp::Greater, 0));
                compares.push(Compare::mod_revision(
                    key.clone(),
                    CompareOp::Equal,
                    *expected,
                ));
                writes.push(put(&key, value));
            }
            Op::Put { value, .. } => writes.push(put(&key, value)),
            Op::Delete { expected, .. } => {
                compares.push(Compare::create_revision(key.clone(), CompareOp::Greater, 0));
                if let Some(expected) = expected {
                    compares.push(Compare::mod_revision(
                        key.clone(),
                        CompareOp::Equal,
                        *expected,
                    ));
                }
                writes.push(TxnOp::delete(
                    key.clone(),
                    Some(DeleteOptions::new().with_prev_key()),
                ));
            }
        }
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
            "etcd rejected the transaction on {} but every condition holds",
            ops.iter().map(Op::key).collect::<Vec<_>>().join(", ")
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
