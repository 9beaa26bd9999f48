//! Rules shared by both backends: key ranges and the conditions of [`Op`]s.

use crate::{KeyValue, Op, Result, StoreError};

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

/// Checks that the keys of `ops` are distinct (etcd rejects a transaction writing one key twice,
/// and so does this backend).
pub(crate) fn check_distinct(ops: &[Op]) -> Result<()> {
    let mut keys: Vec<&str> = ops.iter().map(Op::key).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(StoreError::Backend(format!(
            "{} is written twice in one transaction",
            w[0]
        ))),
        None => Ok(()),
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
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"/a/"), Some(b"/a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
