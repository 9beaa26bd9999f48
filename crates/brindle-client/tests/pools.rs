//! Two writers of overlapping IP pools racing: the overlap check must not let both through.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use brindle_api::{Resource, parse_resources};
use brindle_client::{Client, ClientError};
use brindle_store::{Datastore, KeyValue, ListResult, Op, Result, Revision, SqliteConfig, Watch};

fn pool(name: &str, cidr: &str) -> Resource {
    let text = format!(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: {name}}}\nspec: {{cidr: {cidr}}}\n"
    );
    parse_resources(&text).unwrap().remove(0)
}

/// A real SQLite store that lets another writer in just before the first transaction it sees:
/// the worst interleaving for a check-then-write.
struct Interleave {
    inner: Arc<dyn Datastore>,
    before_txn: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Datastore for Interleave {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.inner.get(key)
    }
    fn list(&self, prefix: &str) -> Result<ListResult> {
        self.inner.list(prefix)
    }
    fn txn(&self, ops: &[Op]) -> Result<Vec<KeyValue>> {
        let hook = self.before_txn.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        self.inner.txn(ops)
    }
    fn revision(&self) -> Result<Revision> {
        self.inner.revision()
    }
    fn watch(&self, prefix: &str, start: Revision) -> Result<Watch> {
        self.inner.watch(prefix, start)
    }
    fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision)
    }
}

#[test]
fn concurrent_overlapping_pools_cannot_both_be_created() {
    let dir = tempfile::tempdir().unwrap();
    let store = brindle_store::open(&brindle_store::DatastoreConfig::Sqlite(SqliteConfig::new(
        dir.path().join("ds.db"),
    )))
    .unwrap();
    let other = Client::new(store.clone());
    let racing = Arc::new(Interleave {
        inner: store.clone(),
        before_txn: Mutex::new(Some(Box::new(move || {
            other.create(pool("b", "10.0.0.0/8")).unwrap();
        }))),
    });
    let client = Client::new(racing);
    let err = client.create(pool("a", "10.1.0.0/16")).unwrap_err();
    assert!(matches!(err, ClientError::Retry(_)), "{err}");
    assert!(err.to_string().contains("retry"), "{err}");
    let (pools, _) = Client::new(store)
        .list(brindle_api::Kind::IpPool, None)
        .unwrap();
    assert_eq!(pools.len(), 1, "only the first writer's pool exists");
    // Without a race the same write gives the overlap error.
    let err = client.create(pool("a", "10.1.0.0/16")).unwrap_err();
    assert!(err.to_string().contains("overlaps IPPool \"b\""), "{err}");
}

#[test]
fn non_overlapping_pools_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = brindle_store::open(&brindle_store::DatastoreConfig::Sqlite(SqliteConfig::new(
        dir.path().join("ds.db"),
    )))
    .unwrap();
    let client = Client::new(store);
    client.create(pool("a", "10.1.0.0/16")).unwrap();
    client.create(pool("b", "10.2.0.0/16")).unwrap();
    let k = brindle_api::Kind::IpPool;
    let twice = vec![
        (k, None, "a".to_string(), None),
        (k, None, "a".to_string(), None),
    ];
    let err = client.delete_all(&twice).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"IPPool "a": metadata.name: appears twice in the input"#
    );
    assert_eq!(client.list(k, None).unwrap().0.len(), 2);
}
