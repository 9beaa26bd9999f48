//! Building the etcd client from an [`EtcdConfig`]: TLS material, credentials, timeouts, the
//! first round trip, and turning client errors into one-line [`StoreError`]s.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, ConnectOptions, GetOptions, Identity, TlsOptions};
use tonic::Code;

use crate::{EtcdConfig, Result, StoreError};

/// HTTP/2 keep-alive pings detect a dead connection (and so a stalled watch) within
/// interval + timeout even when nothing is being sent.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// See [`KEEP_ALIVE_INTERVAL`].
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between connection probes while connecting.
const CONNECT_RETRY: Duration = Duration::from_millis(100);
/// How often a request is tried again (a write only while it could not even be sent: no
/// connection to the endpoint the client picked, e.g. one member of several is down; a read
/// also after other connection trouble), and the pause in between.
const UNSENT_ATTEMPTS: usize = 25;
/// See [`UNSENT_ATTEMPTS`].
const UNSENT_PAUSE: Duration = Duration::from_millis(20);

/// The configured endpoints, comma-separated, for messages; and whether a client certificate is
/// configured (to say what a TLS failure means).
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    list: Arc<str>,
    client_cert: bool,
}

impl Endpoints {
    pub(crate) fn new(config: &EtcdConfig) -> Endpoints {
        Endpoints {
            list: config.endpoints.join(",").into(),
            client_cert: config.cert_file.is_some(),
        }
    }
}

impl fmt::Display for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.list)
    }
}

/// `5s`, `1.5s`, `250ms`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Connects and makes one cheap request, all within `config.connect_timeout`.
pub(crate) async fn connect(config: &EtcdConfig) -> Result<Client> {
    let endpoints = Endpoints::new(config);
    if config.endpoints.is_empty() {
        return Err(StoreError::Invalid("no etcd endpoints configured".into()));
    }
    let mut options = ConnectOptions::new()
        .with_connect_timeout(config.connect_timeout)
        .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
        .with_keep_alive_while_idle(true);
    if let Some(user) = &config.username {
        options = options
            .with_user(user.clone(), config.password.clone().unwrap_or_default())
            .with_auto_token_refresh(true);
    }
    if let Some(tls) = tls_options(config)? {
        options = options.with_tls(tls);
    }
    let deadline = Instant::now() + config.connect_timeout;
    let timed_out = || {
        StoreError::Unavailable(format!(
            "etcd unreachable at {endpoints} (connect timed out after {})",
            fmt_duration(config.connect_timeout)
        ))
    };
    let connecting = Client::connect(&config.endpoints, Some(options));
    let client = match tokio::time::timeout_at(deadline.into(), connecting).await {
        Err(_) => return Err(timed_out()),
        Ok(Err(e)) => {
            return Err(match &config.username {
                Some(user) => login_error(&endpoints, user, e),
                None => map_error(&endpoints, "connecting", e),
            });
        }
        Ok(Ok(client)) => client,
    };
    // Without credentials the client connects lazily; one request proves the cluster answers.
    // Transient failures (refused connections while etcd starts) are retried until the deadline.
    let mut last_error = String::from("no answer");
    loop {
        let mut kv = client.kv_client();
        let probe = kv.get(vec![0u8], Some(GetOptions::new().with_count_only()));
        match tokio::time::timeout_at(deadline.into(), probe).await {
            Err(_) => break,
            Ok(Ok(_)) => return Ok(client),
            // Not TLS failures (untrusted server, missing client certificate): they do not
            // heal by waiting, so `map_error` says what to fix at once.
            Ok(Err(e)) if is_retryable(&e) => last_error = describe(&e),
            Ok(Err(e)) => return Err(map_error(&endpoints, "connecting", e)),
        }
        let pause = tokio::time::Instant::now() + CONNECT_RETRY;
        if pause >= deadline.into() {
            break;
        }
        tokio::time::sleep_until(pause).await;
    }
    Err(StoreError::Unavailable(format!(
        "etcd unreachable at {endpoints} (connect timed out after {}; last error: {last_error})",
        fmt_duration(config.connect_timeout)
    )))
}

/// The causes of `e`, outermost first (`etcd_client::Error` does not expose them itself).
fn causes(e: &etcd_client::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    let first: Option<&(dyn std::error::Error + 'static)> = match e {
        etcd_client::Error::GRpcStatus(s) => std::error::Error::source(s),
        etcd_client::Error::TransportError(t) => Some(t),
        etcd_client::Error::IoError(io) => Some(io),
        _ => None,
    };
    std::iter::successors(first, |cause| cause.source())
}

/// An error with its causes (`tcp connect error: Connection refused (os error 111)`).
pub(crate) fn describe(e: &etcd_client::Error) -> String {
    let mut text = match e {
        etcd_client::Error::GRpcStatus(s) => status_message(s),
        e => e.to_string(),
    };
    for cause in causes(e) {
        let c = cause.to_string();
        // tonic's wrapper between the status and the actual cause says nothing.
        if c != "transport error" && !text.contains(&c) {
            text = format!("{text}: {c}");
        }
    }
    text
}

