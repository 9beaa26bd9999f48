//! Shared by brindlectl's integration tests: a throw-away datastore (a SQLite file, or a real
//! etcd), the flags that select it, and brindlectl run as a user runs it, with the caller's
//! environment and the machine's config file kept out.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use brindle_store::testing::EtcdProcess;
use brindle_store::{Datastore, DatastoreConfig, SqliteConfig};

/// A datastore for one test and the flags that select it.
pub struct Env {
    /// A temporary directory for the test's files (and the SQLite database).
    pub dir: tempfile::TempDir,
    /// The brindlectl flags that select the datastore.
    pub flags: Vec<String>,
    config: DatastoreConfig,
    _etcd: Option<EtcdProcess>,
}

/// What a brindlectl run printed, and its exit code.
pub struct Out {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Env {
    /// A SQLite datastore in a temporary directory (the file is created by the first write).
    pub fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("datastore.db");
        let flags = vec![
            "--datastore-type".into(),
            "sqlite".into(),
            "--datastore-path".into(),
            db.display().to_string(),
        ];
        Env {
            dir,
            flags,
            config: DatastoreConfig::Sqlite(SqliteConfig::new(&db)),
            _etcd: None,
        }
    }

    /// A real etcd of its own, stopped when the value drops.
    pub fn etcd() -> Env {
        let etcd = EtcdProcess::start()
            .expect("etcd starts (run `make test`, which installs etcd-server)");
        let flags = vec![
            "--datastore-type".into(),
            "etcdv3".into(),
            "--etcd-endpoints".into(),
            etcd.endpoint(),
        ];
        Env {
            dir: tempfile::tempdir().unwrap(),
            flags,
            config: DatastoreConfig::Etcd(etcd.config()),
            _etcd: Some(etcd),
        }
    }

    /// A connection to the datastore, for setting up what a test needs.
    pub fn store(&self) -> Arc<dyn Datastore> {
        brindle_store::open(&self.config).unwrap()
    }

    /// Runs brindlectl with `args`, `stdin` if any, and (with `flags`) the datastore flags.
    pub fn run_with(&self, args: &[&str], stdin: Option<&str>, flags: bool) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_brindlectl"));
        isolate(&mut cmd);
        cmd.args(args);
        if flags {
            cmd.args(&self.flags);
        }
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let o = child.wait_with_output().unwrap();
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs brindlectl on this datastore.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None, true)
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.code, Some(0), "brindlectl {args:?} failed: {}", o.stderr);
        o.stdout
    }

    /// Runs a command that must fail with exit code 1 and exactly one line on stderr; returns
    /// that line.
    pub fn fail(&self, args: &[&str]) -> String {
        check_failure(self.run(args), args)
    }

    /// The path of `name` in the test's directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes `content` to `name` in the test's directory; returns its path.
    pub fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }
}

/// Keeps the caller's environment and the machine's config file out of a test run.
pub fn isolate(cmd: &mut Command) {
    for v in [
        "DATASTORE_TYPE",
        "DATASTORE_PATH",
        "ETCD_ENDPOINTS",
        "ETCD_CA_CERT_FILE",
        "ETCD_CERT_FILE",
        "ETCD_KEY_FILE",
        "ETCD_USERNAME",
        "ETCD_PASSWORD",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("BRINDLECTL_CONFIG", "/nonexistent/brindlectl.cfg");
}

/// Asserts a failed run: exit code 1, nothing on stdout, one `brindlectl: ` line on stderr;
/// returns that line.
pub fn check_failure(o: Out, args: &[&str]) -> String {
    assert_eq!(
        o.code,
        Some(1),
        "brindlectl {args:?} should fail with 1; stdout: {}",
        o.stdout
    );
    assert_eq!(o.stdout, "", "nothing on stdout for a failure");
    assert_eq!(
        o.stderr.lines().count(),
        1,
        "one-line error, got: {:?}",
        o.stderr
    );
    assert!(o.stderr.starts_with("brindlectl: "), "{}", o.stderr);
    o.stderr.trim_end().to_string()
}
