//! The contract against etcd, over plain http and over mutual TLS (one etcd per group, every case
//! under its own prefix), plus what only the etcd backend has: unreachable endpoints, credentials,
//! restarts of the server under a watch, and use from inside a tokio runtime.
//!
//! The tests run Debian's `/usr/bin/etcd`; without it they fail and say to run `make test`.
#![allow(clippy::unwrap_used)]

mod contract;
#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/tls.rs"]
mod tls;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brindle_store::etcd::EtcdStore;
use brindle_store::testing::{EtcdProcess, EtcdTlsFiles};
use brindle_store::{Datastore, DatastoreConfig, EtcdConfig, Op, StoreError, WatchMessage};
use contract::Ctx;
use tempfile::TempDir;

/// The worker entry point (see `contract::procs`); does nothing in a normal test run.
#[test]
fn worker_process() {
    contract::procs::worker_main();
}

fn start_etcd() -> EtcdProcess {
    EtcdProcess::start().unwrap_or_else(|e| panic!("cannot start etcd: {e}"))
}

fn connect(config: &EtcdConfig) -> Arc<dyn Datastore> {
    Arc::new(EtcdStore::connect(config).unwrap_or_else(|e| panic!("cannot connect: {e}")))
}

fn run_contract(config: EtcdConfig) {
    let store = connect(&config);
    contract::run_all(|name| Ctx {
        store: store.clone(),
        prefix: format!("/{name}/"),
        config: DatastoreConfig::Etcd(config.clone()),
        exclusive: false,
    });
}

#[test]
fn contract_over_plain_http() {
    let etcd = start_etcd();
    let config = etcd.config();
    let store = connect(&config);
    assert_eq!(store.describe(), format!("etcdv3 {}", etcd.endpoint()));
    // A fresh etcd is at revision 1 (which holds no write); its first write is revision 2.
    assert_eq!(store.revision().unwrap(), 1);
    assert_eq!(store.put("/first", b"v").unwrap().mod_revision, 2);
    usable_inside_a_tokio_runtime(&config);
    several_endpoints_one_down(&etcd);
    run_contract(config);
}

/// With one endpoint down the store still works through the other.
fn several_endpoints_one_down(etcd: &EtcdProcess) {
    let config = EtcdConfig::new(vec!["http://127.0.0.1:1".into(), etcd.endpoint()]);
    let store = connect(&config);
    assert!(
        store
            .describe()
            .contains("http://127.0.0.1:1,http://127.0.0.1:")
    );
    for i in 0..20 {
        store.put(&format!("/several/{i}"), b"v").unwrap();
    }
    assert_eq!(store.list("/several/").unwrap().kvs.len(), 20);
}

/// Calls from inside someone else's runtime must not panic ("cannot block within runtime").
fn usable_inside_a_tokio_runtime(config: &EtcdConfig) {
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    for rt in [multi.unwrap(), current.unwrap()] {
        let config = config.clone();
        rt.block_on(async move {
            let store = EtcdStore::connect(&config).unwrap();
            let kv = store.put("/in-runtime/k", b"v").unwrap();
            let watch = store.watch("/in-runtime/", kv.mod_revision).unwrap();
            store.delete("/in-runtime/k", None).unwrap();
            let got = contract::collect(&watch, 2, Duration::from_secs(10));
            assert_eq!(got[0].0, kv.mod_revision);
            assert!(got[1].2, "a delete");
            drop(watch);
            drop(store);
        });
    }
}

#[test]
fn contract_over_mutual_tls() {
    let dir = TempDir::new().unwrap();
    let pki = tls::generate(dir.path());
    let etcd = EtcdProcess::start_with_tls(EtcdTlsFiles {
        ca_file: pki.ca.clone(),
        cert_file: pki.server_cert.clone(),
        key_file: pki.server_key.clone(),
    })
    .unwrap_or_else(|e| panic!("cannot start etcd: {e}"));
    assert!(etcd.endpoint().starts_with("https://127.0.0.1:"));
    let mut config = etcd.config();
    config.ca_cert_file = Some(pki.ca.clone());
    config.cert_file = Some(pki.client_cert.clone());
    config.key_file = Some(pki.client_key.clone());
    config.connect_timeout = Duration::from_secs(3);

    tls_mistakes_are_explained_at_once(&etcd, &config, dir.path());
    run_contract(config);
}