/// Whether `e` proves that the request never reached a server: the connection to the endpoint
/// the client picked could not be opened (a TCP connect or TLS handshake error from the
/// connector, before anything of the request was written). Only then may a write be sent again.
/// A connection that closed or reset later may have carried the request: not this.
pub(crate) fn never_sent(e: &etcd_client::Error) -> bool {
    causes(e).any(|cause| cause.downcast_ref::<tonic::ConnectError>().is_some())
}

/// When `e` is a TLS handshake failure that retrying cannot fix, what to fix.
pub(crate) fn tls_problem(endpoints: &Endpoints, e: &etcd_client::Error) -> Option<String> {
    let messages: Vec<String> = causes(e).map(|c| c.to_string()).collect();
    let find = |needle: &str| messages.iter().find(|m| m.contains(needle));
    let problem = if let Some(m) = find("invalid peer certificate") {
        if m.contains("NotValidForName") {
            "the server certificate does not name the endpoint's host (use an endpoint URL \
             with a host name or IP address the certificate is issued for)"
                .to_string()
        } else if m.contains("Expired") {
            "the server certificate has expired".to_string()
        } else {
            "server certificate not trusted (set etcdCACertFile to the CA that signed it)"
                .to_string()
        }
    } else if let Some(m) = find("received fatal alert:") {
        let alert = m.trim_start_matches("received fatal alert:").trim();
        let certificate_alert = [
            "BadCertificate",
            "CertificateRequired",
            "HandshakeFailure",
            "UnknownCA",
            "CertificateUnknown",
            "UnsupportedCertificate",
            "CertificateExpired",
            "CertificateRevoked",
            "AccessDenied",
        ]
        .iter()
        .any(|a| alert.contains(a));
        match (certificate_alert, endpoints.client_cert) {
            (true, false) => {
                "the server requires a client certificate (set etcdCertFile and etcdKeyFile)"
                    .to_string()
            }
            (true, true) => format!(
                "the server rejected the client certificate ({alert}; etcdCertFile must be a \
                 valid certificate signed by a CA the server trusts)"
            ),
            (false, _) => format!("TLS handshake failed: {alert}"),
        }
    } else {
        return None;
    };
    Some(format!("etcd at {endpoints}: {problem}"))
}

/// Runs the request made by `f`, again while it could not be sent at all (see [`never_sent`]):
/// the policy for writes, which must not reach the server twice. With several endpoints the
/// client may pick one that is down; another attempt usually picks a live one. `in_flight` is
/// set while an attempt may have reached a server, so that a timeout can tell "not sent" from
/// "outcome unknown".
pub(crate) async fn send_write<T, F, Fut>(
    mut f: F,
    in_flight: &AtomicBool,
) -> Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
{
    let mut attempts = 1;
    loop {
        in_flight.store(true, Ordering::SeqCst);
        let result = f().await;
        if let Err(e) = &result
            && never_sent(e)
        {
            in_flight.store(false, Ordering::SeqCst);
            if attempts < UNSENT_ATTEMPTS && !is_tls_failure(e) {
                attempts += 1;
                tokio::time::sleep(UNSENT_PAUSE).await;
                continue;
            }
        }
        return result;
    }
}

/// Runs the request made by `f`, again while it fails for a reason that may pass (connection
/// trouble): the policy for reads and other requests that may safely reach the server twice.
pub(crate) async fn send<T, F, Fut>(mut f: F) -> Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
{
    let mut attempts = 1;
    loop {
        match f().await {
            Err(e) if is_retryable(&e) && attempts < UNSENT_ATTEMPTS => {
                attempts += 1;
                tokio::time::sleep(UNSENT_PAUSE).await;
            }
            other => return other,
        }
    }
}

/// Whether `e` is a TLS handshake failure (of any kind; see [`tls_problem`]).
fn is_tls_failure(e: &etcd_client::Error) -> bool {
    causes(e).any(|c| {
        let m = c.to_string();
        m.contains("invalid peer certificate") || m.contains("received fatal alert:")
    })
}

