//! Rules shared by both backends: key ranges and the conditions of [`Op`]s.

use crate::{KeyValue, MAX_TXN_BYTES, MAX_TXN_OPS, Op, Result, StoreError};

/// The exclusive upper bound of the keys that start with `prefix` (etcd's "range end" for a
/// prefix): the prefix with its last byte that is not `0xff` incremented and what follows dropped.
/// `None` when no such bound exists (empty prefix, or only `0xff` bytes): every key from `prefix`
/// onwards matches.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Checks what both backends refuse before touching the store, with the same message: a key
/// written twice (etcd refuses it too), more than [`MAX_TXN_OPS`] operations or more than
/// [`MAX_TXN_BYTES`] bytes of keys and values.
pub(crate) fn check_txn(ops: &[Op]) -> Result<()> {
    if ops.len() > MAX_TXN_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction of {} writes exceeds the limit of {MAX_TXN_OPS} operations per \
             transaction (etcd's default --max-txn-ops); split the input",
            ops.len()
        )));
    }
    let bytes: usize = ops.iter().map(op_bytes).sum();
    if bytes > MAX_TXN_BYTES {
        return Err(StoreError::Invalid(format!(
            "a transaction of {} writes with {bytes} bytes of keys and values exceeds the limit \
             of {MAX_TXN_BYTES} bytes per transaction (etcd refuses requests over 1.5 MiB by \
             default); split the input",
            ops.len()
        )));
    }
    let mut keys: Vec<&str> = ops.iter().map(Op::key).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(StoreError::Invalid(format!(
            "{} is written twice in one transaction (a transaction may write each key once)",
            w[0]
        ))),
        None => Ok(()),
    }
}

/// Bytes of key and value `op` carries, as counted against [`MAX_TXN_BYTES`].
fn op_bytes(op: &Op) -> usize {
    match op {
        Op::Create { key, value } | Op::Update { key, value, .. } | Op::Put { key, value } => {
            key.len() + value.len()
        }
        Op::Delete { key, .. } => key.len(),
    }
}

/// What a transaction writes, for messages: `writing /a`, `writing /a, /b, /c`, or for more than
/// three keys `writing 70 keys (/k/0 … /k/69)` (first and last in operation order).
pub(crate) fn describe_writes(ops: &[Op]) -> String {
    match ops {
        [] => "writing nothing".to_string(),
        [first, .., last] if ops.len() > 3 => {
            format!(
                "writing {} keys ({} … {})",
                ops.len(),
                first.key(),
                last.key()
            )
        }
        _ => format!(
            "writing {}",
            ops.iter().map(Op::key).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The condition of `op` against `current`, the key's state before the transaction.
pub(crate) fn check(op: &Op, current: Option<&KeyValue>) -> Result<(), StoreError> {
    let key = op.key().to_string();
    match (op, current) {
        (Op::Create { .. }, Some(_)) => Err(StoreError::AlreadyExists { key }),
        (Op::Update { .. } | Op::Delete { .. }, None) => Err(StoreError::NotFound { key }),
        (Op::Update { expected, .. }, Some(kv))
        | (
            Op::Delete {
                expected: Some(expected),
                ..
            },
            Some(kv),
        ) if kv.mod_revision != *expected => Err(StoreError::Conflict {
            key,
            expected: *expected,
            actual: kv.mod_revision,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, len: usize) -> Op {
        Op::Put {
            key: key.to_string(),
            value: vec![b'x'; len],
        }
    }

    #[test]
    fn long_key_lists_are_abbreviated() {
        let ops: Vec<Op> = (0..70).map(|i| put(&format!("/k/{i}"), 1)).collect();
        assert_eq!(describe_writes(&ops), "writing 70 keys (/k/0 … /k/69)");
        assert_eq!(describe_writes(&ops[..3]), "writing /k/0, /k/1, /k/2");
        assert_eq!(describe_writes(&ops[..1]), "writing /k/0");
    }

    #[test]
    fn transactions_over_the_limits_are_invalid() {
        let ops: Vec<Op> = (0..=MAX_TXN_OPS)
            .map(|i| put(&format!("/k/{i}"), 1))
            .collect();
        assert_eq!(check_txn(&ops[..MAX_TXN_OPS]), Ok(()));
        let Err(StoreError::Invalid(msg)) = check_txn(&ops) else {
            panic!("129 operations accepted")
        };
        assert_eq!(
            msg,
            "a transaction of 129 writes exceeds the limit of 128 operations per transaction \
             (etcd's default --max-txn-ops); split the input"
        );
        let big = [put("/a", MAX_TXN_BYTES / 2), put("/b", MAX_TXN_BYTES / 2)];
        let Err(StoreError::Invalid(msg)) = check_txn(&big) else {
            panic!("too many bytes accepted")
        };
        assert!(
            msg.contains("1048580 bytes") && msg.contains("split"),
            "{msg}"
        );
        assert_eq!(check_txn(&[put("/a", MAX_TXN_BYTES - 2)]), Ok(()));
    }

    #[test]
    fn a_key_written_twice_is_named_once() {
        let ops = [put("/a", 1), put("/b", 1), put("/a", 2)];
        assert_eq!(
            check_txn(&ops),
            Err(StoreError::Invalid(
                "/a is written twice in one transaction (a transaction may write each key once)"
                    .into()
            ))
        );
    }

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"/a/"), Some(b"/a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