/// Each TLS mistake fails at once (not after retrying until the connect timeout, as if etcd were
/// down) with a message saying what to fix.
fn tls_mistakes_are_explained_at_once(etcd: &EtcdProcess, config: &EtcdConfig, dir: &Path) {
    let endpoint = etcd.endpoint();
    let fails = |config: &EtcdConfig| -> StoreError {
        let started = Instant::now();
        let err = EtcdStore::connect(config).expect_err("connected");
        let took = started.elapsed();
        eprintln!("{err} ({took:?})");
        assert!(took < Duration::from_secs(2), "took {took:?}: {err}");
        err
    };
    // Unreadable TLS files are named.
    let mut bad = config.clone();
    bad.key_file = Some(dir.join("missing-key.pem"));
    let err = fails(&bad);
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("missing-key.pem"), "{err}");
    // The server insists on a client certificate.
    let mut anonymous = config.clone();
    anonymous.cert_file = None;
    anonymous.key_file = None;
    assert_eq!(
        fails(&anonymous),
        StoreError::Invalid(format!(
            "etcd at {endpoint}: the server requires a client certificate (set etcdCertFile \
             and etcdKeyFile)"
        ))
    );
    // The server certificate is signed by a CA the client was not given.
    let other_dir = dir.join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = tls::generate(&other_dir);
    let untrusted = EtcdStore::connect(&EtcdConfig {
        ca_cert_file: Some(other.ca.clone()),
        ..config.clone()
    });
    let not_trusted = StoreError::Invalid(format!(
        "etcd at {endpoint}: server certificate not trusted (set etcdCACertFile to the CA that \
         signed it)"
    ));
    assert_eq!(untrusted.err(), Some(not_trusted.clone()));
    // No CA at all (https without TLS files).
    assert_eq!(fails(&etcd.config()), not_trusted);
    // A client certificate from a CA the server does not trust.
    let mut foreign = config.clone();
    foreign.cert_file = Some(other.client_cert.clone());
    foreign.key_file = Some(other.client_key.clone());
    let msg = fails(&foreign).to_string();
    assert!(
        msg.contains(&format!(
            "etcd at {endpoint}: the server rejected the client certificate"
        )) && msg.contains("etcdCertFile"),
        "{msg}"
    );
}

#[test]
fn unreachable_endpoints_fail_in_time_and_are_named() {
    let config = EtcdConfig::new(vec!["http://127.0.0.1:1".into()]);
    let started = Instant::now();
    let err = EtcdStore::connect(&config).err().unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(6500), "took {took:?}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    let msg = err.to_string();
    eprintln!("unreachable: {msg}");
    assert!(
        msg.contains("etcd unreachable at http://127.0.0.1:1 (connect timed out after 5s"),
        "{msg}"
    );

    let mut config = EtcdConfig::new(vec![
        "http://127.0.0.1:1".into(),
        "http://127.0.0.1:2".into(),
    ]);
    config.connect_timeout = Duration::from_millis(700);
    let started = Instant::now();
    let msg = EtcdStore::connect(&config).err().unwrap().to_string();
    eprintln!("unreachable: {msg}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        msg.contains("http://127.0.0.1:1,http://127.0.0.1:2"),
        "{msg}"
    );
    assert!(msg.contains("700ms"), "{msg}");
}

#[test]
fn username_and_password() {
    let etcd = start_etcd();
    let endpoint = etcd.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = etcd_client::Client::connect([endpoint.as_str()], None)
            .await
            .unwrap();
        client.user_add("root", "s3cret", None).await.unwrap();
        client.user_grant_role("root", "root").await.unwrap();
        client.auth_enable().await.unwrap();
    });
    let mut config = etcd.config();
    config.username = Some("root".into());
    config.password = Some("s3cret".into());
    let store = connect(&config);
    let kv = store.create("/auth/k", b"v").unwrap();
    let watch = store.watch("/auth/", kv.mod_revision).unwrap();
    store.put("/auth/k", b"w").unwrap();
    let got = contract::collect(&watch, 2, Duration::from_secs(10));
    assert_eq!(got[1].3, b"w");

    config.password = Some("wrong".into());
    let msg = EtcdStore::connect(&config).err().unwrap().to_string();
    eprintln!("wrong password: {msg}");
    assert!(
        msg.contains("root") && msg.contains("authentication failed"),
        "{msg}"
    );
    assert!(msg.contains(&endpoint), "{msg}");

    config.username = None;
    config.password = None;
    let err = EtcdStore::connect(&config).expect_err("connected without credentials");
    assert_eq!(
        err,
        StoreError::Backend(format!(
            "etcd at {endpoint}: connecting: user name is empty (the cluster requires \
             authentication: configure a username and password)"
        ))
    );
}