/// The error for a write that failed with `e`: `Unavailable` when it provably never reached a
/// server or the server refused it before doing anything, as [`map_error`] when the server
/// answered with a definite refusal, and [`StoreError::Indeterminate`] otherwise: the
/// connection broke after sending, or the server gave up waiting for the cluster to commit it
/// (`request timed out`, `leader changed`), so it may have been applied.
pub(crate) fn write_error(endpoints: &Endpoints, what: &str, e: etcd_client::Error) -> StoreError {
    let refused = match &e {
        _ if never_sent(&e) || tls_problem(endpoints, &e).is_some() => true,
        // Statuses made on this side from a transport failure carry it as their source; a
        // status without one is the server's answer.
        etcd_client::Error::GRpcStatus(s) if std::error::Error::source(s).is_none() => {
            let m = s.message();
            !matches!(
                s.code(),
                Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Cancelled
                    | Code::Unknown
                    | Code::Internal
                    | Code::Aborted
            ) || m.contains("no leader")
                || m.contains("too many requests")
                || m.contains("not capable")
        }
        etcd_client::Error::GRpcStatus(_)
        | etcd_client::Error::TransportError(_)
        | etcd_client::Error::IoError(_) => false,
        // Failures of the client itself, before sending.
        _ => true,
    };
    if refused {
        map_error(endpoints, what, e)
    } else {
        StoreError::Indeterminate(format!("etcd at {endpoints}: {what}: {}", describe(&e)))
    }
}

/// Whether `e` says the requested revision has been compacted.
pub(crate) fn is_compacted(e: &etcd_client::Error) -> bool {
    e.to_string()
        .contains("required revision has been compacted")
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        StoreError::Invalid(format!("cannot read etcd {what} {}: {e}", path.display()))
    })
}

/// TLS settings when any TLS file is configured.
fn tls_options(config: &EtcdConfig) -> Result<Option<TlsOptions>> {
    if config.ca_cert_file.is_none() && config.cert_file.is_none() && config.key_file.is_none() {
        return Ok(None);
    }
    if let Some(plain) = config.endpoints.iter().find(|e| e.starts_with("http://")) {
        return Err(StoreError::Invalid(format!(
            "etcd TLS files are configured but endpoint {plain} is plain http (use https://)"
        )));
    }
    let mut tls = TlsOptions::new();
    if let Some(ca) = &config.ca_cert_file {
        tls = tls.ca_certificate(Certificate::from_pem(read_file(ca, "CA certificate")?));
    }
    match (&config.cert_file, &config.key_file) {
        (Some(cert), Some(key)) => {
            let cert = read_file(cert, "client certificate")?;
            let key = read_file(key, "client key")?;
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        (Some(cert), None) => {
            return Err(StoreError::Invalid(format!(
                "etcd client certificate {} is configured without a key file",
                cert.display()
            )));
        }
        (None, Some(key)) => {
            return Err(StoreError::Invalid(format!(
                "etcd client key {} is configured without a certificate file",
                key.display()
            )));
        }
        (None, None) => {}
    }
    Ok(Some(tls))
}

fn login_error(endpoints: &Endpoints, user: &str, e: etcd_client::Error) -> StoreError {
    match e {
        etcd_client::Error::GRpcStatus(s) if !is_transient(s.code()) => {
            StoreError::Backend(format!(
                "etcd at {endpoints}: login as {user} failed: {}",
                status_message(&s)
            ))
        }
        e => map_error(endpoints, &format!("logging in as {user}"), e),
    }
}

fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
    )
}

fn status_message(s: &tonic::Status) -> String {
    let m = s.message();
    let m = m.strip_prefix("etcdserver: ").unwrap_or(m);
    if m.is_empty() {
        format!("{:?}", s.code())
    } else {
        m.to_string()
    }
}

/// Whether `e` is worth retrying later (the cluster or the connection is down; not a TLS
/// failure, which waiting does not fix).
pub(crate) fn is_retryable(e: &etcd_client::Error) -> bool {
    if is_tls_failure(e) {
        return false;
    }
    match e {
        etcd_client::Error::GRpcStatus(s) => is_transient(s.code()),
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::WatchError(_) => true,
        _ => false,
    }
}

/// One-line error for a failure while doing `what` (which names the key, if any).
pub(crate) fn map_error(endpoints: &Endpoints, what: &str, e: etcd_client::Error) -> StoreError {
    if let Some(problem) = tls_problem(endpoints, &e) {
        return StoreError::Invalid(problem);
    }
    let mut message = describe(&e);
    // A server configured below etcd's defaults (which `crate::ops::check_txn` enforces).
    if message.contains("too many operations in txn request") {
        return StoreError::Invalid(format!(
            "etcd at {endpoints}: {what}: the transaction exceeds this server's limit of \
             operations per transaction (--max-txn-ops); split the input"
        ));
    }
    if message.contains("request is too large") {
        return StoreError::Invalid(format!(
            "etcd at {endpoints}: {what}: the request exceeds this server's size limit \
             (--max-request-bytes); split the input"
        ));
    }
    if message.contains("user name is empty") {
        message
            .push_str(" (the cluster requires authentication: configure a username and password)");
    }
    if is_retryable(&e) {
        StoreError::Unavailable(format!("etcd at {endpoints}: {what}: {message}"))
    } else {
        StoreError::Backend(format!("etcd at {endpoints}: {what}: {message}"))
    }
}