#[test]
fn watch_survives_an_etcd_restart() {
    let mut etcd = start_etcd();
    let store = connect(&etcd.config());
    let start = store.revision().unwrap() + 1;
    let watch = store.watch("/restart/", start).unwrap();
    let mut expected = Vec::new();
    for i in 0..100 {
        let op = Op::Create {
            key: format!("/restart/a{i:03}"),
            value: vec![1],
        };
        let kv = store.txn(std::slice::from_ref(&op)).unwrap().remove(0);
        expected.push(contract::change_of_result(&op, &kv));
    }
    // Some of these arrive before the restart, the rest after it.
    let mut got = contract::collect(&watch, 50, Duration::from_secs(10));
    etcd.restart()
        .unwrap_or_else(|e| panic!("cannot restart etcd: {e}"));
    for i in 0..100 {
        let key = format!("/restart/b{i:03}");
        let kv = create_until_done(&*store, &key, &[2]);
        expected.push((
            kv.mod_revision,
            key,
            false,
            vec![2],
            kv.create_revision,
            kv.version,
        ));
    }
    let rest = expected.len() - got.len();
    got.extend(contract::collect(&watch, rest, Duration::from_secs(30)));
    assert_eq!(got, expected);
    contract::assert_quiet(&watch);
}

/// Creates `key` while the client may still be reconnecting: retries what was not applied, and
/// after an attempt whose outcome is unknown accepts finding the key already written by it.
fn create_until_done(store: &dyn Datastore, key: &str, value: &[u8]) -> brindle_store::KeyValue {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut maybe_written = false;
    loop {
        match store.create(key, value) {
            Ok(kv) => return kv,
            Err(StoreError::AlreadyExists { .. }) if maybe_written => match store.get(key) {
                Ok(Some(kv)) if kv.value == value && kv.version == 1 => return kv,
                Ok(other) => panic!("{key} holds {other:?}, not what was written"),
                Err(e) => eprintln!("retrying after: {e}"),
            },
            Err(StoreError::Indeterminate(e)) if Instant::now() < deadline => {
                eprintln!("retrying after: {e}");
                maybe_written = true;
            }
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("retrying after: {e}");
            }
            Err(e) => panic!("write after restart failed: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A server configured below etcd's default limits refuses with a message saying what to do,
/// not with etcd's raw text.
#[test]
fn server_limits_below_the_defaults_are_explained() {
    let etcd = EtcdProcess::start_with_args(&["--max-txn-ops=4", "--max-request-bytes=4096"])
        .unwrap_or_else(|e| panic!("cannot start etcd: {e}"));
    let store = connect(&etcd.config());
    let puts = |n: usize, size: usize| -> Vec<Op> {
        (0..n)
            .map(|i| Op::Put {
                key: format!("/limits/k{i}"),
                value: vec![b'x'; size],
            })
            .collect()
    };
    store.txn(&puts(4, 1)).unwrap();
    match store.txn(&puts(5, 1)) {
        Err(StoreError::Invalid(msg)) => {
            assert!(
                msg.contains("writing 5 keys (/limits/k0 … /limits/k4)")
                    && msg.contains("--max-txn-ops")
                    && msg.contains("split the input"),
                "{msg}"
            );
        }
        other => panic!("5 operations: {other:?}"),
    }
    match store.txn(&puts(1, 10_000)) {
        Err(StoreError::Invalid(msg)) => {
            assert!(msg.contains("--max-request-bytes"), "{msg}");
        }
        other => panic!("10 kB: {other:?}"),
    }
}

/// etcd drops the delete tombstones at its compaction revision but accepts a watch starting
/// there. A watch from exactly a revision someone else compacted to (not through
/// `Datastore::compact`, which compacts one below) must resync rather than miss a delete.
#[test]
fn watch_from_etcds_exact_compaction_revision_resyncs() {
    let etcd = start_etcd();
    let store = connect(&etcd.config());
    store.put("/exact/a", b"1").unwrap();
    store.put("/exact/b", b"2").unwrap();
    let deleted = store.delete("/exact/b", None).unwrap().mod_revision;
    let c = store.put("/exact/c", b"3").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let endpoint = etcd.endpoint();
    let raw_events = rt.block_on(async {
        let mut client = etcd_client::Client::connect([endpoint.as_str()], None)
            .await
            .unwrap();
        let options = etcd_client::CompactionOptions::new().with_physical();
        client.compact(deleted, Some(options)).await.unwrap();
        // The premise: etcd watches from its compaction revision without the delete there.
        let options = etcd_client::WatchOptions::new()
            .with_prefix()
            .with_start_revision(deleted);
        let mut stream = client.watch("/exact/", Some(options)).await.unwrap();
        let mut revisions = Vec::new();
        while revisions.is_empty() {
            let resp = stream.message().await.unwrap().unwrap();
            assert_eq!(resp.compact_revision(), 0, "etcd refused the watch");
            revisions.extend(resp.events().iter().map(|e| e.kv().unwrap().mod_revision()));
        }
        revisions
    });
    assert_eq!(
        raw_events,
        [c.mod_revision],
        "etcd kept the tombstone after all"
    );

    let watch = store.watch("/exact/", deleted).unwrap();
    match watch.recv_timeout(Duration::from_secs(10)).unwrap() {
        Some(WatchMessage::Resync { kvs, revision }) => {
            assert_eq!(revision, c.mod_revision);
            let keys: Vec<_> = kvs.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(keys, ["/exact/a", "/exact/c"]);
        }
        other => panic!("expected a resync, got {other:?}"),
    }
    // One revision later the history is complete.
    let watch = store.watch("/exact/", deleted + 1).unwrap();
    let got = contract::collect(&watch, 1, Duration::from_secs(10));
    assert_eq!(got[0].0, c.mod_revision);
}

/// Writes whose answers are lost are reported as such and never sent twice; writes that could
/// not be sent at all are `Unavailable` and were not applied.
#[test]
fn writes_with_lost_answers_are_indeterminate_not_resent() {
    use proxy::{Mode, Proxy};
    let etcd = start_etcd();
    let direct = connect(&etcd.config());
    let target = etcd.endpoint()["http://".len()..].parse().unwrap();
    let proxy = Proxy::start(target);
    let mut config = EtcdConfig::new(vec![proxy.endpoint()]);
    config.request_timeout = Duration::from_secs(2);
    let store = connect(&config);
    store.put("/lost/warm-up", b"v").unwrap();
    let value = vec![7u8; 1024];
    let applied = |key: &str| {
        let deadline = Instant::now() + Duration::from_secs(3);
        while direct.get(key).unwrap().is_none() {
            assert!(Instant::now() < deadline, "{key} was not written");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let outcome_unknown = |err: StoreError| {
        let msg = err.to_string();
        eprintln!("lost answer: {msg}");
        assert!(matches!(err, StoreError::Indeterminate(_)), "{msg}");
        assert!(
            msg.contains(&proxy.endpoint())
                && msg.contains("/lost/")
                && msg.ends_with("outcome unknown: the write may or may not have been applied"),
            "{msg}"
        );
    };

    // The connection breaks after the create reached etcd: sending it again would fail as
    // `AlreadyExists`; instead the outcome is reported unknown.
    proxy.set_mode(Mode::CutAnswers);
    outcome_unknown(store.create("/lost/a", &value).unwrap_err());
    applied("/lost/a");
    proxy.set_mode(Mode::Pass);
    let kv = store.get("/lost/a").unwrap().unwrap();
    // Same for a compare-and-swap (resent, it would conflict with itself).
    proxy.set_mode(Mode::CutAnswers);
    outcome_unknown(
        store
            .update("/lost/a", &value, kv.mod_revision)
            .unwrap_err(),
    );
    proxy.set_mode(Mode::Pass);
    let deadline = Instant::now() + Duration::from_secs(3);
    while direct.get("/lost/a").unwrap().unwrap().version != 2 {
        assert!(Instant::now() < deadline, "the update was not applied");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The answer never comes: after the request timeout, also unknown.
    proxy.set_mode(Mode::SwallowAnswers);
    let err = store.create("/lost/b", &value).unwrap_err();
    assert!(err.to_string().contains("timed out after 2s"), "{err}");
    outcome_unknown(err);
    applied("/lost/b");
    proxy.set_mode(Mode::Pass);
    proxy.cut();
    store.create("/lost/c", &value).unwrap();

    // Nobody listens: never sent, so not applied, and `Unavailable`.
    proxy.refuse();
    let err = store.create("/lost/d", &value).unwrap_err();
    eprintln!("not sent: {err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert_eq!(direct.get("/lost/d").unwrap(), None);
    proxy.listen();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.create("/lost/d", &value) {
            Ok(_) => break,
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("retrying after: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("create after the proxy came back: {e}"),
        }
    }
}
